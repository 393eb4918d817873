"""Stage 3, render: nbconvert for notebook cells, Jinja for every page around them.

A rendered post is a dict of site files (path -> bytes): its HTML page plus the
images it owns. That dict is what the build caches by content hash.
"""

from __future__ import annotations

import copy
import functools
import html
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple
from urllib.parse import quote

import jinja2
from markupsafe import Markup
from pygments.formatters import HtmlFormatter

from lib.blog.cite import bibliography_file
from lib.blog.cite import resolve as resolve_citations
from lib.blog.config import Site
from lib.blog.errors import BuildError
from lib.blog.handout import STUDENT_DIR, has_exercises, student_bytes
from lib.blog.markdown import ImageAssets, lexer_for, markdown_parser, render_markdown, slugify
from lib.blog.outside import deferred
from lib.blog.paths import is_remote
from lib.blog.pdf import pdf_path
from lib.blog.read import Post
from lib.blog.xref import resolve as resolve_xrefs

TEMPLATES = Path(__file__).parent / "templates"
ASSETS = TEMPLATES / "assets"


URLS = {"categories": "/categories.html", "search": "/search.html", "404": "/404.html"}
SOCIAL = {
    "twitter": "https://twitter.com/{}", "github": "https://github.com/{}", "gitlab": "https://gitlab.com/{}",
    "linkedin": "https://www.linkedin.com/in/{}", "youtube": "https://www.youtube.com/{}",
    "facebook": "https://www.facebook.com/{}", "instagram": "https://www.instagram.com/{}",
    "telegram": "https://t.me/{}", "stackoverflow": "https://stackoverflow.com/users/{}",
}  # fmt: skip


def social_links(site: Site) -> list[tuple[str, str]]:
    "minima's `social_links` for the footer: a map of site to user name (minima 2), or a list (minima 3)."
    links = site.minima.get("social_links") or {}
    if isinstance(links, list):
        return [(str(x.get("platform", "")), str(x.get("user_url", ""))) for x in links if isinstance(x, dict)]
    return [(str(k), SOCIAL.get(k, "{}").format(v)) for k, v in links.items() if v] if isinstance(links, dict) else []


@dataclass
class Badge:
    name: str
    label: str
    url: str


def badges(post: Post, site: Site) -> list[Badge]:
    "fastpages' GitHub, Colab and Binder links for a notebook post, from _config.yml and the notebook's path."
    if post.kind != "notebook" or not post.badges or not (site.github_username and site.github_repo):
        return []
    repo, branch = f"{site.github_username}/{site.github_repo}", post.branch or site.branch
    nb_path = post.path.relative_to(site.root).as_posix()
    if answers_private(post):  # every badge opens the student notebook: the key stays off the page
        nb_path = (STUDENT_DIR / post.path.name).as_posix()
    colab_path = (STUDENT_DIR / post.path.name).as_posix() if post.colab_student else nb_path
    github_url = f"https://github.com/{repo}/blob/{branch}/{nb_path}"
    links = {
        "github": ("View on GitHub", github_url),
        "colab": ("Open in Colab", f"https://colab.research.google.com/github/{repo}/blob/{branch}/{colab_path}"),
        "binder": ("Launch Binder", f"https://mybinder.org/v2/gh/{repo}/{branch}?filepath={quote(nb_path, safe='')}"),
        "deepnote": ("Launch in Deepnote", "https://deepnote.com/launch?url=" + quote(github_url, safe="")),
    }
    off = {"github": post.hide_github_badge, "colab": post.hide_colab_badge, "binder": post.hide_binder_badge}
    on = {k: site.default_badges.get(k, k != "deepnote") and not off.get(k) for k in links}  # Deepnote: opt-in
    return [Badge(k, *v) for k, v in links.items() if on[k]]


class CompiledTemplates(jinja2.BytecodeCache):
    """Each template's compiled code, kept in memory by its name and source's checksum, for every page environment
    of the process (one a build, and `make serve` builds again and again) and for the workers that fork from it."""

    def __init__(self):
        self.code: dict[str, bytes] = {}

    def load_bytecode(self, bucket) -> None:
        if f"{bucket.key}:{bucket.checksum}" in self.code:
            bucket.bytecode_from_string(self.code[f"{bucket.key}:{bucket.checksum}"])

    def dump_bytecode(self, bucket) -> None:
        self.code[f"{bucket.key}:{bucket.checksum}"] = bucket.bytecode_to_string()


