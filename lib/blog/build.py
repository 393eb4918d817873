"""The whole pipeline in one loop: files -> posts -> render -> write.

Unchanged posts are not rendered again: each rendered post is cached under a key
made of its source bytes, the site config and the builder's own code and templates.
"""

from __future__ import annotations

import hashlib
import pickle
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from lib.blog.config import Site, load_config
from lib.blog.errors import BuildError
from lib.blog.feeds import atom_feed, sitemap
from lib.blog.read import Post, read_post, source_files
from lib.blog.render import page_env, render_post, render_site_pages
from lib.blog.write import write_site

BUILDER = Path(__file__).parent


def builder_hash() -> str:
    "Changes whenever the builder's code or templates change, so cached pages never outlive them."
    h = hashlib.sha256()
    for path in sorted(p for p in BUILDER.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        h.update(path.relative_to(BUILDER).as_posix().encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


@dataclass
class Rendered:
    files: dict[str, bytes]
    warnings: list[str]
    images: dict[str, tuple[int, int]] = field(default_factory=dict)  # linked image -> (size, mtime)

    def fresh(self) -> bool:
        "Linked images may change without the post changing; a cached page is stale then."
        return all(_stat(Path(p)) == st for p, st in self.images.items())


def _stat(path: Path) -> tuple[int, int] | None:
    return (s.st_size, s.st_mtime_ns) if (s := path.stat() if path.exists() else None) else None


class Renderer:
    "Renders posts, through a cache folder when one is given."

    def __init__(self, site: Site, cache: Path | None, strict: bool):
        self.site, self.cache, self.strict = site, cache, strict
        self.env, self._exporters = page_env(site), {}
        config = (site.root / "_config.yml").read_bytes() if (site.root / "_config.yml").exists() else b""
        self.salt = builder_hash().encode() + config + repr(strict).encode()
        self.used: set[str] = set()

    def exporter(self, kind: str):
        "nbconvert's exporter for a post or a deck, imported and built when a notebook first needs it."
        if kind not in self._exporters:
            from lib.blog.notebook import DeckExporter, PostExporter

            base = self.site.baseurl.rstrip("/")
            self._exporters[kind] = PostExporter() if kind == "post" else DeckExporter(f"{base}/assets/reveal")
        return self._exporters[kind]

    def post(self, post: Post) -> tuple[Rendered, bool]:
        "(rendered post, whether it came from the cache)."
        # The path is part of the key: two posts with the same text still own different pages.
        key = hashlib.sha256(self.salt + str(post.path).encode() + b"\0" + post.path.read_bytes()).hexdigest()
        self.used.add(key)
        cached = self.cache / f"{key}.pickle" if self.cache else None
        if cached and cached.exists():
            hit = pickle.loads(cached.read_bytes())
            if hit.fresh():
                return hit, True
        files = render_post(post, self.site, self.env, self.exporter)
        images = {str(p): _stat(p) for p in post.linked_images}
        rendered = Rendered(files, post.warnings, images)
        if cached:
            cached.parent.mkdir(parents=True, exist_ok=True)
            cached.write_bytes(pickle.dumps(rendered))
        return rendered, False

    def prune(self) -> None:
        "Drop cache entries this build did not use, so the cache stays the size of the site."
        for path in self.cache.glob("*.pickle") if self.cache else []:
            if path.stem not in self.used:
                path.unlink()


def stale(post: Post, root: Path, cache: Path | None) -> list[str]:
    "A notebook whose stored key no longer matches its code, lib, data or versions has stale outputs."
    if post.kind != "notebook":
        return []
    from lib.blog.execute import changed, stored_key

    if not stored_key(post.nb):
        return [f"{post.path}: outputs were not stored by `make execute`, so nothing vouches for them"]
    why = changed(post.nb, post.path, root, memo=cache / "data-fingerprints.json" if cache else None)
    return [f"{post.path}: stored outputs are stale ({', '.join(why)} changed); run `make execute`"] if why else []


def check_unique_urls(posts: list[Post]) -> None:
    seen: dict[str, Post] = {}
    for post in posts:
        if post.url in seen:
            raise BuildError(post.path, f"has the same URL {post.url} as {seen[post.url].path}")
        seen[post.url] = post


def build(
    root: Path = Path("."),
    out: Path | None = None,
    *,
    strict: bool = False,
    search: bool = True,
    cache: Path | None = None,
    log: Callable[[str], None] = print,
) -> list[Post]:
    "Build the site of `root` into `out` (default `root/_site`). Returns the posts built."
    start = time.perf_counter()
    site = load_config(root)
    strict = strict or site.strict
    posts = [read_post(path, strict) for path in source_files(root)]
    check_unique_urls(posts)
    renderer, files, cached = Renderer(site, cache, strict), {}, 0
    for post in posts:
        try:
            rendered, hit = renderer.post(post)
        except Exception as e:
            raise e if isinstance(e, BuildError) else BuildError(post.path, f"{type(e).__name__}: {e}") from e
        for warning in rendered.warnings:
            if strict:
                raise BuildError(post.path, f"{warning} (--strict)")
            log(f"warning: {warning}")
        files |= rendered.files
        cached += hit
        for warning in stale(post, root, cache):
            log(f"warning: {warning}")
        log(f"  {'cached' if hit else 'built '} {post.path.relative_to(root)} -> {post.url}")
    files |= render_site_pages(posts, renderer.env)
    files |= {"feed.xml": atom_feed(posts, site), "sitemap.xml": sitemap(posts, site)}
    write_site(files, out or root / "_site", search)
    renderer.prune()
    took = time.perf_counter() - start
    log(f"Built {len(posts)} posts ({len(posts) - cached} rendered, {cached} cached) in {took:.2f} s")
    return posts
