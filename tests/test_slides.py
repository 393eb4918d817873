"""Slides: where slides and sub-slides start, what a cut may hide, speaker notes, and the decks in Chromium.

The unit tests build a tiny notebook into a site and read its deck (`slides/post.html`). The browser tests walk
every slide of the real posts' decks at 1280 × 720 and print them, and try splitting, scrolling, fragments and
the speaker view on a small deck of their own. They drive Debian's Chromium as tests/test_browser.py does.
"""

import contextlib
import os
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlparse

import pytest
from browsing import HAS_CHROMIUM, NO_CHROMIUM, served
from helpers import CONFIG, built, notebook, page, site
from nbformat.v4 import new_code_cell, new_markdown_cell, new_output

from lib.blog.audit import search_records
from lib.blog.build import build
from lib.blog.config import load_config

ROOT = Path(__file__).parents[1]
DECKS = [path.stem[len("2021-08-20-") :] for path in sorted((ROOT / "_notebooks").glob("*.ipynb"))]
BASEURL = load_config(ROOT).baseurl.rstrip("/")  # served under it, as GitHub Pages serves the blog
# In CI a missing Chromium fails these tests (and test_browser says why); elsewhere they skip.
browser_test = pytest.mark.skipif(not HAS_CHROMIUM and not os.environ.get("CI"), reason=NO_CHROMIUM)


def md(text: str):
    return new_markdown_cell(text)


def printing(text: str, code: str = "print(text)"):
    "A code cell that printed `text`."
    return new_code_cell(code, outputs=[new_output("stream", name="stdout", text=text)])


def numbered(count: int) -> str:
    return "\n".join(f"line {i}" for i in range(count))


def deck_of(tmp_path: Path, *cells) -> str:
    "The deck of a post made of `cells` (after its front matter, which becomes the title slide)."
    root = site(tmp_path)
    notebook(root, *cells)
    built(root)
    return (root / "_site/slides/post.html").read_text()


class Deck(HTMLParser):
    "The deck's slides, each the list of its sub-slides' text: nbconvert nests a slide's sub-slides in it."

    def __init__(self, html: str):
        super().__init__()
        self.slides, self.depth = [], 0
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        if tag == "section":
            self.depth += 1
            self.slides += [[]] if self.depth == 1 else []
            self.slides[-1] += [""] if self.depth == 2 else []

    def handle_endtag(self, tag):
        self.depth -= tag == "section"

    def handle_data(self, data):
        if self.depth == 2:
            self.slides[-1][-1] += data


def shape(html: str) -> list[int]:
    "How many sub-slides each slide has."
    return [len(slide) for slide in Deck(html).slides]


# Where slides start


def test_a_third_level_heading_starts_a_sub_slide(tmp_path):
    html = deck_of(tmp_path, md("# One"), md("### One, more"), md("## Two"))
    assert shape(html) == [1, 2, 1]  # the title, One with its sub-slide, Two
    assert "One, more" in Deck(html).slides[1][1]


def test_slide_flags_start_a_sub_slide_or_a_new_slide(tmp_path):
    html = deck_of(tmp_path, md("# One"), "#| slide: sub\nx = 'SUB-MARK'", "#| slide: true\ny = 'NEW-MARK'")
    assert shape(html) == [1, 2, 1]
    assert "SUB-MARK" in Deck(html).slides[1][1] and "NEW-MARK" in Deck(html).slides[2][0]


def test_a_markdown_cell_takes_slide_flags_on_its_first_lines(tmp_path):
    html = deck_of(tmp_path, md("# One"), md("#| slide: true\nA new slide without a heading."))
    assert shape(html) == [1, 1, 1] and "#| slide" not in html


def test_slide_flags_show_nowhere_and_are_no_unknown_flags(tmp_path):
    root = site(tmp_path)
    notebook(root, "#| slide: sub\nx = 1", "#| fragment\ny = 2", md("#| slide: true\nText."))
    logged = []
    build(root, root / "_site", search=False, log=logged.append)
    assert "#|" not in page(root) and "#|" not in (root / "_site/slides/post.html").read_text()
    assert [line for line in logged if "unknown flag" in line] == []


def test_an_unknown_slide_value_is_a_warning_naming_the_cell(tmp_path):
    root = site(tmp_path)
    notebook(root, "#| slide: maybe\nx = 1")
    logged = []
    build(root, root / "_site", search=False, log=logged.append)
    assert any("2020-01-01-post.ipynb, cell 2: unknown flag '#| slide: maybe'" in line for line in logged)


def test_slide_false_leaves_a_cell_out_of_the_slides_but_not_the_post(tmp_path):
    root = site(tmp_path)
    notebook(root, "#| slide: false\nx = 'POST-ONLY-MARK'")
    built(root)
    assert "POST-ONLY-MARK" in page(root) and "POST-ONLY-MARK" not in (root / "_site/slides/post.html").read_text()


