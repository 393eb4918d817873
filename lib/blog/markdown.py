"""Markdown for posts and notebook cells: markdown-it-py plus three small rules of our own.

markdown-it-py does the parsing, footnotes and `$math$` (rendered to MathML by
latex2mathml, so pages need no math CDN or script; what it cannot convert, KaTeX
renders in the browser, from the site's own copy). What no library does for us,
written here by hand and kept small:

* heading ids that stay unique across all cells of one notebook, and the TOC list;
* fastpages callouts (`> Note: ...`, `> Tip:`, `> Warning:`, `> Important:`);
* local images: resolved against the post's folder, checked to stay inside the
  repository, and collected so the writer can copy them into the site.
"""

from __future__ import annotations

import functools
import html
import posixpath
import re
import unicodedata
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote, urlparse

from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

from lib.blog.errors import BuildError
from lib.blog.jekyll import image_card, link_of, twitter_card, youtube_card
from lib.blog.paths import is_remote

if TYPE_CHECKING:  # markdown-it is imported by the first parser a build makes: a warm build renders no markdown
    from markdown_it import MarkdownIt
    from markdown_it.token import Token

CALLOUTS = ("Note", "Tip", "Warning", "Important")


def slugify(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^\w]+", "-", text.lower()).strip("-") or "section"


# KaTeX, vendored by `make vendor` under templates/assets/ and loaded by post.html only on a page that has
# math left to it (an element of class MATH_FALLBACK). The four places (here, the Makefile, post.html and the
# slides template) name the same version.
KATEX = "vendor/katex@0.19.1"
MATH_FALLBACK = "math-tex"
# latex2mathml shows a command it does not know as its name in italics (`<mi>\bbox</mi>`), no error.
UNKNOWN_COMMAND = re.compile(r"<m[ion]\b[^>]*>(\\[A-Za-z]+)</m[ion]>")
# MathJax's own commands, which neither converter knows: an extension loader (both have \cancel and the
# like without it), and a label for \eqref, whose equations fastpages' pages did not number.
MATHJAX_ONLY = re.compile(r"\\(?:require|label)\{[^}]*\}")
# Inside raw HTML: `$$x$$`, or `$x$` that opens and closes against non-space, as pandoc reads it (`$5 or $6`
# stays text). `\$` is a dollar sign.
HTML_MATH = re.compile(r"(?<!\\)\$\$(.+?)(?<!\\)\$\$|(?<![\\$])\$(?![\s$])(.+?)(?<![\s\\])\$(?!\d)", re.S)
# Parts of raw HTML that are not text to look for math in: tags, comments, code.
EQUATION = re.compile(r"eq-[\w-]*\w")
HTML_SKIP = re.compile(r"<!--.*?-->|<(pre|code|script|style|textarea)\b.*?</\1\s*>|<[^>]*>", re.S | re.I)


@functools.lru_cache(maxsize=4096)
def mathml(latex: str, display: bool) -> str:
    "latex2mathml's MathML for `latex`; ValueError where it fails or would show a command it lacks as text."
    import latex2mathml.converter  # a tenth of a second to import: only pages with math pay it

    try:
        out = latex2mathml.converter.convert(latex, display="block" if display else "inline")
    except Exception as e:  # latex2mathml raises several exception types for bad input
        raise ValueError(f"{type(e).__name__} {e}".strip()) from None
    if unknown := UNKNOWN_COMMAND.search(out):
        raise ValueError(f"unknown command {unknown[1]}")
    return out


def math_html(latex: str, display: bool, env: dict) -> str:
    """MathML for `latex`. What latex2mathml cannot convert stays TeX, in an element that KaTeX renders in the
    reader's browser, so no math fails a build; `env["math_fallbacks"]` says which."""
    latex = MATHJAX_ONLY.sub("", latex).strip()
    try:
        return mathml(latex, display)
    except ValueError as e:
        shown = latex if len(latex) <= 60 else latex[:57] + "..."
        what = f"math ${shown}$" if latex else "empty math"
        env.setdefault("math_fallbacks", []).append(f"{what} rendered in the browser by KaTeX (latex2mathml: {e})")
        tag = "div" if display else "span"
        return f'<{tag} class="{MATH_FALLBACK}">{html.escape(latex)}</{tag}>'


