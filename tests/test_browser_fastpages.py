"""fastpages' own demo post, built unchanged from ../shared/fastpages-corpus, in a real browser
with no network: its Altair charts draw from the site's own copies of vega, and nothing is requested
from another host until the reader clicks an embed."""

from pathlib import Path

import pytest
from browsing import launch, require_chromium, served

from lib.blog.build import build

CORPUS = Path(__file__).parents[2] / "shared" / "fastpages-corpus" / "fastpages" / "site"
POST = "/jupyter/2020/02/20/test.html"

if not CORPUS.is_dir():
    pytest.skip("../shared/fastpages-corpus is not beside this clone", allow_module_level=True)
require_chromium()


@pytest.fixture(scope="module")
def base_url(tmp_path_factory):
    out = tmp_path_factory.mktemp("fastpages") / "_site"
    build(CORPUS, out, search=False, log=lambda _: None)
    with served(out) as url:
        yield url


@pytest.fixture
def page(base_url):
    "The demo post, opened with every request to another host recorded and refused (no network)."
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page()
        page.set_default_timeout(20_000)
        page.outside = []

        def route(r):
            if r.request.url.startswith(base_url):
                return r.continue_()
            page.outside.append(r.request.url)
            return r.abort()

        page.route("**/*", route)
        page.goto(base_url + POST)
        yield page
        browser.close()


def test_the_altair_charts_draw_from_the_sites_own_vega(page):
    page.wait_for_function("document.querySelectorAll('[id^=altair-viz] canvas, [id^=altair-viz] svg').length >= 2")
    assert page.outside == []


def test_nothing_leaves_the_site_until_an_embed_is_clicked(page):
    page.wait_for_load_state("networkidle")
    assert page.outside == []
    page.locator(".embed-youtube button").first.click()
    page.wait_for_selector(".embed-youtube iframe, iframe.embed-frame")
    page.wait_for_timeout(500)
    assert [u for u in page.outside if "youtube" in u]