def test_a_fragment_flag_shows_the_cell_on_a_later_key_press(tmp_path):
    html = deck_of(tmp_path, md("# One"), "x = 'FIRST-MARK'", "#| fragment\ny = 'LATER-MARK'")
    fragment = re.search(r'<div class="fragment"\s*>(.*?)</section>', html, re.S)[1]
    assert "LATER-MARK" in fragment and "FIRST-MARK" not in fragment


def test_slideshow_metadata_draws_the_slides_instead_of_headings(tmp_path):
    own = md("Starts a sub-slide.")
    own.metadata.slideshow = {"slide_type": "subslide"}
    html = deck_of(tmp_path, md("# One"), own, md("## Not a new slide"))
    assert shape(html) == [2]  # the title slide, then the sub-slide the metadata asks for, headings or not


# What a cut may hide


def test_an_output_a_cut_would_hide_under_three_lines_of_is_shown_whole(tmp_path):
    html = deck_of(tmp_path, printing(numbered(27)))  # the limit, 25 lines, and two more
    assert "line 26" in html and "more lines" not in html


def test_printed_source_is_never_cut(tmp_path):
    source = "def long():\n" + "\n".join(f"    x{i} = {i}" for i in range(40))
    html = deck_of(tmp_path, printing(source, "print(inspect.getsource(long))"))
    assert "x39 = 39" in html and "more lines" not in html


# Speaker notes


def test_a_notes_cell_becomes_the_speaker_notes_of_its_slide(tmp_path):
    html = deck_of(tmp_path, md("# One"), md("#| notes\nSay NOTES-MARK slowly."))
    notes = re.findall(r'<aside class="notes">(.*?)</aside>', html, re.S)
    assert len(notes) == 1 and "NOTES-MARK" in notes[0] and "#| notes" not in html
    assert "NOTES-MARK" in Deck(html).slides[1][0]


def test_slideshow_type_notes_are_speaker_notes_too(tmp_path):
    notes = md("Say NOTES-MARK slowly.")
    notes.metadata.slideshow = {"slide_type": "notes"}
    html = deck_of(tmp_path, md("# One"), notes)
    assert re.search(r'<aside class="notes">.*NOTES-MARK.*</aside>', html, re.S)


def test_speaker_notes_stay_out_of_the_post_page_and_the_search_index(tmp_path):
    root = site(tmp_path)
    metadata_notes = md("Say META-NOTES-MARK.")
    metadata_notes.metadata.slideshow = {"slide_type": "notes"}
    notebook(root, md("# One\n\nSHOWN-MARK"), md("#| notes\nSay NOTES-MARK."), metadata_notes)
    built(root, search=True)
    index = " ".join(search_records(root / "_site").values())
    assert "SHOWN-MARK" in page(root) and "SHOWN-MARK" in index
    assert [mark for mark in ("NOTES-MARK", "META-NOTES-MARK") if mark in page(root) or mark in index] == []


# The real decks and a small one, in Chromium


@pytest.fixture(scope="module")
def real_site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("real") / "_site"
    build(ROOT, out, search=False, log=lambda _: None)
    return out


def test_the_real_decks_show_the_line_their_slide_is_about(real_site):
    "The issue's example: a cut output hid the `x.split(chunk_size)` that the slide on memory explains."
    assert "x.split(chunk_size)])" in (real_site / "slides/ten-digit-baseline.html").read_text()


@pytest.fixture(scope="module")
def small_site(tmp_path_factory) -> Path:
    "A deck with a long section, a cell taller than a slide, speaker notes and a fragment."
    root = site(tmp_path_factory.mktemp("small"), CONFIG + f"baseurl: {BASEURL}\n")
    source = "def long():\n" + "\n".join(f"    x{i} = {i}" for i in range(59)) + "\n    return 'LAST-LINE'"
    notebook(
        root,
        md("# A long section"),
        *[printing(numbered(6), f"print(part_{i})") for i in range(12)],
        md("# Printed source"),
        printing(source, "print(inspect.getsource(long))"),
        md("# Notes and a fragment\n\nFirst this."),
        md("#| notes\nSay NOTES-MARK slowly."),
        "#| fragment\nlater = 'LATER-MARK'",
    )
    return built(root)


@pytest.fixture(scope="module")
def real_url(real_site):
    with served(real_site, BASEURL) as url:
        yield url


@pytest.fixture(scope="module")
def small_url(small_site):
    with served(small_site, BASEURL) as url:
        yield url


@contextlib.contextmanager
def deck_page(browser, url: str):
    """A deck at 1280 × 720, once reveal.js is ready; with the console errors and the requests that left the
    server of every page it opens (the speaker view and its frames too)."""
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    context.set_default_timeout(15_000)
    errors, outside, server = [], [], f"http://{urlparse(url).netloc}/"
    context.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    context.on("weberror", lambda e: errors.append(str(e.error)))
    context.on("request", lambda r: outside.append(r.url) if not r.url.startswith((server, "data:")) else None)
    page = context.new_page()
    page.goto(url, wait_until="networkidle")
    if "print-pdf" not in url:
        page.wait_for_function("() => window.Reveal && Reveal.isReady()")
    yield page, errors, outside
    context.close()


