"""Writing as in Quarto and MyST: callouts, tabsets, cross-references, citations and drafts.

Posts here use Quarto's syntax as written for Quarto, so that a post moves between the two unchanged.
`tests/fixtures/quarto/` holds a small Quarto-syntax post with every feature and its bibliography.
"""

import re
import shutil
from pathlib import Path

import pytest
from browsing import needs_chromium
from helpers import CONFIG, built, markdown_post, notebook, page, site
from nbformat.v4 import new_code_cell, new_markdown_cell, new_output

from lib.blog.build import build
from lib.blog.errors import BuildError

FIXTURE = Path(__file__).parent / "fixtures" / "quarto"
POST = "2020/01/02/note.html"


def rendered(tmp_path, text: str, config: str = CONFIG, **kw) -> str:
    "The post-content of a markdown post with `text` as its body, built for real."
    root = site(tmp_path, config)
    markdown_post(root, f"---\ntitle: T\n---\n{text}")
    built(root, **kw)
    body = page(root, POST)
    return body[body.index('<div class="post-content">') : body.index("</article>")]


def warnings_of(tmp_path, text: str, config: str = CONFIG) -> list[str]:
    root, said = site(tmp_path, config), []
    markdown_post(root, f"---\ntitle: T\n---\n{text}")
    build(root, root / "_site", search=False, log=said.append)
    return [line for line in said if line.startswith("warning:")]


# Callouts and tabsets


def test_callouts_of_each_kind_with_a_title_or_without(tmp_path):
    body = rendered(
        tmp_path,
        "::: {.callout-tip}\n## Shapes first\nText.\n:::\n\n"
        '::: {.callout-warning title="Mind it"}\nMore.\n:::\n\n'
        "::: {.callout-important}\nLast.\n:::\n",
    )
    assert '<div class="callout tip" role="note">\n<p class="callout-label">Shapes first</p>' in body
    assert '<div class="callout warning" role="note">\n<p class="callout-label">Mind it</p>' in body
    assert '<p class="callout-label">Important</p>' in body and "<h2" not in body


def test_a_collapsible_callout_is_a_details_element(tmp_path):
    body = rendered(tmp_path, '::: {.callout-note collapse="true"}\n## Answer\nHidden at first.\n:::\n')
    assert '<details class="callout note">\n<summary class="callout-label">Answer</summary>' in body
    assert "Hidden at first.</p>\n</details>" in body


def test_another_fenced_div_is_left_as_text(tmp_path):
    assert "::: {.columns}" in rendered(tmp_path, "::: {.columns}\nText.\n:::\n")


def test_a_tabset_reads_without_javascript_as_labelled_panels(tmp_path):
    body = rendered(tmp_path, "::: {.panel-tabset}\n## Python\nOne.\n## R\nTwo.\n:::\n")
    assert re.search(
        r'<div class="tabset">\s*<section class="tab-panel">\s*<p class="tab-label">Python</p>\s*<p>One.</p>\s*'
        r'</section>\s*<section class="tab-panel">\s*<p class="tab-label">R</p>',
        body,
    )


def test_a_tabs_label_is_no_heading_of_the_table_of_contents(tmp_path):
    root = site(tmp_path)
    markdown_post(root, "---\ntitle: T\ntoc: true\n---\n## Real heading\n::: {.panel-tabset}\n## Python\nOne.\n:::\n")
    built(root)
    toc = page(root, POST).split('<nav class="toc"')[1].split("</nav>")[0]
    assert "Real heading" in toc and "Python" not in toc


def test_callouts_nest_inside_a_tabset(tmp_path):
    body = rendered(tmp_path, ":::: {.panel-tabset}\n## A\n::: {.callout-note}\nIn a tab.\n:::\n## B\nTwo.\n::::\n")
    assert body.index('class="callout note"') < body.index('<p class="tab-label">B</p>')


# Cross-references


