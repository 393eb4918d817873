"""The site's own pages: the index (paginated as `paginate` asks), categories, search and 404.

fastpages blogs carry `_pages/search.html`, `tags.html` and `404.html`: Liquid layouts of pages
this site makes itself. Those are not rendered; their permalinks say where this site's own search,
categories and 404 pages go, so every old address keeps working.
"""

from __future__ import annotations

import html
import os
import re
from collections import defaultdict
from pathlib import Path

import jinja2

from lib.blog.cache import content
from lib.blog.paths import url_to_file
from lib.blog.read import Post
from lib.blog.render import ASSETS, URLS, notebook_css, pygments_css, render_page, site_image

SITE_PAGES = {"search.html": "search", "tags.html": "categories", "404.html": "404"}


def own_pages(posts: list[Post]) -> tuple[list[Post], dict[str, str]]:
    "(the posts and pages to render, the URLs of the site's own pages), taking over fastpages' layouts."
    urls, kept = dict(URLS), []
    for post in posts:
        name = SITE_PAGES.get(post.path.name) if post.is_page else None
        urls[name] = post.url if name else None
        kept += [] if name else [post]
    return kept, {k: v for k, v in urls.items() if v}


REDIRECT = """<!DOCTYPE html>
<html lang="en">
<meta charset="utf-8">
<title>Redirecting…</title>
<link rel="canonical" href="{to}">
<meta http-equiv="refresh" content="0; url={to}">
<meta name="robots" content="noindex">
<h1>Redirecting…</h1>
<a href="{to}">Click here if you are not redirected.</a>
</html>
"""


def redirect_pages(posts: list[Post], baseurl: str) -> dict[str, bytes]:
    """A page at each of a post's `redirect_from` URLs that sends the reader on to the post, as the plugin
    jekyll-redirect-from wrote them, so that old links keep working."""
    pages = {}
    for post in posts:
        to = html.escape(baseurl.rstrip("/") + post.url)
        pages |= {url_to_file("/" + old.lstrip("/")): REDIRECT.format(to=to).encode() for old in post.redirect_from}
    return pages


def navigation(posts: list[Post]) -> list[tuple[str, str]]:
    "(title, url) of each page, for the header, as minima listed them."
    return [(p.title, p.url) for p in sorted(posts, key=lambda p: p.path.name) if p.is_page and not p.hide]


def listed(posts: list[Post]) -> list[Post]:
    "Posts for the index: hidden ones left out, sticky ones first (by rank), then newest first."
    shown = sorted((p for p in posts if not p.hide and not p.is_page), key=lambda p: (p.date, p.slug), reverse=True)
    return sorted(shown, key=lambda p: p.sticky_rank if p.sticky_rank is not None else float("inf"))


def by_category(posts: list[Post]) -> list[tuple[str, list[Post]]]:
    groups = defaultdict(list)
    for post in listed(posts):
        for c in post.categories:
            groups[c].append(post)
    return sorted(groups.items(), key=lambda kv: kv[0].lower())


def asset_files() -> list[Path]:
    "The stylesheet, icon and vendored reveal.js that every site carries; chart libraries only where used."
    return sorted(p for p in ASSETS.rglob("*") if p.is_file() and ASSETS / "vendor" not in p.parents)


def render_site_pages(posts: list[Post], env: jinja2.Environment, remember=None) -> dict[str, bytes]:
    """Index pages, categories, search and 404, plus the stylesheets and the site's preview image.
    `remember(inputs, make)` may give the listings made last time for the same posts (see build.remembered)."""
    urls = env.globals["urls"]

    def listings() -> dict[str, bytes]:
        categories = render_page(env, "categories.html", urls["categories"], title="Categories",
                                 categories=by_category(posts))  # fmt: skip
        return index_pages(posts, env) | {url_to_file(urls["categories"]): categories}

    lists = remember([listing_fields(p) for p in posts], listings) if remember else listings()
    return site_image(env.globals["site"])[1] | lists | {
        url_to_file(urls["search"]): render_page(env, "search.html", urls["search"], title="Search"),
        url_to_file(urls["404"]): render_page(env, "404.html", urls["404"], title="Page not found"),
        **{f"assets/{p.relative_to(ASSETS).as_posix()}": p.read_bytes() for p in asset_files()},
        "assets/pygments.css": pygments_css(),
    } | ({"assets/notebook.css": notebook_css()} if any(p.kind == "notebook" for p in posts) else {})  # fmt: skip


def listing_fields(post: Post) -> tuple:
    "What the index and categories pages show of a post, and what decides whether and where they list it."
    return (post.title, post.url, str(post.date), post.summary, post.categories, post.image_url, post.hide,
            post.sticky_rank, post.is_page, post.slug)  # fmt: skip


def index_pages(posts: list[Post], env: jinja2.Environment) -> dict[str, bytes]:
    "The index, split into pages of `paginate` posts at `paginate_path` (`/page2/`, ...) as jekyll-paginate did."
    site, shown = env.globals["site"], listed(posts)
    size = site.paginate if site.paginate > 0 else max(len(shown), 1)
    chunks = [shown[i : i + size] for i in range(0, len(shown), size)] or [[]]
    urls = ["/"] + [site.paginate_path.replace(":num", str(n)) for n in range(2, len(chunks) + 1)]
    files = {}
    for n, (url, chunk) in enumerate(zip(urls, chunks, strict=True)):
        newer, older = (urls[n - 1] if n else None), (urls[n + 1] if n + 1 < len(urls) else None)
        files[url_to_file(url)] = render_page(env, "index.html", url, posts=chunk, newer=newer, older=older)
    return files


VENDORED = re.compile(rb"/assets/vendor/([\w.@-]+)/")


def vendored_of(files: dict[str, bytes]) -> dict[str, list[str]]:
    "The vendored libraries each page loads: what a cache entry keeps, so a warm build need not read its pages."
    pages = ((rel, content(data)) for rel, data in files.items() if rel.endswith(".html"))
    return {rel: sorted({m.decode() for m in VENDORED.findall(data)}) for rel, data in pages}


def vendor_files(files: dict[str, bytes], known: dict[str, list[str]] | None = None) -> dict[str, bytes]:
    """The vendored libraries (assets/vendor/: chart libraries, BokehJS, 3Dmol.js, jQuery, KaTeX; 11 MB) that
    some written page loads: a site carries only those. `known`: `vendored_of` pages found when rendered."""
    known = known or {}
    found = vendored_of({rel: data for rel, data in files.items() if rel not in known})
    used = {name for names in [*known.values(), *found.values()] for name in names}
    ours = {entry.name for entry in os.scandir(ASSETS / "vendor") if entry.is_dir()}  # never a name like `..`
    folders = [ASSETS / "vendor" / name for name in sorted(used & ours)]
    return {
        f"assets/{f.relative_to(ASSETS).as_posix()}": f.read_bytes()
        for d in folders
        for f in sorted(d.rglob("*"))
        if f.is_file()
    }