COMPILED = CompiledTemplates()


def page_env(site: Site, urls: dict | None = None, nav: list | None = None) -> jinja2.Environment:
    "Jinja for the site's pages; `urls` of its own pages (categories, search, 404) and `nav`, the header's pages."
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES / "site"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        bytecode_cache=COMPILED,
    )
    env.filters["slug"] = slugify
    # fastpages' `html_escape: {description: false}` lets summaries hold HTML; the author is trusted.
    env.filters["summary"] = lambda text: Markup(text) if site.html_escape.get("description") is False else text
    env.filters["link"] = lambda url: url if is_remote(url) else site.baseurl.rstrip("/") + url
    env.globals.update(site=site, base=site.baseurl.rstrip("/"), post=None, title="", description="")
    env.globals.update(social_image=absolute(site, site_image(site)[0]), toc=None, badges=[], stamp=None, downloads=[])
    env.globals.update(urls=urls or dict(URLS), nav=nav or [], social=social_links(site), newer=None, older=None)
    return env


def warm(site: Site) -> None:
    """Compile and import what rendering a markdown post needs, in the build's process, before workers fork from
    it: each then starts warm, and the build does it once instead of once a worker."""
    import lxml.html  # noqa: F401 (reading_minutes)

    page_env(site).get_template("post.html")  # compiled once a process: COMPILED
    markdown_parser()
    lexer_for("python")  # the fences of a notebook blog are mostly Python


def site_image(site: Site) -> tuple[str, dict[str, bytes]]:
    "The site's default preview image as a URL without the baseurl, and its file to copy into the site."
    config = site.root / "_config.yml"
    if site.image and is_remote(site.image) and site.offline:
        raise BuildError(config, f"image {site.image} is loaded from another host, and offline: true is set")
    if not site.image or is_remote(site.image):
        return site.image, {}
    assets = ImageAssets(config, site.root, "", "")
    url = assets.add("/" + site.image.lstrip("/"))
    if assets.missing or assets.refused:  # no preview image, as with none set: warned about in load_config
        return "", {}
    return url, {path: src.read_bytes() for path, src in assets.files.items()}


def render_page(env: jinja2.Environment, template: str, url: str, **context) -> bytes:
    return env.get_template(template).render(page_url=url, **context).encode()


def notebook_body(post: Post, site: Site, exporter, assets: ImageAssets, md_env: dict) -> tuple[str, dict]:
    "The post's cells as HTML, and its output images (site path -> bytes). `md_env`: markdown's, shared by the cells."
    exporter.md_env = md_env
    # No copy here: nbconvert deep-copies the notebook before its preprocessors change anything.
    body, resources = exporter.from_notebook_node(post.nb, export_resources(post, site))
    post.warnings += [f"{post.path}, {w}" for w in resources.get("warnings", [])]
    return body, {"toc": exporter.md_env.get("toc", []), **resources.get("outputs", {})}


def export_resources(post: Post, site: Site, **more) -> dict:
    "What the preprocessors and templates need to know of the post: where images go, how answers show."
    resources = {"unique_key": post.file_name, "output_files_dir": f"images/{post.file_name}", "outputs": {}}
    return resources | {"image_url": site.baseurl.rstrip("/"), "solutions": post.solutions, "source": post.path} | more


# What nbformat 4's schema allows in a markdown or raw cell; editors and converters have written more.
TEXT_CELL_KEYS = {"id", "cell_type", "metadata", "source", "attachments"}


def validate(post: Post) -> None:
    """Check the notebook against nbformat's schema. Harmless faults that Jupyter and fastpages let through
    (`outputs` in a markdown cell, metadata of the wrong type) are mended with a warning; others are errors."""
    import nbformat  # a third of a second to import: only builds that render a notebook pay it

    try:
        nbformat.validate(post.nb)
        return
    except nbformat.ValidationError as e:
        fault = e.message
    post.nb = mend(post.nb)
    try:
        nbformat.validate(post.nb)
    except nbformat.ValidationError:
        raise BuildError(post.path, f"not a valid notebook: {fault}") from None
    post.warnings.append(f"{post.path}: not a valid notebook ({fault}); mended as Jupyter would, and built")


