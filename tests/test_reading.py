"""Reading a post: dark mode, copy buttons, heading anchors, previous/next links, reading time, print,
accessibility (axe-core) and the site without JavaScript.

Browser tests build the repository's own site and serve it on 127.0.0.1 under its baseurl, as test_browser.py does.
"""

import json
import os
import re
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest
from browsing import HAS_CHROMIUM, MISSING_IN_CI, needs_chromium, served
from helpers import built, markdown_post, page, site

from lib.blog.build import build
from lib.blog.config import load_config
from lib.blog.pages import listed
from lib.blog.read import read_post
from lib.blog.render import Link, Neighbours, neighbours, page_env, reading_minutes, render_post

ROOT = Path(__file__).parents[1]
NOTEBOOK = "/2021/08/20/pytorch-broadcasting.html"
MARKDOWN = "/2021/09/04/teachers-guide.html"
PAGES = ["/", NOTEBOOK, MARKDOWN, "/categories.html", "/search.html"]
BASEURL = load_config(ROOT).baseurl.rstrip("/")  # served under it, as GitHub Pages serves the blog
DARK_BG, LIGHT_BG = "rgb(13, 17, 23)", "rgb(255, 255, 255)"
if not HAS_CHROMIUM and os.environ.get("CI"):
    raise RuntimeError(MISSING_IN_CI)


@pytest.fixture(scope="module")
def base_url(tmp_path_factory):
    out = tmp_path_factory.mktemp("site") / "_site"
    build(ROOT, out, search=True, log=lambda _: None)
    with served(out, BASEURL) as url:
        yield url


@pytest.fixture
def open_page(browser, base_url):
    """open_page(path, **context options) -> the page, loaded; fails the test on a console error or a request
    to another host."""
    contexts, errors, outside = [], [], []

    def go(path: str, **options):
        context = browser.new_context(**options)
        context.set_default_timeout(15_000)
        contexts.append(context)
        tab = context.new_page()
        tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        tab.on("pageerror", lambda e: errors.append(str(e)))
        tab.on("request", lambda r: outside.append(r.url) if not r.url.startswith((base_url, "data:")) else None)
        tab.goto(base_url + path, wait_until="networkidle")
        return tab

    yield go
    for context in contexts:
        context.close()
    assert errors == [] and outside == []


def background(tab) -> str:
    return tab.evaluate("getComputedStyle(document.documentElement).backgroundColor")


# Dark mode


@needs_chromium
@pytest.mark.parametrize("scheme, colour", [("dark", DARK_BG), ("light", LIGHT_BG)])
def test_theme_follows_the_system_by_default(open_page, scheme, colour):
    tab = open_page(NOTEBOOK, color_scheme=scheme)
    assert tab.evaluate("document.documentElement.dataset.theme") == "system"
    assert background(tab) == colour
    code = tab.locator(".highlight pre").first
    assert code.evaluate("el => getComputedStyle(el).backgroundColor") != colour  # code stands out in both


@needs_chromium
def test_theme_toggle_choice_is_remembered_across_reloads(open_page):
    tab = open_page(NOTEBOOK, color_scheme="light")
    toggle = tab.locator("button.theme-toggle")
    assert toggle.inner_text() == "Theme: system"
    toggle.click()
    toggle.click()
    assert toggle.inner_text() == "Theme: dark" and background(tab) == DARK_BG
    tab.reload(wait_until="networkidle")
    assert tab.evaluate("document.documentElement.dataset.theme") == "dark"
    assert background(tab) == DARK_BG and tab.locator(".theme-toggle").inner_text() == "Theme: dark"
    tab.locator(".theme-toggle").click()  # dark -> system: the light system scheme again
    tab.reload(wait_until="networkidle")
    assert background(tab) == LIGHT_BG


