"""fastpages' own demo post, built unchanged from ../shared/fastpages-corpus, in a real browser
with no network: its Altair charts draw from the site's own copies of vega, and nothing is requested
from another host until the reader clicks an embed."""

import functools
import os
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from lib.blog.build import build

CORPUS = Path(__file__).parents[2] / "shared" / "fastpages-corpus" / "fastpages" / "site"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-quic", "--disable-gpu", "--no-first-run"]  # fmt: skip
POST = "/jupyter/2020/02/20/test.html"

if not CORPUS.is_dir():
    pytest.skip("../shared/fastpages-corpus is not beside this clone", allow_module_level=True)
if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        raise RuntimeError("Chromium is missing: `apt-get install -y chromium` (.ci/run does this)")
    pytest.skip("Chromium is not installed (apt-get install -y chromium)", allow_module_level=True)


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def base_url(tmp_path_factory):
    out = tmp_path_factory.mktemp("fastpages") / "_site"
    build(CORPUS, out, search=False, log=lambda _: None)
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(out)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def page(base_url):
    "The demo post, opened with every request to another host recorded and refused (no network)."
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
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