def render_math(self, tokens: list[Token], idx: int, options, env: dict) -> str:
    """dollarmath's tokens as MathML. Only `$$` on lines of its own is displayed: kramdown shows `$$x$$`
    inside a paragraph inline, as fastpages' readers saw it. A label (`$$x$$ (eq1)`) becomes the id."""
    token = tokens[idx]
    if token.type in ("math_inline", "math_inline_double"):
        return f'<span class="math inline">{math_html(token.content, False, env)}</span>'
    math = math_html(token.content, True, env)
    if not token.info:
        return f'<div class="math block">\n{math}\n</div>\n'
    label = html.escape(token.info)
    if EQUATION.fullmatch(token.info):  # Quarto's `{#eq-x}`: numbered by the post's pass (xref.resolve)
        number = f'<span class="eq-number"><span class="xref-number" data-for="{label}"></span></span>'
        return f'<div id="{label}" class="math block equation" data-xref>\n{math}\n{number}\n</div>\n'
    anchor = f'<a href="#{label}" class="mathlabel" title="Permalink to this equation">¶</a>'
    return f'<div id="{label}" class="math block">\n{anchor}\n{math}\n</div>\n'


def interrupting(rule: Callable) -> Callable:
    """dollarmath's block rule, made able to end a paragraph: kramdown and Jupyter start display math at a
    `$$` line even right under text. The rule ignores `silent` (which a paragraph's check for its end
    passes), so the check runs it for real and takes back what it added."""

    def check(state, start: int, end: int, silent: bool) -> bool:
        if not silent:
            return rule(state, start, end, silent)
        count, line = len(state.tokens), state.line
        found = rule(state, start, end, False)
        del state.tokens[count:]
        state.line = line
        return found

    return check


def html_math(state) -> None:
    """`$x$` inside raw HTML blocks (`<ul><li>$x$</li></ul>`) as MathML too. markdown-it leaves an HTML block
    as written (CommonMark parses nothing in it), but Jupyter's MathJax typesets math anywhere on the page,
    so notebooks, and fastpages posts made from them, put math in HTML lists and tables."""
    for token in state.tokens:
        if token.type == "html_block" and "$" in token.content:
            token.content = math_in_html(token.content, state.env)


def math_in_html(text: str, env: dict) -> str:
    "`text` with the math in its text parts (not in tags, comments or code) as MathML."
    parts, last = [], 0
    for skip in HTML_SKIP.finditer(text):
        parts += [math_in_text(text[last : skip.start()], env), skip[0]]
        last = skip.end()
    return "".join(parts) + math_in_text(text[last:], env)


def math_in_text(text: str, env: dict) -> str:
    def render(m: re.Match) -> str:
        return math_html(html.unescape(m[1] or m[2]), bool(m[1]), env)

    return HTML_MATH.sub(render, text) if "$" in text else text


def use_math(md: MarkdownIt) -> MarkdownIt:
    "`$math$` as MathML in `md`, with kramdown's ways: `$$x$$` inline, `$$` under text, math in raw HTML."
    from mdit_py_plugins.dollarmath import dollarmath_plugin
    from mdit_py_plugins.dollarmath.index import math_block_dollar

    md.use(dollarmath_plugin, allow_space=True, double_inline=True)
    block = math_block_dollar(True, lambda label: re.sub(r"\s+", "-", label), True)
    md.block.ruler.at("math_block", interrupting(block), {"alt": ["paragraph", "reference", "blockquote", "list"]})
    for kind in ("math_inline", "math_inline_double", "math_block", "math_block_label"):
        md.add_render_rule(kind, render_math)
    md.core.ruler.push("html_math", html_math)
    return md


@functools.lru_cache(maxsize=64)
def lexer_for(lang: str):
    "Pygments' lexer for a fence's language, made once per build: finding and building one costs half a millisecond."
    try:
        return get_lexer_by_name(lang or "text")
    except ClassNotFound:
        return get_lexer_by_name("text")


@functools.lru_cache(maxsize=1)
def formatter() -> HtmlFormatter:
    "One formatter for every fence: making one builds its whole stylesheet, which nowrap output never uses."
    return HtmlFormatter(nowrap=True)


def highlight_fence(code: str, lang: str, _attrs: str) -> str:
    # Starting with <pre tells markdown-it to use this markup as it is.
    if lang.strip().lower() in ("mermaid", "{mermaid}"):  # a diagram: the site's Mermaid draws it (post.html)
        return f'<pre class="mermaid">{html.escape(code)}</pre>'
    return f'<pre class="highlight"><code>{highlight(code, lexer_for(lang), formatter())}</code></pre>'