class Head(HTMLParser):
    "The elements of <head>, in order: ('script', inline?) and ('stylesheet', href)."

    def __init__(self):
        super().__init__()
        self.items, self.in_head = [], False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.in_head = self.in_head or tag == "head"
        if self.in_head and tag == "script":
            self.items.append(("script", "src" not in attrs))
        elif self.in_head and tag == "link" and attrs.get("rel") == "stylesheet":
            self.items.append(("stylesheet", attrs["href"]))

    def handle_endtag(self, tag):
        self.in_head = self.in_head and tag != "head"


@needs_chromium
def test_theme_is_set_before_the_first_paint(open_page, base_url):
    import urllib.request

    head = Head()
    head.feed(urllib.request.urlopen(base_url + NOTEBOOK).read().decode())
    assert head.items[0] == ("script", True)  # inline, and before every stylesheet: it runs before they apply
    # The first animation frame comes before the first paint: the stored theme is in place by then.
    tab = open_page(NOTEBOOK)
    tab.evaluate("localStorage.setItem('theme', 'dark')")
    tab.add_init_script("requestAnimationFrame(() => { window.firstFrame = document.documentElement.dataset.theme; })")
    tab.reload(wait_until="networkidle")
    assert tab.evaluate("window.firstFrame") == "dark"


@needs_chromium
def test_theme_query_overrides_for_one_view_without_storing_it(open_page):
    tab = open_page("/?theme=dark", color_scheme="light")
    assert background(tab) == DARK_BG and tab.evaluate("localStorage.getItem('theme')") is None


@needs_chromium
def test_dark_mode_gives_transparent_output_images_a_light_backdrop(open_page):
    tab = open_page(NOTEBOOK, color_scheme="dark")
    image = tab.locator(".output_png img").first
    assert image.evaluate("el => getComputedStyle(el).backgroundColor") == LIGHT_BG


# Copy buttons and heading anchors


def cell_source(cell_id: str) -> str:
    nb = nbformat.read(ROOT / "_notebooks/2021-08-20-pytorch-broadcasting.ipynb", as_version=4)
    return next(c.source for c in nb.cells if c.get("id") == cell_id)


@needs_chromium
def test_copy_button_copies_exactly_a_notebook_cells_code(open_page):
    tab = open_page(NOTEBOOK, permissions=["clipboard-read", "clipboard-write"])
    button = tab.locator(".code_cell .copy-button >> visible=true").first
    cell_id = button.evaluate("el => el.closest('.cell').id").removeprefix("cell-id=")
    button.click()
    assert tab.evaluate("navigator.clipboard.readText()") == cell_source(cell_id)  # no prompt, no output
    assert button.inner_text() == "Copied"


@needs_chromium
def test_copy_button_works_from_the_keyboard_on_markdown_code(open_page):
    tab = open_page(MARKDOWN, permissions=["clipboard-read", "clipboard-write"])
    button = tab.locator("pre.highlight").first.locator("xpath=..").get_by_role("button", name="Copy")
    button.focus()
    tab.keyboard.press("Enter")
    tab.wait_for_function("() => document.querySelector('.copy-button').textContent === 'Copied'")
    want = "make data MNIST_ARCHIVE=/media/usb/mnist_sample.tgz MNIST_FULL_ARCHIVE=/media/usb/mnist_png.tgz"
    assert tab.evaluate("navigator.clipboard.readText()") == want


@needs_chromium
@pytest.mark.parametrize(
    "lexer, session, code",
    [
        ("console", "$ make site\nBuilt 4 posts\nok\n$ ls\n", "make site\nls"),
        ("pycon", ">>> for i in range(2):\n...     print(i)\n0\n1\n", "for i in range(2):\n    print(i)"),
    ],
)
def test_copying_a_console_session_leaves_out_prompts_and_output(open_page, lexer, session, code):
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import get_lexer_by_name

    tab = open_page(MARKDOWN, permissions=["clipboard-read", "clipboard-write"])
    block = highlight(session, get_lexer_by_name(lexer), HtmlFormatter())
    tab.evaluate("html => { document.querySelector('.post-content').innerHTML = html; copyButtons(); }", block)
    tab.get_by_role("button", name="Copy").click()
    assert tab.evaluate("navigator.clipboard.readText()") == code


