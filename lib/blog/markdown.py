"""Markdown for posts and notebook cells: markdown-it-py plus three small rules of our own.

markdown-it-py does the parsing, footnotes and `$math$` (rendered to MathML by
latex2mathml, so pages need no math CDN or script). What no library does for us,
written here by hand and kept small:

* heading ids that stay unique across all cells of one notebook, and the TOC list;
* fastpages callouts (`> Note: ...`, `> Tip:`, `> Warning:`, `> Important:`);
* local images: resolved against the post's folder, checked to stay inside the
  repository, and collected so the writer can copy them into the site.
"""

from __future__ import annotations

import html
import re
import unicodedata
from pathlib import Path
from urllib.parse import unquote, urlparse

import latex2mathml.converter
from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.dollarmath import dollarmath_plugin
from mdit_py_plugins.footnote import footnote_plugin
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

from lib.blog.errors import BuildError
from lib.blog.jekyll import link_of, twitter_card, youtube_card
from lib.blog.paths import is_remote

CALLOUTS = ("Note", "Tip", "Warning", "Important")


def slugify(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^\w]+", "-", text.lower()).strip("-") or "section"


def math_html(latex: str, options: dict) -> str:
    try:
        return latex2mathml.converter.convert(latex, display="block" if options.get("display_mode") else "inline")
    except Exception as e:  # latex2mathml raises several exception types for bad input
        raise ValueError(f"cannot render math ${latex}$: {e}") from None


def highlight_fence(code: str, lang: str, _attrs: str) -> str:
    try:
        lexer = get_lexer_by_name(lang or "text")
    except ClassNotFound:
        lexer = get_lexer_by_name("text")
    # Starting with <pre tells markdown-it to use this markup as it is.
    return f'<pre class="highlight"><code>{highlight(code, lexer, HtmlFormatter(nowrap=True))}</code></pre>'


def heading_ids(state) -> None:
    "Give each heading an id, unique within `env['slugs']`, and list it in `env['toc']`."
    env = state.env
    for i, token in enumerate(state.tokens):
        if token.type != "heading_open":
            continue
        text = "".join(t.content for t in state.tokens[i + 1].children or [] if t.type in ("text", "code_inline"))
        slug, n = slugify(text), 1
        while slug in env.setdefault("slugs", set()):
            slug, n = f"{slugify(text)}-{n}", n + 1
        env["slugs"].add(slug)
        token.attrSet("id", slug)
        env.setdefault("toc", []).append((int(token.tag[1]), slug, text))


def callouts(state) -> None:
    "fastpages' `> Note: text` becomes a blockquote with class `callout note`."
    tokens = state.tokens
    for i, token in enumerate(tokens[:-2]):
        if token.type != "blockquote_open" or tokens[i + 2].type != "inline":
            continue
        inline = tokens[i + 2]
        kind = next((k for k in CALLOUTS if inline.content.startswith(f"{k}:")), None)
        if kind and inline.children and inline.children[0].type == "text":
            token.attrSet("class", f"callout {kind.lower()}")
            inline.children[0].content = inline.children[0].content[len(kind) + 1 :].lstrip()
            label = Token("html_inline", "", 0)
            label.content = f'<strong class="callout-label">{kind}:</strong> '
            inline.children.insert(0, label)


EMBED = re.compile(r"^(youtube|twitter):\s*<?(\S+?)>?\s*$", re.I)


def embeds(state) -> None:
    """fastpages' notebook shortcuts `> youtube: URL` and `> twitter: URL` become link cards that load
    the video or post only when the reader clicks (see `jekyll.card`)."""
    tokens, out, i = state.tokens, [], 0
    while i < len(tokens):
        quote = tokens[i : i + 5]
        found = len(quote) == 5 and quote[0].type == "blockquote_open" and quote[4].type == "blockquote_close"
        m = found and quote[2].type == "inline" and EMBED.match(quote[2].content)
        if m:
            card = Token("html_block", "", 0)
            card.content = (youtube_card if m[1].lower() == "youtube" else twitter_card)(link_of(m[2])) + "\n"
            out.append(card)
            i += 5
        else:
            out.append(tokens[i])
            i += 1
    state.tokens = out