def mend(nb):
    "The notebook less what the schema does not allow in markdown and raw cells, and metadata nbformat strips."
    from nbformat.validator import normalize

    for cell in nb.cells:
        for key in set(cell) - TEXT_CELL_KEYS if cell.cell_type in ("markdown", "raw") else ():
            del cell[key]
    return normalize(nb, strip_invalid_metadata=True)[1]


def slides(post: Post, site: Site, exporter, assets: ImageAssets) -> tuple[bytes, dict[str, bytes]]:
    """The notebook as reveal.js slides (a new slide at each heading, slide flags and speaker notes read,
    hidden cells hidden, long outputs cut: see preprocess.py), and its image files, which are the post's own."""
    exporter.md_env = md_env = markdown_env(post, site, assets)
    # The title is text, not markdown: escaped, so a title like `<img onerror=...>` stays text.
    from nbformat.v4 import new_markdown_cell

    title = new_markdown_cell(f"# {html.escape(post.title)}\n\n{html.escape(post.summary)}")
    title.id = "title"  # a fixed id: new cells get random ones, and builds must be byte-identical
    nb = copy.copy(post.nb)  # the cells list is new, the cells shared: nbconvert deep-copies what it changes
    nb.cells = [title, *post.nb.cells[1:]]
    resources = export_resources(post, site, metadata={"name": post.title})
    deck, resources = exporter.from_notebook_node(nb, resources)
    deck = references(deck, post, site, md_env, quiet=True)  # the post said what is wrong with them
    return deferred(deck).encode(), resources.get("outputs", {})


def answers_private(post: Post) -> bool:
    "A post with exercises whose answers are hidden (the default) publishes no answer key."
    return post.solutions == "hidden" and post.nb is not None and has_exercises(post.nb)


def notebook_files(post: Post, site: Site, get_exporter: Callable, assets: ImageAssets) -> dict[str, bytes]:
    """Slides and their images, the notebook itself and, with exercises, the student notebook. The notebook
    itself is the answer key: a post with exercises publishes it only when it shows its answers."""
    deck, images = slides(post, site, get_exporter("deck"), assets)
    files = {f"slides/{post.file_name}.html": deck, **images}
    if not answers_private(post):
        files[f"notebooks/{post.file_name}.ipynb"] = post.path.read_bytes()
    if has_exercises(post.nb):
        files[f"notebooks/{post.file_name}-student.ipynb"] = student_bytes(post.nb, post.path)
    return files


class Link(NamedTuple):
    title: str
    url: str


class Neighbours(NamedTuple):
    "The posts beside one in the index: `older` is listed below it (its previous post), `newer` above it."

    older: Link | None = None
    newer: Link | None = None


ALONE = Neighbours()


def neighbours(shown: list[Post]) -> dict[Path, Neighbours]:
    """Each listed post's neighbours, `shown` being the index's order (pages.listed: newest first, sticky posts
    on top; hidden posts and pages are not in it and get none). A post's page shows its neighbours' titles and
    URLs, so they must be in its cache key: a new post changes the pages beside it, whose sources did not."""
    links = [Link(p.title, p.url) for p in shown]
    return {
        p.path: Neighbours(links[i + 1] if i + 1 < len(links) else None, links[i - 1] if i else None)
        for i, p in enumerate(shown)
    }


WORDS_PER_MINUTE = 200


# What a reader does not read: cell outputs, scripts and styles.
UNREAD_PATHS = (
    './/script|.//style|.//template|.//*[contains(concat(" ", normalize-space(@class), " "), " output_wrapper ")]'
)


@functools.lru_cache(maxsize=1)
def unread():
    "UNREAD_PATHS, compiled once: evaluating the string each time took a third of `reading_minutes`."
    import lxml.etree

    return lxml.etree.XPath(UNREAD_PATHS)