@needs_chromium
def test_every_code_block_gets_one_copy_button(open_page):
    tab = open_page(NOTEBOOK)
    blocks = tab.locator(".input_area pre, .highlight pre, pre.highlight").count()
    assert blocks > 10 and tab.locator("button.copy-button").count() == blocks


@needs_chromium
def test_heading_anchors_show_on_hover_and_focus(open_page):
    tab = open_page(NOTEBOOK)
    heading = tab.locator(".post-content h1#training-and-validation-data")
    anchor = heading.locator("a.heading-anchor")
    assert anchor.get_attribute("href") == "#training-and-validation-data"
    opacity = "el => getComputedStyle(el).opacity"
    assert anchor.evaluate(opacity) == "0"
    heading.hover()
    assert anchor.evaluate(opacity) == "1"
    tab.mouse.move(0, 0)
    anchor.focus()
    assert anchor.evaluate(opacity) == "1"


# Previous and next posts


def post_at(root: Path, name: str, text: str) -> Path:
    folder = root / ("_pages" if name.startswith("about") else "_posts")
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(text)
    return folder / name


def three_posts_a_hidden_one_and_a_page(tmp_path: Path) -> Path:
    root = site(tmp_path)
    for day, title in [("01", "First"), ("02", "Second"), ("04", "Fourth")]:
        markdown_post(root, f"---\ntitle: {title}\n---\nText.", name=f"2020-01-{day}-{title.lower()}.md")
    markdown_post(root, "---\ntitle: Hidden\nhide: true\n---\nText.", name="2020-01-03-hidden.md")
    post_at(root, "about.md", "---\ntitle: About\n---\nA page.")
    return root


def read_all(root: Path):
    return [read_post(p, False) for p in sorted((root / "_posts").glob("*.md")) + [root / "_pages" / "about.md"]]


def test_neighbours_follow_the_index_skipping_hidden_posts_and_pages(tmp_path):
    posts = read_all(three_posts_a_hidden_one_and_a_page(tmp_path))
    found = neighbours(listed(posts))
    around = {p.path.stem: found.get(p.path) for p in posts}
    assert around["2020-01-02-second"] == Neighbours(Link("First", "/2020/01/01/first.html"),
                                                     Link("Fourth", "/2020/01/04/fourth.html"))  # fmt: skip
    assert around["2020-01-01-first"].older is None and around["2020-01-04-fourth"].newer is None
    assert around["2020-01-03-hidden"] is None and around["about"] is None


class NoLiquid:
    "These posts have no Liquid tags: their text renders as it is."

    def render(self, text, *context):
        return text


def test_post_page_links_its_previous_and_next_posts(tmp_path):
    root = three_posts_a_hidden_one_and_a_page(tmp_path)
    posts, config = read_all(root), load_config(root)
    second = next(p for p in posts if p.title == "Second")
    around = neighbours(listed(posts))[second.path]
    html = render_post(second, config, page_env(config), None, NoLiquid, around)["2020/01/02/second.html"].decode()
    assert re.search(r'<a class="post-nav-older" href="/2020/01/01/first.html" rel="prev">.*First</a>', html)
    assert re.search(r'<a class="post-nav-newer" href="/2020/01/04/fourth.html" rel="next">.*Fourth</a>', html)


def test_a_new_post_changes_its_neighbours_cached_page(tmp_path):
    root = three_posts_a_hidden_one_and_a_page(tmp_path)
    built(root, cache=tmp_path / "cache")
    assert 'rel="next"' not in page(root, "2020/01/04/fourth.html")
    assert 'class="post-nav"' not in page(root, "2020/01/03/hidden.html")
    markdown_post(root, "---\ntitle: Fifth\n---\nText.", name="2020-01-05-fifth.md")
    built(root, cache=tmp_path / "cache")
    assert 'href="/2020/01/05/fifth.html" rel="next"' in page(root, "2020/01/04/fourth.html")