def test_references_are_numbered_in_order_and_link_to_what_they_name(tmp_path):
    text = (
        "See @fig-b and @fig-a.\n\n![First](a.png){#fig-a}\n\n![Second](b.png){#fig-b}\n\n"
        "| x |\n|---|\n| 1 |\n\n: Counts {#tbl-counts}\n\nAnd @tbl-counts.\n"
    )
    body = rendered(tmp_path, text)
    assert '<a class="xref" href="#fig-b">Figure&nbsp;2</a> and <a class="xref" href="#fig-a">Figure&nbsp;1</a>' in body
    assert '<figure id="fig-a" data-xref><img src="a.png" alt="First"><figcaption>Figure 1: First<' in body
    assert (
        "<caption>Table 1: Counts</caption>" in body and '<a class="xref" href="#tbl-counts">Table&nbsp;1</a>' in body
    )


def test_sections_are_numbered_by_their_place_among_the_headings(tmp_path):
    body = rendered(tmp_path, "## One\n## Two {#sec-two}\n### Detail {#sec-detail}\nSee @sec-detail in @sec-two.\n")
    assert '<h2 id="sec-two" data-xref="">Two</h2>' in body
    assert (
        '<a class="xref" href="#sec-detail">Section&nbsp;2.1</a> in <a class="xref" href="#sec-two">Section&nbsp;2</a>'
        in body
    )


def test_a_kramdown_header_id_names_its_heading_as_jekyll_did(tmp_path):
    body = rendered(tmp_path, "## Getting started {#start}\n\n[Back](#start)\n")
    assert '<h2 id="start">Getting started</h2>' in body


def test_a_labelled_equation_is_numbered(tmp_path):
    body = rendered(tmp_path, "$$\nE = mc^2\n$$ {#eq-energy}\n\nBy @eq-energy.\n")
    assert (
        '<div id="eq-energy" class="math block equation" data-xref>' in body
        and '<span class="eq-number">(1)</span>' in body
    )
    assert '<a class="xref" href="#eq-energy">Equation&nbsp;1</a>' in body


def test_an_unknown_label_is_a_warning_and_shows_as_quarto_shows_it(tmp_path):
    assert '<strong class="xref-missing">?@fig-nope</strong>' in rendered(tmp_path, "See @fig-nope.\n")
    assert any("unknown cross-reference @fig-nope" in w for w in warnings_of(tmp_path / "w", "See @fig-nope.\n"))


def test_an_email_address_and_a_handle_stay_text(tmp_path):
    body = rendered(tmp_path, "Write to me@example.org or @someone.\n")
    assert "me@example.org or @someone." in body


def test_a_labelled_notebook_output_is_a_numbered_figure_named_before_it_is_drawn(tmp_path):
    root = site(tmp_path)
    image = new_output("display_data", data={"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"})
    drawing = new_code_cell("#| label: fig-means\n#| fig-cap: The ten means\nshow(means)", outputs=[image])
    notebook(root, new_markdown_cell("As @fig-means shows."), drawing)
    built(root)
    body = page(root)
    assert '<a class="xref" href="#fig-means">Figure&nbsp;1</a> shows.' in body
    assert re.search(
        r'<figure class="cell-figure" id="fig-means" data-xref>.*'
        r"<figcaption>Figure 1: The ten means</figcaption></figure>",
        body,
        re.S,
    )


# Citations


def with_bibliography(tmp_path) -> Path:
    root = site(tmp_path)
    shutil.copy(FIXTURE / "refs.bib", root / "_posts" / "refs.bib")
    return root


def cited(tmp_path, text: str, front: str = "bibliography: refs.bib") -> str:
    root = with_bibliography(tmp_path)
    markdown_post(root, f"---\ntitle: T\n{front}\n---\n{text}")
    built(root)
    return page(root, POST)


def test_citations_in_apa_with_a_reference_list_whose_dois_are_links(tmp_path):
    body = cited(tmp_path, "Layered [@howard2020fastai, p. 3]; see @goodfellow2016.\n")
    assert '<a class="citation" href="#ref-howard2020fastai">(Howard &amp; Gugger, 2020, p. 3)</a>' in body
    assert '<a class="citation" href="#ref-goodfellow2016">Goodfellow et al. (2016)</a>' in body
    refs = body.split('<section class="references" id="references">')[1]
    assert refs.index("Goodfellow, I.") < refs.index("Howard, J.")  # APA sorts by author
    assert '<a href="https://doi.org/10.3390/info11020108">' in refs