def reading_minutes(body: str) -> int:
    """Minutes to read a post's HTML body at 200 words a minute, as fastpages showed it; at least 1. Prose and code
    count, outputs do not. Text is joined, not split, at tags: highlighted code is a span per token, and `f(x)` is
    one word, not four. lxml parses a notebook's page in a few milliseconds, five times quicker than HTMLParser."""
    import lxml.html  # only builds that render a post need it

    root = lxml.html.fragment_fromstring(body, create_parent="div") if body.strip() else None
    for element in unread()(root) if root is not None else []:
        element.drop_tree()  # its tail, the text after it, stays
    words = len(root.text_content().split()) if root is not None else 0
    return max(1, round(words / WORDS_PER_MINUTE))


def render_post(
    post: Post,
    site: Site,
    env: jinja2.Environment,
    get_exporter: Callable,
    liquid,
    around: Neighbours = ALONE,
    posts: dict | None = None,
) -> dict[str, bytes]:
    """Every file one post owns in the site. `get_exporter(kind)` gives nbconvert's post or deck exporter,
    `liquid()` the Liquid environment, `around` the posts beside it in the index (the caller keys its cache on
    them too). Sets `post.linked_images` (repository files copied in) and `post.image_url`."""
    repo = f"{site.github_username}/{site.github_repo}" if site.github_repo else ""
    assets = ImageAssets(post.path, site.root, site.baseurl.rstrip("/"), post.file_name, site.offline, repo)
    assets.posts = posts or {}
    page = {"title": post.title, "summary": post.summary, "description": post.summary, "url": post.url,
            "categories": post.categories, "date": post.date, "permalink": post.permalink,
            "solutions": post.solutions}  # fmt: skip
    warn, line = post.warnings.append, post.first_line
    assets.liquid = lambda text, cell=None, untrusted=False: liquid().render(
        text, page, warn, post.path, line if cell is None else 0, cell, untrusted
    )
    extra, md_env = {}, markdown_env(post, site, assets)
    if post.kind == "notebook":
        validate(post)
        body, outputs = notebook_body(post, site, get_exporter("post"), assets, md_env)
        toc = outputs.pop("toc")
        extra = notebook_files(post, site, get_exporter, assets)
    elif post.kind in ("html", "word"):
        body, outputs, toc = assets.liquid(post.text), dict(post.files), []
    else:
        body, outputs = render_markdown(markdown_parser(), assets.liquid(post.text), md_env), {}
        toc = md_env.get("toc", [])
        post.warnings += [f"{post.path}: {w}" for w in md_env.get("math_fallbacks", [])]
    body = references(body, post, site, md_env)
    body = deferred(assets.in_html(body))
    post.image_url = preview_image(post, site, assets)
    if assets.remote:
        post.warnings.append(f"{post.path}: images from other hosts: {', '.join(dict.fromkeys(assets.remote))}")
    if assets.missing:
        post.missing_images = list(dict.fromkeys(assets.missing))
        post.warnings.append(f"{post.path}: image(s) not found, left as broken links: {', '.join(post.missing_images)}")
    if assets.refused:
        where = ", ".join(dict.fromkeys(assets.refused))
        post.warnings.append(f"{post.path}: image(s) outside images/ and the post's folder, not copied: {where}")
    post.linked_images, post.linked_posts = list(assets.files.values()), dict(assets.linked)
    if md_env["citations"]:  # a cached page is stale once its bibliography changes (build.Renderer.cached)
        post.linked_images.append(md_env["citations"])
    post.copied = set(assets.files)
    files = {path: src.read_bytes() for path, src in assets.files.items()} | outputs | extra
    stamp = post.nb.metadata.get("blog", {}).get("stamp") if post.nb else None
    page = render_page(
        env, "post.html", post.url, post=post, title=post.title, description=post.summary,
        comments=comments(post, site), content=Markup(body), toc=toc if post.toc else None,
        badges=badges(post, site), stamp=stamp, social_image=absolute(site, post.image_url),
        downloads=downloads(post, extra, site.pdf), reading_minutes=reading_minutes(body), around=around,
    )  # fmt: skip
    return files | {post.file: page}


def markdown_env(post: Post, site: Site, assets: ImageAssets) -> dict:
    """What markdown's rules share while one post renders: its images, and its bibliography (`citations`; None
    where it has none, and `@name` is then text)."""
    return {"images": assets, "citations": bibliography_file(post, site)}