def heading_ids(state) -> None:
    "Give each heading an id, unique within `env['slugs']`, and list it in `env['toc']`."
    env = state.env
    for i, token in enumerate(state.tokens):
        if token.type != "heading_open":
            continue
        text = "".join(t.content for t in state.tokens[i + 1].children or [] if t.type in ("text", "code_inline"))
        slug, n = token.attrGet("id") or slugify(text), 1  # a label (`{#sec-x}`) is the id as written
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
            inline.children.insert(0, html_token("html_inline", f'<strong class="callout-label">{kind}:</strong> '))


RAW_REF = re.compile(
    r"""(<(?:img|source|video|audio|iframe|embed)\b[^>]*?\ssrc=|<a\b[^>]*?\shref=)(["'])([^"']+)\2""", re.I
)
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
            card = (youtube_card if m[1].lower() == "youtube" else twitter_card)(link_of(m[2])) + "\n"
            out.append(html_token("html_block", card))
            i += 5
        else:
            out.append(tokens[i])
            i += 1
    state.tokens = out


def source_links(state) -> None:
    """A link to another post's source (`../_notebooks/2021-08-20-x.ipynb`, `2021-08-21-y.md`) works in
    Jupyter and on GitHub; on the site it becomes that post's URL, under the baseurl. A link to another file of
    the repository (`/docs/paper.pdf`) copies it into the site, as Jekyll did."""
    assets = state.env["images"]
    for token in state.tokens:
        for child in token.children or []:
            href = child.attrGet("href") or "" if child.type == "link_open" else ""
            if url := href and (assets.post_link(href) or assets.file_link(href)):
                child.attrSet("href", url)


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
    return html_token("html_inline", image_card(src, alt))


def html_token(kind: str, content: str) -> Token:
    "A token of raw HTML (`html_inline` or `html_block`), or of `text`, that a core rule puts in the stream."
    from markdown_it.token import Token

    token = Token(kind, "", 0)
    token.content = content
    return token


# A link to one of these is to a page (or a post's source, see `post_link`), never a file to copy.
PAGE_SUFFIXES = {".html", ".htm", ".md", ".markdown", ".ipynb", ".docx"}
# What Jekyll leaves out of a site by default, besides `_` and `.` names.
NOT_PUBLISHED = {"Gemfile", "Gemfile.lock", "node_modules", "vendor"}