def test_ieee_numbers_citations_in_order_of_first_citation(tmp_path):
    body = cited(
        tmp_path,
        "First [@goodfellow2016], then [@howard2020fastai; @goodfellow2016].\n",
        "bibliography: refs.bib\ncsl: ieee",
    )
    assert ">[1]</a>, then <a" in body and ">[1], [2]</a>" in body
    assert body.index('id="ref-goodfellow2016">[1]') < body.index('id="ref-howard2020fastai">[2]')


def test_the_sites_bibliography_serves_every_post(tmp_path):
    root = site(tmp_path, CONFIG + "bibliography: refs.bib\n")
    shutil.copy(FIXTURE / "refs.bib", root / "refs.bib")
    markdown_post(root, "---\ntitle: T\n---\nAs [@goodfellow2016].\n")
    built(root)
    assert "(Goodfellow et al., 2016)" in page(root, POST)


def test_an_unknown_key_is_a_warning_naming_the_cell(tmp_path):
    root = with_bibliography(tmp_path)
    (root / "_notebooks" / "refs.bib").write_bytes((FIXTURE / "refs.bib").read_bytes())
    front = '# "A Post"\n> About something\n\n- bibliography: refs.bib'
    notebook(root, new_markdown_cell("Text."), new_markdown_cell("As [@nobody2021]."), front_matter=front)
    said = []
    build(root, root / "_site", search=False, log=said.append)
    assert any("cell 3: unknown citation key @nobody2021" in line for line in said), said
    assert '<strong class="citation-missing">?nobody2021</strong>' in page(root)


def test_raw_html_that_looks_like_a_placeholder_is_left_as_written(tmp_path):
    fake = '<span class="xref" data-xref="5">a</span> <span class="citation" data-citation="{oops">b</span>'
    body = cited(tmp_path, f"{fake}\n\nAs [@goodfellow2016].\n")
    assert fake in body and "(Goodfellow et al., 2016)" in body


def test_a_bibliography_outside_the_blog_is_refused(tmp_path):
    root = site(tmp_path)
    shutil.copy(FIXTURE / "refs.bib", tmp_path / "private.bib")  # beside the blog, not in it
    markdown_post(root, "---\ntitle: T\nbibliography: ../../private.bib\n---\nAs [@goodfellow2016].\n")
    with pytest.raises(BuildError, match=r"private\.bib is outside the blog's folder"):
        built(root)


def test_without_a_bibliography_an_at_sign_is_text(tmp_path):
    assert "[@goodfellow2016]" in rendered(tmp_path, "As [@goodfellow2016].\n")


def test_a_missing_bibliography_is_an_error_naming_it(tmp_path):
    root = site(tmp_path)
    markdown_post(root, "---\ntitle: T\nbibliography: nowhere.bib\n---\nAs [@a].\n")
    with pytest.raises(BuildError, match=r"nowhere\.bib: bibliography not found"):
        built(root)


# Drafts


def test_a_draft_is_left_out_of_the_site(tmp_path):
    root = site(tmp_path)
    markdown_post(root, "---\ntitle: Unfinished\ndraft: true\n---\nNot yet.\n")
    out = built(root)
    assert not (out / POST).exists()
    assert "Unfinished" not in "".join(
        p.read_text() for p in (out / "index.html", out / "feed.xml", out / "sitemap.xml")
    )


def test_make_serve_builds_a_draft_with_a_banner_and_lists_it_nowhere(tmp_path):
    root = site(tmp_path)
    markdown_post(root, "---\ntitle: Unfinished\ndraft: true\n---\nNot yet.\n")
    build(root, root / "_site", search=False, log=lambda _: None, drafts=True)
    out = root / "_site"
    assert 'class="draft-banner"' in (out / POST).read_text() and "data-pagefind-body" not in (out / POST).read_text()
    assert "Unfinished" not in "".join(
        p.read_text() for p in (out / "index.html", out / "feed.xml", out / "sitemap.xml")
    )


# The whole Quarto-syntax post


@pytest.fixture(scope="module")
def quarto_post(tmp_path_factory) -> tuple[str, list[str]]:
    root = site(tmp_path_factory.mktemp("quarto"))
    (root / "images").mkdir()
    for path in FIXTURE.iterdir():
        shutil.copy(path, root / ("images" if path.suffix == ".png" else "_posts") / path.name)
    said = []
    build(root, root / "_site", search=False, log=said.append)
    return (root / "_site/2020/03/01/quarto-syntax.html").read_text(), said


