"""Cell flags: each flag in each syntax, on a two-cell notebook built for real.

Every test code cell holds a marker string in its code and another in its output,
so a test can say exactly which of the two the page shows.
"""

import re

import pytest
from helpers import built, notebook, page, site, text_output
from nbformat.v4 import new_code_cell, new_output

from lib.blog.build import build
from lib.blog.errors import BuildError


def flagged(flag: str):
    return new_code_cell(f"{flag}\nx = 'CODE-MARK'", outputs=[text_output("'OUTPUT-MARK'")])


def render(tmp_path, flag: str) -> str:
    root = site(tmp_path)
    notebook(root, flagged(flag))
    built(root)
    return page(root)


PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNoAAAAggCBd81ytgAAAABJRU5ErkJggg=="  # 1x1 grey
REMOVE_CELL = ["#hide", "# hide", "#| include: false"]
REMOVE_INPUT = ["#hide_input", "#hide-input", "#| echo: false"]
REMOVE_OUTPUT = ["#hide_output", "#hide-output", "#| output: false"]
FOLD_CLOSED = ["#collapse", "#collapse-hide", "#collapse_hide", "#| code-fold: true"]
FOLD_OPEN = ["#collapse-show", "#collapse_show", "#| code-fold: show"]
FOLD_OUTPUT = ["#collapse-output", "#collapse_output"]


@pytest.mark.parametrize("flag", REMOVE_CELL)
def test_remove_cell_drops_code_and_output(tmp_path, flag):
    html = render(tmp_path, flag)
    assert "CODE-MARK" not in html and "OUTPUT-MARK" not in html


@pytest.mark.parametrize("flag", REMOVE_INPUT)
def test_remove_input_keeps_only_the_output(tmp_path, flag):
    html = render(tmp_path, flag)
    assert "CODE-MARK" not in html and "OUTPUT-MARK" in html


@pytest.mark.parametrize("flag", REMOVE_OUTPUT)
def test_remove_output_keeps_only_the_code(tmp_path, flag):
    html = render(tmp_path, flag)
    assert "CODE-MARK" in html and "OUTPUT-MARK" not in html


@pytest.mark.parametrize("flag", FOLD_CLOSED)
def test_collapse_puts_code_in_a_closed_details(tmp_path, flag):
    html = render(tmp_path, flag)
    assert '<details class="fold code-fold"><summary>Code</summary>' in html
    assert html.index("<details") < html.index("CODE-MARK") < html.index("</details>") < html.index("OUTPUT-MARK")


@pytest.mark.parametrize("flag", FOLD_OPEN)
def test_collapse_show_puts_code_in_an_open_details(tmp_path, flag):
    html = render(tmp_path, flag)
    assert '<details class="fold code-fold" open><summary>Code</summary>' in html
    assert html.index("<details") < html.index("CODE-MARK") < html.index("</details>")


@pytest.mark.parametrize("flag", FOLD_OUTPUT)
def test_collapse_output_puts_output_in_a_closed_details(tmp_path, flag):
    html = render(tmp_path, flag)
    assert '<details class="fold output-fold"><summary>Output</summary>' in html
    assert html.index("CODE-MARK") < html.index("<details") < html.index("OUTPUT-MARK")


@pytest.mark.parametrize("tag", ["remove-cell", "remove-input", "remove-output", "hide-input", "hide-output"])
def test_jupyter_book_tags_match_the_comment_flags(tmp_path, tag):
    root = site(tmp_path)
    cell = flagged("")
    cell.metadata["tags"] = [tag]
    notebook(root, cell)
    built(root)
    html = page(root)
    expected = {
        "remove-cell": ("CODE-MARK" not in html and "OUTPUT-MARK" not in html),
        "remove-input": ("CODE-MARK" not in html and "OUTPUT-MARK" in html),
        "remove-output": ("CODE-MARK" in html and "OUTPUT-MARK" not in html),
        "hide-input": '<details class="fold code-fold">' in html,
        "hide-output": '<details class="fold output-fold">' in html,
    }
    assert expected[tag]


@pytest.mark.parametrize("flag", FOLD_CLOSED + FOLD_OPEN + FOLD_OUTPUT + REMOVE_OUTPUT)
def test_the_flag_line_never_shows(tmp_path, flag):
    html = render(tmp_path, flag)
    assert "CODE-MARK" in html and flag not in html


def test_a_plain_comment_stays_in_the_code(tmp_path):
    assert "# setup" in render(tmp_path, "# setup")


def test_hidden_cell_images_are_not_written(tmp_path):
    root = site(tmp_path)
    cell = new_code_cell("#hide\nplot()", outputs=[new_output("display_data", data={"image/png": PNG})])
    notebook(root, cell)
    built(root)
    assert not (root / "_site" / "images").exists()


def test_output_images_are_files_with_alt_text(tmp_path):
    root = site(tmp_path)
    cell = new_code_cell(
        "#| fig-alt: One grey pixel\nplot()", outputs=[new_output("display_data", data={"image/png": PNG})]
    )
    notebook(root, cell)
    built(root)
    html = page(root)
    src = re.search(r'<img src="/(images/post/[^"]+\.png)" alt="One grey pixel" loading="lazy"', html)[1]
    assert (root / "_site" / src).is_file() and "base64" not in html


def test_an_image_without_fig_alt_is_described_by_its_code(tmp_path):
    root = site(tmp_path)
    notebook(root, new_code_cell("show_image(mean3)", outputs=[new_output("display_data", data={"image/png": PNG})]))
    built(root)
    assert 'alt="Figure from cell 2: show_image(mean3)"' in page(root)


def test_an_unknown_flag_is_a_warning_naming_the_cell(tmp_path):
    root = site(tmp_path)
    notebook(root, "x = 1", flagged("#hidden"))
    logged = []
    build(root, root / "_site", search=False, log=logged.append)
    assert any("2020-01-01-post.ipynb, cell 3: unknown flag '#hidden'" in line for line in logged)


def test_an_unknown_flag_is_an_error_when_strict(tmp_path):
    root = site(tmp_path)
    notebook(root, flagged("#| colour: blue"))
    with pytest.raises(BuildError, match=r"2020-01-01-post.ipynb, cell 2: unknown flag '#\| colour: blue'"):
        built(root, strict=True)