class ImageAssets:
    """Images a post links to: repository path -> site path. Only files under `images/` or the post's
    own folder may be linked: a path that reaches elsewhere (`../.env`) is an error, not a copy.

    A link into the blog's own repository on GitHub (`github.com/<repo>/raw/<branch>/images/...`) is the
    local file. Another remote image stays remote, listed in `remote` (an error when `offline`)."""

    def __init__(self, source: Path, root: Path, baseurl: str, slug: str, offline: bool = False, repo: str = ""):
        self.source, self._root, self.baseurl, self.slug = source, root, baseurl, slug
        self.offline, self.repo = offline, repo
        self.files: dict[str, Path] = {}
        self.remote: list[str] = []
        self.missing: list[str] = []  # linked files that are not there: left as written, as Jekyll left them
        self.refused: list[str] = []  # links out of images/ and the post's folder: left as written, not copied
        self.posts: dict[Path, str] = {}  # every post's source -> URL, for links between posts
        self.linked: dict[str, str] = {}  # the sources this post links to -> their URLs, for the cache
        self.cells: dict[tuple, str] = {}  # a notebook's markdown cells as its page shows them, for its slides
        self.code: dict[tuple, str] = {}  # and its code cells highlighted

    # Resolved when a post first links to a file: each resolve is a system call per part of the path, and
    # most posts link to none.
    @functools.cached_property
    def root(self) -> Path:
        return self._root.resolve()

    @functools.cached_property
    def allowed(self) -> tuple[Path, ...]:
        return self.root / "images", self.source.parent.resolve(), self.root / "_notebooks"

    def post_link(self, href: str) -> str | None:
        "The site URL of the post whose source `href` names, or None."
        url = urlparse(href)
        if url.scheme or url.netloc or not url.path.endswith((".ipynb", ".md", ".markdown", ".docx")):
            return None
        path = self.resolve(url.path)
        if path not in self.posts:
            return None
        self.linked[str(path)] = self.posts[path]
        return f"{self.baseurl}{self.posts[path]}" + (f"#{url.fragment}" if url.fragment else "")

    def add(self, src: str) -> str:
        src = self.own_repository(src)
        if is_remote(src):
            return self.outside(src)
        url = urlparse(src)
        if url.scheme or not url.path:
            return src  # data: URIs and the like
        path = self.resolve(url.path)
        if not any(path.is_relative_to(folder) for folder in self.allowed):
            self.refused.append(src)
            return src
        if not path.is_file():
            self.missing.append(src)
            return src
        site_path = f"images/{path.relative_to(self.root)}".replace("images/images/", "images/")
        self.files[site_path] = path
        return f"{self.baseurl}/{site_path}"

    def resolve(self, path: str) -> Path:
        """A link's file: `/x` from the repository root (after the baseurl, which fastpages links carry),
        else beside the post; `/images/copied_from_nb/x` is `_notebooks/x`, as fastpages copied it."""
        if self.baseurl and (path + "/").startswith(self.baseurl + "/"):
            path = path[len(self.baseurl) :] or "/"
        if path.startswith("/"):
            path = "/" + posixpath.normpath(path).lstrip("/")  # as a browser reads `/../images/a.png`: /images/a.png
        found = (self.root / path.lstrip("/")) if path.startswith("/") else self.source.parent / path
        copied = path.lstrip("/").removeprefix("images/copied_from_nb/")
        if not found.exists() and copied != path.lstrip("/"):
            found = self.root / "_notebooks" / copied  # fastpages copied _notebooks/ folders there
        return Path(unquote(str(found))).resolve()

    def file_link(self, href: str) -> str | None:
        """The site URL of a repository file a link names (`/docs/paper.pdf`), copied into the site at the same
        path, as Jekyll copied every file outside `_` and `.` folders; None for anything else (a page's URL)."""
        url = urlparse(href)
        suffix = PurePosixPath(url.path).suffix.lower()
        if url.scheme or url.netloc or href.startswith("#") or not suffix or suffix in PAGE_SUFFIXES:
            return None
        path = self.resolve(url.path)
        rel = path.relative_to(self.root).parts if path.is_relative_to(self.root) else ()
        if not rel or rel[0] in NOT_PUBLISHED or any(p.startswith((".", "_")) for p in rel) or not path.is_file():
            return None
        site_path = "/".join(rel)
        self.files[site_path] = path
        return (
            f"{self.baseurl}/{quote(site_path)}"
            + (f"?{url.query}" if url.query else "")
            + (f"#{url.fragment}" if url.fragment else "")
        )

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

    def in_html(self, html_text: str) -> str:
        """Raw HTML's `src`s, and links into images/ (a PDF, a page for an iframe): files of the repository
        are copied like markdown images. A reference that is not such a file is left as it is."""
        return RAW_REF.sub(lambda m: m[1] + m[2] + self.quietly(m[3], m[1].endswith("href=")) + m[2], html_text)

    def quietly(self, ref: str, link: bool) -> str:
        url = urlparse(ref)
        if url.scheme or not url.path or ref.startswith(("#", "//")):
            return ref
        if link and "images/" not in url.path:
            return self.file_link(ref) or ref
        missing, refused = len(self.missing), len(self.refused)
        found = self.add(ref)
        del self.missing[missing:], self.refused[refused:]  # not every reference in raw HTML is meant as a file
        return found

    def outside(self, src: str) -> str:
        if self.offline:
            raise BuildError(self.source, f"image {src} is loaded from another host, and offline: true is set")
        self.remote.append(src)
        return src


@functools.lru_cache(maxsize=1)
def markdown_parser() -> MarkdownIt:
    "One parser per process: building one compiles its rules, and rendering keeps no state in it."
    from markdown_it import MarkdownIt
    from mdit_py_plugins.footnote import footnote_plugin

    from lib.blog.quarto import quarto_blocks, use_quarto
    from lib.blog.xref import block_labels, heading_labels, references_rule

    md = MarkdownIt("commonmark", {"html": True, "highlight": highlight_fence})
    md.enable(["table", "strikethrough"])
    use_quarto(use_math(md.use(footnote_plugin)))
    md.core.ruler.push("quarto_blocks", quarto_blocks)  # before heading_ids: a tab's label is no heading
    md.core.ruler.push("heading_labels", heading_labels)  # before heading_ids: `{#sec-x}` names the heading
    md.core.ruler.push("heading_ids", heading_ids)
    md.core.ruler.push("callouts", callouts)
    md.core.ruler.push("embeds", embeds)
    md.core.ruler.push("local_images", local_images)
    md.core.ruler.push("source_links", source_links)
    md.core.ruler.push("block_labels", block_labels)  # after local_images: a figure's image is resolved
    md.core.ruler.push("xref_references", references_rule)
    return md


def render_markdown(md: MarkdownIt, text: str, env: dict, where: str = "") -> str:
    from lib.blog.xref import quarto_source

    env["where"] = where
    try:
        return md.render(quarto_source(text), env)
    except ValueError as e:
        raise BuildError(env["images"].source, f"{where}{e}") from None