def test_the_quarto_post_builds_with_one_warning_its_unknown_key(quarto_post):
    _, said = quarto_post
    [warning] = [line for line in said if line.startswith("warning:")]
    assert warning.endswith("2020-03-01-quarto-syntax.md: unknown citation key @nobody2021 (not in refs.bib)")


def test_the_quarto_post_has_every_feature(quarto_post):
    body, _ = quarto_post
    for shown in ("Figure&nbsp;1</a>", "Table&nbsp;1</a>", "Equation&nbsp;1</a>", "Section&nbsp;1.1</a>",
                  '<p class="callout-label">Shapes first</p>', '<p class="callout-label">Memory</p>',
                  '<p class="tab-label">PyTorch</p>', '<p class="tab-label">NumPy</p>',
                  "(Howard &amp; Gugger, 2020, p. 3)", '<section class="references" id="references">'):  # fmt: skip
        assert shown in body
    assert "@fig-" not in body and "@sec-" not in body and "{#" not in body


# A PDF per post


PDF_CONFIG = CONFIG + "pdf: true\n"


@needs_chromium
def test_pdf_true_prints_each_post_with_chromium_and_links_it(tmp_path):
    root = site(tmp_path, PDF_CONFIG)
    markdown_post(root, "---\ntitle: T\n---\n## Part\nText for the printer.\n")
    said = []
    build(root, root / "_site", search=False, cache=root / ".cache", log=said.append)
    pdf = (root / "_site/pdf/note.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-") and b"/Type /Page" in pdf
    assert 'href="/pdf/note.pdf"' in page(root, POST) and "  printed 1 post(s) to PDF" in said
    said.clear()
    build(root, root / "_site", search=False, cache=root / ".cache", log=said.append)  # warm: from the cache
    assert not any("printed" in line for line in said) and (root / "_site/pdf/note.pdf").read_bytes() == pdf


@needs_chromium
def test_a_page_that_never_finishes_loading_is_an_error_naming_its_post(tmp_path, monkeypatch):
    import lib.blog.pdf

    monkeypatch.setattr(lib.blog.pdf, "PRINT_TIMEOUT", 3_000)
    root = site(tmp_path, PDF_CONFIG)
    markdown_post(root, "---\ntitle: T\n---\n<script>while (true) {}</script>\n")
    with pytest.raises(BuildError, match=r"2020-01-02-note\.md: Chromium could not print its page"):
        built(root)


def test_without_chromium_pdf_true_warns_and_links_no_pdf(tmp_path, monkeypatch):
    monkeypatch.setenv("CHROMIUM", str(tmp_path / "no-chromium"))
    root = site(tmp_path, PDF_CONFIG)
    markdown_post(root, "---\ntitle: T\n---\nText.\n")
    said = []
    build(root, root / "_site", search=False, log=said.append)
    assert any("pdf: true), but Chromium was not found" in line for line in said)
    assert not (root / "_site/pdf").exists() and "/pdf/" not in page(root, POST)


def test_editing_the_bibliography_renders_the_cached_post_again(tmp_path):
    root = with_bibliography(tmp_path)
    markdown_post(root, "---\ntitle: T\nbibliography: refs.bib\n---\nAs [@goodfellow2016].\n")
    build(root, root / "_site", search=False, cache=root / ".cache", log=lambda _: None)
    bib = root / "_posts" / "refs.bib"
    bib.write_text(bib.read_text().replace("year={2016}", "year={2017}"))
    build(root, root / "_site", search=False, cache=root / ".cache", log=lambda _: None)
    assert "(Goodfellow et al., 2017)" in page(root, POST)


def test_a_notebooks_markdown_cells_take_callouts_and_citations(tmp_path):
    root = with_bibliography(tmp_path)
    (root / "_notebooks" / "refs.bib").write_bytes((FIXTURE / "refs.bib").read_bytes())
    front = '# "A Post"\n> About something\n\n- bibliography: refs.bib'
    notebook(root, new_markdown_cell("::: {.callout-tip}\nAs [@goodfellow2016].\n:::"), front_matter=front)
    built(root)
    body = page(root)
    assert '<div class="callout tip" role="note">' in body and "(Goodfellow et al., 2016)" in body
    assert 'id="ref-goodfellow2016"' in body