# Reading time


def test_reading_time_counts_prose_and_code_but_not_outputs():
    prose = "<p>" + "word " * 300 + "</p>"
    code = "<pre>" + '<span class="n">f</span><span class="p">(</span>x)\n' * 100 + "</pre>"  # `f(x)`: one word
    output = '<div class="output_wrapper"><div class="output"><pre>' + "out " * 5000 + "</pre></div></div>"
    assert reading_minutes(prose + code + output) == 2  # 400 words at 200 a minute
    assert reading_minutes("<p>Hi</p>") == 1


def test_post_header_shows_its_reading_time(tmp_path):
    root = site(tmp_path)
    markdown_post(root, "---\ntitle: Long\n---\n" + "word " * 1000)
    built(root)
    header = page(root, "2020/01/02/note.html").split('<header class="post-header">')[1].split("</header>")[0]
    assert '<span class="reading-time" data-pagefind-ignore>5 min read</span>' in header


# Print


@needs_chromium
def test_print_shows_the_post_alone_with_code_wrapped_and_unfolded(open_page):
    tab = open_page(NOTEBOOK, viewport={"width": 600, "height": 800})
    tab.emulate_media(media="print")
    for selector in (".site-header", ".site-footer", ".badges", ".copy-button", ".theme-toggle", ".post-nav"):
        assert tab.locator(selector).evaluate_all("els => els.every(el => !el.checkVisibility())"), selector
    assert tab.locator(".post-content").is_visible() and tab.locator("details.code-fold pre").first.is_visible()
    overflowing = tab.eval_on_selector_all("pre", "els => els.filter(el => el.scrollWidth > el.clientWidth).length")
    assert overflowing == 0


# Accessibility


@needs_chromium
@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("path", PAGES)
def test_axe_finds_no_violations(open_page, path, scheme):
    from axe_playwright_python.sync_playwright import Axe

    tab = open_page(path, color_scheme=scheme)
    if path == "/search.html":  # the results too, not only the empty form
        tab.fill(".pagefind-ui__search-input", "broadcasting")
        tab.locator(".pagefind-ui__result-link").first.wait_for()
    tab.evaluate("new Promise((done) => requestIdleCallback(done))")  # after site.js's idle work on wide <pre>s
    results = Axe().run(tab)
    assert results.violations_count == 0, json.dumps(
        [(v["id"], [n["target"] for n in v["nodes"]][:5]) for v in results.response["violations"]], indent=1
    )


# JavaScript off


@needs_chromium
def test_without_javascript_a_post_shows_fully(open_page):
    tab = open_page(NOTEBOOK, java_script_enabled=False)
    assert tab.locator("nav.toc a").count() >= 5 and tab.locator("nav.toc").is_visible()
    assert tab.locator(".post-content .cell").count() > 10
    assert tab.locator(".copy-button, .heading-anchor").count() == 0 and not tab.locator(".theme-toggle").is_visible()


@needs_chromium
def test_without_javascript_collapsed_code_opens_on_click(open_page):
    tab = open_page(NOTEBOOK, java_script_enabled=False)
    fold = tab.locator("details.code-fold").first
    assert not fold.locator("pre").first.is_visible()
    fold.locator("summary").click()
    assert fold.locator("pre").first.is_visible()


@needs_chromium
@pytest.mark.parametrize("scheme, colour", [("dark", DARK_BG), ("light", LIGHT_BG)])
def test_without_javascript_the_theme_follows_the_system(open_page, scheme, colour):
    tab = open_page(NOTEBOOK, java_script_enabled=False, color_scheme=scheme)
    assert tab.evaluate("document.documentElement.dataset.theme") is None  # evaluate runs; page scripts do not
    assert background(tab) == colour