def local_images(state) -> None:
    """Resolve each image against the post's folder, and record it for copying. An image on another
    host becomes a link with a button that shows it, so the page requests nothing until the reader asks."""
    env = state.env
    for token in state.tokens:
        for i, child in enumerate(token.children or []):
            if child.type == "image":
                src = env["images"].add(child.attrGet("src") or "")
                child.attrSet("src", src)
                token.children[i] = remote_image(src, child.content) if is_remote(src) else child


def remote_image(src: str, alt: str) -> Token:
    card = Token("html_inline", "", 0)
    link, host = html.escape(src), html.escape(urlparse(src).netloc)
    label = html.escape(alt or "an image")
    card.content = (f'<span class="embed embed-image"><a href="{link}" rel="noopener">{label} (on {host})</a> '
                    f'<button type="button" class="embed-load" data-load="{link}">Show it</button></span>')  # fmt: skip
    return card


class ImageAssets:
    """Images a post links to: repository path -> site path. Only files under `images/` or the post's
    own folder may be linked: a path that reaches elsewhere (`../.env`) is an error, not a copy.

    A link into the blog's own repository on GitHub (`github.com/<repo>/raw/<branch>/images/...`) is the
    local file. Another remote image stays remote, listed in `remote` (an error when `offline`)."""

    def __init__(self, source: Path, root: Path, baseurl: str, slug: str, offline: bool = False, repo: str = ""):
        self.source, self.root, self.baseurl, self.slug = source, root.resolve(), baseurl, slug
        self.allowed = (self.root / "images", source.parent.resolve(), self.root / "_notebooks")
        self.offline, self.repo = offline, repo
        self.files: dict[str, Path] = {}
        self.remote: list[str] = []

    def add(self, src: str) -> str:
        src = self.own_repository(src)
        if is_remote(src):
            return self.outside(src)
        url = urlparse(src)
        if url.scheme or not url.path:
            return src  # data: URIs and the like
        path = self.resolve(url.path)
        if not any(path.is_relative_to(folder) for folder in self.allowed):
            raise BuildError(self.source, f"image path {src} is outside images/ and the post's folder")
        if not path.is_file():
            raise BuildError(self.source, f"image {src} not found (looked for {path})")
        site_path = f"images/{path.relative_to(self.root)}".replace("images/images/", "images/")
        self.files[site_path] = path
        return f"{self.baseurl}/{site_path}"

    def resolve(self, path: str) -> Path:
        """A link's file: `/x` from the repository root (after the baseurl, which fastpages links carry),
        else beside the post; `/images/copied_from_nb/x` is `_notebooks/x`, as fastpages copied it."""
        if self.baseurl and (path + "/").startswith(self.baseurl + "/"):
            path = path[len(self.baseurl) :] or "/"
        found = (self.root / path.lstrip("/")) if path.startswith("/") else self.source.parent / path
        copied = path.lstrip("/").removeprefix("images/copied_from_nb/")
        if not found.exists() and copied != path.lstrip("/"):
            found = self.root / "_notebooks" / copied  # fastpages copied _notebooks/ folders there
        return Path(unquote(str(found))).resolve()

    def own_repository(self, src: str) -> str:
        "`/images/x.png` for a link to the blog's own images/ on GitHub, else `src` unchanged."
        if not self.repo:
            return src
        repo = re.escape(self.repo)
        github = rf"https?://github\.com/{repo}/(?:raw|blob)/[^/]+/(images/.+?)(?:\?raw=true)?$"
        raw = rf"https?://raw\.githubusercontent\.com/{repo}/[^/]+/(images/.+)$"
        for pattern in (github, raw):
            if m := re.match(pattern, src, re.I):
                return "/" + m[1]
        return src

    def outside(self, src: str) -> str:
        if self.offline:
            raise BuildError(self.source, f"image {src} is loaded from another host, and offline: true is set")
        self.remote.append(src)
        return src


def markdown_parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": True, "highlight": highlight_fence})
    md.enable(["table", "strikethrough"])
    md.use(footnote_plugin).use(dollarmath_plugin, renderer=math_html, allow_space=True, double_inline=False)
    md.core.ruler.push("heading_ids", heading_ids)
    md.core.ruler.push("callouts", callouts)
    md.core.ruler.push("embeds", embeds)
    md.core.ruler.push("local_images", local_images)
    return md


def render_markdown(md: MarkdownIt, text: str, env: dict, where: str = "") -> str:
    try:
        return md.render(text, env)
    except ValueError as e:
        raise BuildError(env["images"].source, f"{where}{e}") from None
