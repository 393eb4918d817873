"""The demo post of Quarto's syntax in Chromium: tabs from the keyboard, diagrams drawn, nothing from outside.

The blog is built from the repository's own posts and served on 127.0.0.1 under its baseurl.
"""

from pathlib import Path

import pytest
from browsing import require_chromium, site_of, watch

from lib.blog.config import load_config

ROOT = Path(__file__).parents[1]
DEMO = "/2021/09/10/figures-references-and-citations.html"
BASEURL = load_config(ROOT).baseurl.rstrip("/")

require_chromium()


@pytest.fixture(scope="module")
def base_url(tmp_path_factory):
    with site_of(ROOT, tmp_path_factory, BASEURL) as url:
        yield url


@pytest.fixture
def demo(browser, base_url):
    "The demo post open in a page; with the console's errors and every request that left the site."
    context = browser.new_context()
    page = context.new_page()
    errors, outside = watch(page, base_url)
    page.goto(base_url + DEMO, wait_until="networkidle")
    yield page, errors, outside
    context.close()


def test_the_tabs_work_from_the_keyboard(demo):
    page, errors, _ = demo
    tabs = page.get_by_role("tab")
    assert tabs.all_inner_texts() == ["PyTorch", "NumPy"]
    tabs.first.focus()
    page.keyboard.press("ArrowRight")
    assert page.evaluate("document.activeElement.textContent") == "NumPy"
    assert page.get_by_role("tab", name="NumPy").get_attribute("aria-selected") == "true"
    panels = page.locator(".tab-panel")
    assert panels.nth(1).is_visible() and not panels.nth(0).is_visible()
    assert "np.abs" in page.get_by_role("tabpanel").inner_text()
    page.keyboard.press("Home")
    assert panels.nth(0).is_visible() and errors == []


def test_without_javascript_every_panel_shows_under_its_label(browser, base_url):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(base_url + DEMO)
    assert page.locator(".tab-panel").count() == 2 and all(p.is_visible() for p in page.locator(".tab-panel").all())
    assert page.locator("pre.mermaid").inner_text().startswith("flowchart LR")  # the diagram's source, readable
    context.close()


def test_the_diagram_is_drawn_once_it_nears_the_screen_and_nothing_loads_from_outside(demo):
    page, errors, outside = demo
    assert page.locator("pre.mermaid svg").count() == 0  # below the fold: Mermaid not even loaded yet
    page.locator("pre.mermaid").scroll_into_view_if_needed()
    page.locator("pre.mermaid svg").wait_for(timeout=20_000)
    assert "Read: front matter" in page.locator("pre.mermaid svg").text_content()
    assert errors == [] and outside == []


def test_references_and_citations_link_to_what_they_name(demo):
    page, _, _ = demo
    page.get_by_role("link", name="Table 1").first.click()
    assert page.evaluate("location.hash") == "#tbl-shapes"
    page.get_by_role("link", name="(Harris et al., 2020)").click()
    assert page.evaluate("location.hash") == "#ref-harris2020numpy"