def references(body: str, post: Post, site: Site, md_env: dict, quiet: bool = False) -> str:
    """The post's cross-references numbered and its citations formatted, once all of its HTML is there. `quiet`:
    the slides, which the post's own page has warned about, and which need no reference list."""
    warn = (lambda message: None) if quiet else (lambda message: post.warnings.append(f"{post.path}: {message}"))
    body = resolve_xrefs(body, warn)
    if not md_env["citations"]:
        return body
    cited = [] if quiet else md_env.get("cited", [])
    return resolve_citations(body, md_env["citations"], post, site, cited, warn, listed=not quiet)


def comments(post: Post, site: Site) -> str:
    "The repository utterances keeps a post's comments in (fastpages' `comments: true`), or ''."
    return f"{site.github_username}/{site.github_repo}" if post.comments and site.github_repo else ""


def preview_image(post: Post, site: Site, assets: ImageAssets) -> str:
    """The post's `image` (or the site's) as a URL without the baseurl: a local one is copied into the
    site like any linked image; a remote one is an outside resource, refused when `offline` is set."""
    src = post.image or site.image
    if not src or not is_remote(src):
        before = len(assets.missing) + len(assets.refused)
        url = assets.add(src if src.startswith("/") else f"/{src}") if src else ""
        return "" if len(assets.missing) + len(assets.refused) > before else url[len(assets.baseurl) :]
    message = f"image {src} is loaded from another host"
    if site.offline:
        raise BuildError(post.path, f"{message}, and offline: true is set; save it under images/")
    post.warnings.append(f"{post.path}: {message}")
    return src


def absolute(site: Site, url: str) -> str:
    "A full URL for social previews, which other sites fetch."
    return url if not url or is_remote(url) else site.full_url + url


def downloads(post: Post, files: dict[str, bytes], pdf: bool = False) -> list[tuple[str, str]]:
    "(label, site path) of the post's slides, notebooks and PDF (`pdf: true`), for links under its title."
    labels = {"slides/": "Slides", "-student.ipynb": "Student notebook", ".ipynb": "Notebook with answers"}
    found = [("PDF", pdf_path(post))] if pdf and not post.is_page else []
    ours = [p for p in files if p.startswith(("slides/", "notebooks/"))]
    for path in sorted(ours, key=lambda p: (not p.startswith("slides/"), "-student" not in p)):
        found.append((next(label for key, label in labels.items() if key in path), path))
    return found


# Light code colours are the base, and what a page prints in. github-dark overrides them on screen when the
# reader's system is dark and no light theme was chosen (data-theme: base.html), or when dark was chosen. Each
# dark block first resets every token, so no light colour or weight shows where github-dark sets none.
DARK_CODE = {
    "screen and (prefers-color-scheme: dark)": ':root:not([data-theme="light"])',
    "screen": ':root[data-theme="dark"]',
}
RESET = "{ color: inherit; background-color: transparent; font-weight: inherit; font-style: inherit; border: 0 }"


def token_css(style: str, scope: str = "") -> str:
    rules = HtmlFormatter(style=style).get_token_style_defs(f"{scope} .highlight".strip())
    return "\n".join(rule.split(" /* ")[0] for rule in rules)  # without the token names in comments


def notebook_css() -> bytes:
    """assets/notebook.css, for the slides: JupyterLab's notebook styles in its light theme, from nbconvert's `lab`
    template, found where nbconvert finds it. nbconvert inlines them into every deck instead."""
    from jupyter_core.paths import jupyter_path

    for static in (Path(folder) / "lab" / "static" for folder in jupyter_path("nbconvert", "templates")):
        if (static / "index.css").is_file():
            return (static / "index.css").read_bytes() + (static / "theme-light.css").read_bytes()
    raise BuildError(Path("slides"), "nbconvert's lab template is missing: reinstall nbconvert")


def pygments_css() -> bytes:
    "assets/pygments.css: token colours only; the code's background is style.css's --code-bg, in both schemes."
    blocks = [token_css("default")]
    for media, scope in DARK_CODE.items():
        blocks.append(f"@media {media} {{\n{scope} .highlight span {RESET}\n{token_css('github-dark', scope)}\n}}")
    return ("\n".join(blocks) + "\n").encode()
