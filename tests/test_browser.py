"""The real broadcasting post in a real browser: Playwright driving Debian's Chromium.

The site is built from the repository's own posts into a temporary folder and served
on 127.0.0.1 under its baseurl. Outside CI a machine without Chromium skips these tests;
in CI (CI=true) a missing browser is a failure.
"""

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

import pytest
from browsing import require_chromium, served, watch

from lib.blog.build import build
from lib.blog.config import load_config

ROOT = Path(__file__).parents[1]
POST = "/2021/08/20/pytorch-broadcasting.html"
BASEURL = load_config(ROOT).baseurl.rstrip("/")  # served under it, as GitHub Pages serves the blog

require_chromium()


@pytest.fixture(scope="module")
def site_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site") / "_site"
    build(ROOT, out, search=True, log=lambda _: None)
    return out


@pytest.fixture(scope="module")
def base_url(site_dir):
    with served(site_dir, BASEURL) as url:
        yield url


@pytest.fixture
def visit(browser, base_url):
    "Open a page; returns (page, console errors, requests that left the site)."
    context = browser.new_context()
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors, outside = watch(page, base_url)

    def go(path: str):
        page.goto(base_url + path, wait_until="networkidle")
        return page, errors, outside

    yield go
    context.close()


def test_post_loads_with_no_console_errors_and_nothing_from_outside(visit):
    page, errors, outside = visit(POST)
    assert page.title().startswith("PyTorch Broadcasting")
    assert errors == [] and outside == []


def test_every_image_of_the_post_loads(visit):
    page, _, _ = visit(POST)
    # Images are lazy; make them load now, then wait until each one has finished, loaded or not.
    page.evaluate("() => document.querySelectorAll('img').forEach(i => { i.loading = 'eager'; })")
    page.wait_for_function("() => [...document.images].every(i => i.complete)")
    images = page.eval_on_selector_all("img", "els => els.map(i => [i.getAttribute('src'), i.naturalWidth, i.alt])")
    assert len(images) >= 7
    assert [src for src, width, _ in images if width == 0] == []
    assert all(alt for _, _, alt in images)


def test_collapsed_code_opens_on_click(visit):
    page, _, _ = visit(POST)
    fold = page.locator("details.code-fold").first
    assert fold.get_attribute("open") is None
    assert not fold.locator("pre").first.is_visible()
    fold.locator("summary").click()
    assert fold.get_attribute("open") == "" and fold.locator("pre").first.is_visible()


def test_toc_links_jump_to_their_headings(visit):
    page, _, _ = visit(POST)
    links = page.locator("nav.toc a")
    assert links.count() >= 5
    link = links.nth(4)
    target = link.get_attribute("href")
    link.click()
    page.wait_for_function("h => location.hash === h", arg=target)
    top = page.eval_on_selector(target, "el => el.getBoundingClientRect().top")
    assert -2 <= top < 100  # at the top of the viewport, give or take sub-pixel rounding


def test_search_for_broadcasting_finds_the_post(visit):
    page, errors, outside = visit("/search.html")
    page.fill(".pagefind-ui__search-input", "broadcasting")
    result = page.locator(".pagefind-ui__result-link").first
    result.wait_for(timeout=10_000)
    assert result.inner_text().startswith("PyTorch Broadcasting") and POST in result.get_attribute("href")
    assert errors == [] and outside == []


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs, self.ids = [], set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.ids.update(v for k, v in attrs.items() if k in ("id", "name") and v)
        self.refs += [attrs[k] for k in ("href", "src") if attrs.get(k)]


def parse(path: Path) -> Links:
    links = Links()
    links.feed(path.read_text())
    return links


def test_every_internal_link_and_anchor_resolves(site_dir):
    pages = {p: parse(p) for p in site_dir.rglob("*.html") if "pagefind" not in p.parts}
    broken = []
    for page, links in pages.items():
        here = f"{BASEURL}/{page.relative_to(site_dir).as_posix()}"
        for ref in links.refs:
            url = urlparse(urljoin(here, ref))
            if url.scheme in ("http", "https", "mailto") or ref.startswith("data:"):
                continue
            path = unquote(url.path)
            target = site_dir / path[len(BASEURL) + 1 :] if path.startswith(BASEURL + "/") else site_dir / "outside"
            target = target / "index.html" if target.is_dir() else target
            if not target.exists():
                broken.append(f"{here}: {ref}")
            elif url.fragment and url.fragment not in (pages.get(target) or parse(target)).ids:
                broken.append(f"{here}: {ref} (no such anchor)")
    assert broken == []
    assert any(re.search(r"#[\w-]+$", ref) for links in pages.values() for ref in links.refs)


def test_a_slide_deck_moves_to_the_next_slide(visit):
    page, errors, outside = visit("/slides/pytorch-broadcasting.html")
    page.wait_for_function("() => window.Reveal && Reveal.isReady()")
    assert page.evaluate("Reveal.getIndices().h") == 0
    page.keyboard.press("ArrowRight")
    page.wait_for_function("() => Reveal.getIndices().h === 1")
    assert page.locator("section.present h1").first.text_content() == "Introduction"
    assert errors == [] and outside == []
