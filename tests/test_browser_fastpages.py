"""The two real blogs of ../shared/fastpages-corpus, built unchanged, in a real browser with no network:
fastpages' demo post draws its Altair charts from the site's own vega, greglandrum's molecule viewers draw
with the site's own 3Dmol.js, and no page of either requests anything from another host until the reader
clicks an embed."""

import shutil
from pathlib import Path

import pytest
from browsing import launch, require_chromium, served

from lib.blog.build import build
from lib.blog.config import load_config

CORPUS = Path(__file__).parents[2] / "shared" / "fastpages-corpus"
BLOGS = ("fastpages", "greglandrum")
POST = "/jupyter/2020/02/20/test.html"
# The element each py3Dmol output draws its viewer in (3Dmol.js adds a <canvas> to it).
VIEWERS = '[id^="3dmolviewer_"]'

if not CORPUS.is_dir():
    pytest.skip("../shared/fastpages-corpus is not beside this clone", allow_module_level=True)
require_chromium()


@pytest.fixture(scope="module")
def sites(tmp_path_factory):
    "blog -> (its built site, its baseurl). Built from copies: ../shared stays as it is, build cache and all."
    found = {}
    for blog in BLOGS:
        root = tmp_path_factory.mktemp(blog) / "site"
        shutil.copytree(CORPUS / blog / "site", root, ignore=shutil.ignore_patterns(".cache"))
        build(root, root / "_site", search=False, log=lambda _: None)
        found[blog] = root / "_site", load_config(root).baseurl.rstrip("/")
    return found


@pytest.fixture(scope="module")
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch(p)
        yield browser
        browser.close()


def offline_tab(browser, base_url: str):
    "A tab that refuses every request to another host and records it in `tab.outside`."
    tab = browser.new_page()
    tab.set_default_timeout(20_000)
    tab.outside = []

    def route(r):
        if r.request.url.startswith(base_url):
            return r.continue_()
        tab.outside.append(r.request.url)
        return r.abort()

    tab.route("**/*", route)
    return tab


@pytest.fixture
def page(sites, chromium):
    "fastpages' demo post, opened offline."
    out, baseurl = sites["fastpages"]
    with served(out, baseurl) as base_url:
        tab = offline_tab(chromium, base_url)
        tab.goto(base_url + POST)
        yield tab
        tab.close()


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


def visit(tab, url: str) -> tuple[list[str], int, int]:
    "Open `url` until the network is idle: (requests to other hosts, molecule viewers, viewers drawn)."
    from playwright.sync_api import TimeoutError

    tab.outside.clear()
    tab.goto(url, wait_until="networkidle")
    viewers, drawn = tab.locator(VIEWERS).count(), f"{VIEWERS} canvas"
    if viewers:  # a viewer that never started would leave the page quiet for the wrong reason
        try:
            tab.wait_for_function(f"document.querySelectorAll('{drawn}').length >= {viewers}", timeout=15_000)
        except TimeoutError:
            pass
    return list(tab.outside), viewers, tab.locator(drawn).count()


@pytest.mark.parametrize("blog", BLOGS)
def test_no_page_asks_another_host_for_anything_before_a_click(sites, chromium, blog):
    out, baseurl = sites[blog]
    pages = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.html"))
    outside, viewers = {}, {}
    with served(out, baseurl) as base_url:
        tab = offline_tab(chromium, base_url)
        for url in pages:
            requested, found, drawn = visit(tab, f"{base_url}/{url}")
            outside |= {url: requested} if requested else {}
            viewers |= {url: (found, drawn)} if found else {}
        tab.close()
    assert len(pages) > 10
    assert outside == {}
    # greglandrum's 3D posts show py3Dmol viewers of before py3Dmol 2.0: 3Dmol.js from its own site, and `$`
    assert all(found == drawn for found, drawn in viewers.values()), viewers
    assert bool(viewers) == (blog == "greglandrum")
