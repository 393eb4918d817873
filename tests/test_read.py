"Front matter in each form, file names, and each bad input with the message it gives."

import shutil
from datetime import date
from pathlib import Path

import pytest
from helpers import built, markdown_post, notebook, page, site
from nbformat.v4 import new_code_cell, new_markdown_cell, new_raw_cell

from lib.blog.build import build
from lib.blog.errors import BuildError
from lib.blog.read import read_post

# The broadcasting post as first written (.ipynb), and as its author once saved it with a raw control character (.txt).
SEED = Path(__file__).parent / "fixtures" / "seed"


def test_fastpages_front_matter(tmp_path):
    fm = (
        '# "My Title"\n> My summary\n\n- toc: true\n- badges: false\n- comments: true\n'
        "- categories: [a, b]\n- image: images/x.png\n- hide: true\n- search_exclude: true\n"
        "- author: Jo\n- permalink: /custom/\n- sticky_rank: 2\n- branch: dev\n"
        "- hide_github_badge: true\n- hide_colab_badge: true\n- hide_binder_badge: true"
    )
    post = read_post(notebook(site(tmp_path), "x = 1", front_matter=fm))
    assert (post.title, post.summary, post.categories) == ("My Title", "My summary", ["a", "b"])
    assert (post.toc, post.badges, post.comments, post.hide, post.search_exclude) == (True, False, True, True, True)
    assert (post.image, post.author, post.permalink, post.sticky_rank, post.branch) == (
        "images/x.png", "Jo", "/custom/", 2, "dev"
    )  # fmt: skip
    assert post.hide_github_badge and post.hide_colab_badge and post.hide_binder_badge
    assert post.url == "/custom/"


def test_date_and_slug_come_from_the_file_name(tmp_path):
    post = read_post(notebook(site(tmp_path), name="2021-08-20-pytorch-broadcasting.ipynb"))
    assert (post.date, post.slug, post.url) == (
        date(2021, 8, 20),
        "pytorch-broadcasting",
        "/test/2021/08/20/pytorch-broadcasting.html",  # Jekyll's default: categories first
    )


def test_quarto_raw_cell_front_matter(tmp_path):
    raw = new_raw_cell("---\ntitle: Raw\ndescription: From Quarto\ncategories: [q]\n---")
    post = read_post(notebook(site(tmp_path), "x = 1", front_matter=raw))
    assert (post.title, post.summary, post.categories) == ("Raw", "From Quarto", ["q"])


def test_markdown_front_matter(tmp_path):
    post = read_post(markdown_post(site(tmp_path), "---\ntitle: Hi\ncategories: [x]\ntoc: true\n---\nBody"))
    assert (post.kind, post.title, post.categories, post.toc, post.text) == ("markdown", "Hi", ["x"], True, "Body")


def test_categories_may_be_a_comma_separated_string(tmp_path):
    post = read_post(markdown_post(site(tmp_path), "---\ntitle: Hi\ncategories: a, b\n---\n"))
    assert post.categories == ["a", "b"]


def test_the_front_matter_cell_is_not_shown(tmp_path):
    root = site(tmp_path)
    notebook(root, "x = 1", front_matter='# "Shown Once"\n> SUMMARY-MARK\n- categories: [CATEGORY-MARK]')
    content = (built(root) / "2020/01/01/post.html").read_text().split('<div class="post-content">')[1]
    assert "Shown Once" not in content and "SUMMARY-MARK" not in content and "- categories" not in content


def test_invalid_notebook_json_names_file_line_and_cell(tmp_path):
    path = site(tmp_path) / "_notebooks" / "2021-08-20-broken.ipynb"
    shutil.copy(SEED / "pytorch-broadcasting.original.txt", path)
    with pytest.raises(BuildError, match=r"2021-08-20-broken.ipynb, cell \d+: invalid notebook JSON: Invalid control"):
        read_post(path)


def test_bad_yaml_in_markdown_names_the_file(tmp_path):
    path = markdown_post(site(tmp_path), "---\ntitle: [unclosed\n---\nBody")
    with pytest.raises(BuildError, match=r"2020-01-02-note.md: bad YAML in front matter"):
        read_post(path)


def test_bad_yaml_in_a_notebook_names_file_and_cell(tmp_path):
    path = notebook(site(tmp_path), front_matter='# "T"\n- categories: [a, b')
    with pytest.raises(BuildError, match=r"2020-01-01-post.ipynb, cell 1: bad YAML for front-matter key 'categories'"):
        read_post(path)


def test_missing_title_in_markdown_is_the_file_name_as_jekyll_titles_it(tmp_path):
    path = markdown_post(site(tmp_path), "---\nsummary: no title\n---\nBody", name="2020-01-02-my_first-post.md")
    post = read_post(path)
    assert post.title == "My_first Post"
    assert post.warnings == [f"{path}: missing title in front matter; titled 'My_first Post'"]


def test_missing_title_in_markdown_is_an_error_when_strict(tmp_path):
    path = markdown_post(site(tmp_path), "---\nsummary: no title\n---\nBody")
    with pytest.raises(BuildError, match=r"2020-01-02-note.md: missing title"):
        read_post(path, strict=True)


def test_a_markdown_post_without_front_matter_is_published(tmp_path):
    root = site(tmp_path)
    markdown_post(root, "Just some text, as fastpages published it.")
    assert "Just some text" in page(built(root).parent, "2020/01/02/note.html")