# Each slide once, from the first to the last, as Reveal.next() goes (down a stack of sub-slides, then right):
# is its box on the screen, and when its content is taller than the box, does the box scroll to its end?
WALK = """() => {
  const seen = [];
  for (;;) {
    const { h, v } = Reveal.getIndices(), slide = Reveal.getCurrentSlide(), box = slide.getBoundingClientRect();
    if (!seen.some((s) => s.h === h && s.v === v)) {
      slide.scrollTop = slide.scrollHeight;
      const end = slide.scrollTop + slide.clientHeight >= slide.scrollHeight - 1;
      slide.scrollTop = 0;
      seen.push({ h, v, onScreen: box.top >= -1 && box.bottom <= innerHeight + 1, reachable: end });
    }
    if (Reveal.isLastSlide() && !Reveal.availableFragments().next) return seen;
    Reveal.next();
  }
}"""


@browser_test
@pytest.mark.parametrize("slug", DECKS)
def test_every_slide_of_a_real_deck_fits_the_screen_or_scrolls(browser, real_url, slug):
    with deck_page(browser, f"{real_url}/slides/{slug}.html?transition=none") as (page, errors, outside):
        seen = page.evaluate(WALK)
        assert len(seen) == page.evaluate("Reveal.getTotalSlides()") > 1
        assert [s for s in seen if not (s["onScreen"] and s["reachable"])] == []
        assert errors == [] and outside == []


@browser_test
@pytest.mark.parametrize("slug", DECKS)
def test_printing_a_real_deck_gives_one_page_per_slide(browser, real_url, slug):
    with deck_page(browser, f"{real_url}/slides/{slug}.html") as (page, _, _):
        slides = page.evaluate("Reveal.getTotalSlides()")
    with deck_page(browser, f"{real_url}/slides/{slug}.html?print-pdf") as (page, errors, outside):
        page.wait_for_selector(".pdf-page", state="attached")  # reveal.js adds every page at once
        pdf = page.pdf(prefer_css_page_size=True, print_background=True)
        assert len(re.findall(rb"/Type\s*/Page\b", pdf)) == page.locator(".pdf-page").count() == slides
        assert errors == [] and outside == []


def go_to(page, heading: str) -> None:
    "Show the slide whose heading is `heading`."
    page.evaluate(
        "h => Reveal.slide(Reveal.getHorizontalSlides().findIndex((s) => s.textContent.includes(h)))", heading
    )


@browser_test
def test_a_section_taller_than_a_slide_goes_on_in_sub_slides(browser, small_url):
    with deck_page(browser, f"{small_url}/slides/post.html") as (page, _, _):
        go_to(page, "A long section")
        stack = page.evaluate("[...Reveal.getCurrentSlide().parentElement.children].map((s) => s.scrollHeight)")
        assert len(stack) > 1 and max(stack) <= 700  # reveal.js's slide: 960 × 700
        page.keyboard.press("ArrowDown")
        assert page.evaluate("Reveal.getCurrentSlide().textContent").strip().startswith("A long section (continued)")


# Where the current slide is scrolled to, and whether that is its end.
SCROLLED = """() => {
  const s = Reveal.getCurrentSlide();
  return [s.scrollTop, s.scrollTop + s.clientHeight >= s.scrollHeight - 1];
}"""


@browser_test
def test_a_cell_taller_than_a_slide_scrolls_to_its_end_with_the_down_key(browser, small_url):
    with deck_page(browser, f"{small_url}/slides/post.html?transition=none") as (page, _, _):
        go_to(page, "Printed source")
        page.keyboard.press("ArrowDown")  # to the sub-slide of the printed source, which scrolls
        where, scrolled = page.evaluate("Reveal.getIndices()"), [page.evaluate(SCROLLED)]
        while not scrolled[-1][1] and len(scrolled) < 10:
            page.keyboard.press("ArrowDown")
            scrolled.append(page.evaluate(SCROLLED))
        tops = [top for top, _ in scrolled]
        assert scrolled[-1][1] and tops == sorted(set(tops)) and len(tops) > 1  # down, a screen a time, to the end
        assert page.evaluate("Reveal.getIndices()") == where  # on the same slide


@browser_test
def test_a_fragment_shows_on_the_next_key_press(browser, small_url):
    with deck_page(browser, f"{small_url}/slides/post.html") as (page, _, _):
        go_to(page, "Notes and a fragment")
        fragment = page.locator("section.present .fragment")
        assert "visible" not in fragment.get_attribute("class")
        page.keyboard.press("ArrowRight")
        assert "visible" in fragment.get_attribute("class")


@browser_test
def test_s_opens_the_speaker_view_with_the_notes_offline(browser, small_url):
    with deck_page(browser, f"{small_url}/slides/post.html") as (page, errors, outside):
        go_to(page, "Notes and a fragment")
        with page.expect_popup() as popup:
            page.keyboard.press("s")
        notes = popup.value.locator(".speaker-controls-notes .value")
        notes.filter(has_text="NOTES-MARK").wait_for()
        assert errors == [] and outside == []