def test_missing_title_in_a_notebook(tmp_path):
    path = notebook(site(tmp_path), front_matter="> only a summary\n- toc: true")
    post = read_post(path)
    assert (post.title, post.summary, post.toc) == ("Post", "only a summary", True)
    with pytest.raises(BuildError, match=r"2020-01-01-post.ipynb, cell 1: missing title"):
        read_post(path, strict=True)


def test_front_matter_after_an_empty_cell_is_read_as_fastpages_read_it(tmp_path):
    title = new_markdown_cell('# "Found"\n> Its summary\n- categories: [a]')
    path = notebook(site(tmp_path), title, "x = 1", front_matter="")
    post = read_post(path)
    assert (post.title, post.summary, post.categories) == ("Found", "Its summary", ["a"])
    assert post.warnings == [f"{path}, cell 2: front matter is in cell 2, not the first"]
    assert "remove-cell" in post.nb.cells[1].metadata["tags"]


def test_front_matter_after_a_colab_badge_is_an_error_when_strict(tmp_path):
    badge = "[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com)"
    path = notebook(site(tmp_path), new_markdown_cell("# Title\n> summary"), front_matter=badge)
    with pytest.raises(BuildError, match=r"cell 2: front matter is in cell 2, not the first"):
        read_post(path, strict=True)


def test_a_notebook_with_no_title_anywhere_is_titled_by_its_file_name(tmp_path):
    root = site(tmp_path)
    path = notebook(root, "x = 1", front_matter=new_code_cell("import numpy"), name="2020-01-01-a-notebook.ipynb")
    post = read_post(path)
    assert post.title == "A Notebook"
    assert f"{path}, cell 1: no cell holds front matter" in post.warnings[0]
    assert ">numpy<" in page(built(root).parent, "2020/01/01/a-notebook.html")


def test_a_notebook_starting_with_code_is_an_error_when_strict(tmp_path):
    path = notebook(site(tmp_path), front_matter=new_code_cell("x = 1"))
    with pytest.raises(BuildError, match=r"cell 1: no cell holds front matter"):
        read_post(path, strict=True)


def test_a_file_name_without_a_date_is_an_error(tmp_path):
    path = markdown_post(site(tmp_path), "---\ntitle: T\n---\n", name="my-post.md")
    with pytest.raises(BuildError, match=r"my-post.md: file name must start with a date"):
        read_post(path)


def test_an_impossible_date_is_an_error(tmp_path):
    # As for Jekyll: a day 32 is an error, where February 30 runs into March (see test_jekyll_urls.py)
    path = markdown_post(site(tmp_path), "---\ntitle: T\n---\n", name="2021-02-32-post.md")
    with pytest.raises(BuildError, match=r"2021-02-32-post.md: bad date in file name"):
        read_post(path)


def test_an_unknown_key_is_a_warning(tmp_path):
    post = read_post(markdown_post(site(tmp_path), "---\ntitle: T\ncolour: blue\n---\n"))
    assert post.warnings == [f"{post.path}: unknown front-matter key(s): colour"]


def test_an_unknown_key_is_an_error_when_strict(tmp_path):
    path = markdown_post(site(tmp_path), "---\ntitle: T\ncolour: blue\n---\n")
    with pytest.raises(BuildError, match=r"2020-01-02-note.md: unknown front-matter key\(s\): colour"):
        read_post(path, strict=True)


def test_files_no_reader_handles_in_posts_are_skipped_with_one_warning(tmp_path):
    root = site(tmp_path)
    (root / "_posts" / "2020-01-01-notes.txt").write_text("forgotten")
    (root / "_posts" / "images").mkdir()
    (root / "_posts" / "images" / "plot.png").write_bytes(b"png")
    log = []
    build(root, root / "_site", search=False, log=log.append)
    skipped = [line for line in log if "skipped 2 file(s)" in line]
    assert len(skipped) == 1 and "_posts/2020-01-01-notes.txt, _posts/images/plot.png" in skipped[0]
    assert not (root / "_site" / "_posts").exists()


def test_a_file_no_reader_handles_in_posts_fails_a_strict_build(tmp_path):
    root = site(tmp_path)
    (root / "_posts" / "2020-01-01-notes.txt").write_text("forgotten")
    with pytest.raises(BuildError, match=r"2020-01-01-notes.txt: skipped 1 file"):
        built(root, strict=True)


def test_other_files_of_pages_are_copied_where_jekyll_copied_them(tmp_path):
    root = site(tmp_path)
    (root / "_pages").mkdir()
    (root / "_pages" / "cv.pdf").write_bytes(b"%PDF-1.4")
    assert (built(root) / "_pages" / "cv.pdf").read_bytes() == b"%PDF-1.4"


def test_an_extra_line_in_the_front_matter_cell_is_ignored_with_a_warning(tmp_path):
    root = site(tmp_path)
    path = notebook(root, front_matter='# "T"\nSome prose that is not front matter')
    post = read_post(path)
    assert post.title == "T"
    assert post.warnings == [f"{path}, cell 1: front-matter line 'Some prose that is not front matter' ignored"]


def test_a_quoted_summary_loses_its_quotes(tmp_path):
    post = read_post(notebook(site(tmp_path), front_matter='# "T"\n> "A summary"'))
    assert post.summary == "A summary"
