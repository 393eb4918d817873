"""The whole pipeline in one loop: files -> posts -> render -> write.

Unchanged posts are not rendered again: each rendered post is cached under a key
made of its source bytes, the site config and the builder's own code and templates.
"""

from __future__ import annotations

import errno
import gc
import hashlib
import json
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from lib.blog.audit import audit, loads_of, own_leaks, secrets
from lib.blog.cache import Cache, ReadCache, Stored, read_json, store, write_atomic
from lib.blog.config import Site, load_config
from lib.blog.errors import BuildError, blame, odd, read_bytes
from lib.blog.feeds import atom_feed, sitemap
from lib.blog.jekyll import load_data
from lib.blog.nbfile import notebook_node
from lib.blog.pages import (
    listed,
    navigation,
    own_pages,
    redirect_pages,
    render_site_pages,
    vendor_files,
    vendored_of,
)
from lib.blog.paths import SiteFiles, check_url, real_paths, url_fault
from lib.blog.pdf import chromium, print_posts
from lib.blog.read import Post, post_fields, post_from_fields, read_post, source_files, static_files
from lib.blog.render import ALONE, neighbours, page_env, render_post, warm
from lib.blog.shape import fits, is_digest
from lib.blog.workers import remove_left_temp_folders
from lib.blog.write import locked, write_site

BUILDER = Path(__file__).parent


_builder: str | None = None  # the builder's hash, once this process worked it out


def builder_hash(memo: Path | None = None) -> str:
    """Changes whenever the builder's code or templates change, so cached pages never outlive them. Once per
    process: the code a process runs is the code it imported (`make serve` restarts to pick up new code).
    `memo`: a JSON file that keeps each file's hash beside its size and mtime, so that a build reads only the
    files that changed, and not the 10 MB of vendored JavaScript every time."""
    global _builder
    if _builder is None:
        kept = read_json(memo) if memo else None
        now = builder_files(kept if isinstance(kept, dict) else {})
        if memo and now != kept:
            try:
                write_atomic(memo, json.dumps(now, sort_keys=True).encode())
            except OSError:
                pass  # the memo only saves time: a read-only cache folder must not fail the build
        _builder = hashlib.sha256(json.dumps([(rel, digest) for rel, (_, digest) in now.items()]).encode()).hexdigest()
    return _builder


def builder_files(kept: dict) -> dict[str, list]:
    "Each of the builder's files: [[size, mtime], sha256], the sha256 as `kept` has it while size and mtime agree."
    now = {}
    for path in sorted(p for p in BUILDER.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        rel, st = path.relative_to(BUILDER).as_posix(), path.stat()
        stamp, old = [st.st_size, st.st_mtime_ns], kept.get(rel)
        same = fits(old, tuple[list, str]) and old[0] == stamp and is_digest(old[1])
        now[rel] = [stamp, old[1] if same else hashlib.sha256(path.read_bytes()).hexdigest()]
    return now


def includes_digest(root: Path) -> bytes:
    "The hash of every file in the blog's `_includes/`, by name: any page may include any of them."
    h = hashlib.sha256()
    found = (Path(top, name) for top, _, names in os.walk(root / "_includes") for name in names)  # no linked folders
    for path in sorted(found):
        if path.is_file():  # not a broken link, a pipe or a device
            name = path.relative_to(root).as_posix().encode()
            h.update(name + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest().encode()


def _stat(path: Path) -> list[int] | None:
    "Size and mtime, as JSON stores them, so a cached page notices a changed linked image."
    return [s.st_size, s.st_mtime_ns] if (s := path.stat() if path.exists() else None) else None


class Renderer:
    "Renders posts, through a data-only cache when one is given."

    def __init__(self, site: Site, cache, strict: bool, urls: dict, nav: list, links: dict, around: dict):
        "`cache`: a Cache, or its folder, or None."
        cache = Cache(cache) if isinstance(cache, Path) else cache
        self.site, self.cache, self.strict, self.links = site, cache, strict, links
        self.around = around  # each post's neighbours in the index, for its previous/next links
        self.reads: ReadCache | None = None  # where source hashes are kept, when the build keeps a read cache
        self.context = None  # how worker processes start: None forks them from this process (see warm_workers)
        self.env, self._exporters, self._liquid = page_env(site, urls, nav), {}, None
        config = (site.root / "_config.yml").read_bytes() if (site.root / "_config.yml").exists() else b""
        self.data = load_data(site.root)  # Liquid's `site.data`: a page may show any of it
        config += json.dumps(self.data, sort_keys=True, default=str).encode() + includes_digest(site.root)
        # Every page's header shows the pages' links and the site pages' URLs: a change to them is a new page.
        self.salt = builder_hash().encode() + config + repr((strict, urls, nav)).encode()

    def liquid(self):
        "The Liquid environment, made when a post first needs it."
        if self._liquid is None:
            from lib.blog.jekyll import Liquid

            site = self.site
            own = {"baseurl": site.baseurl, "url": site.url, "title": site.title, "data": self.data}
            self._liquid = Liquid(site.raw | own, site.root)
        return self._liquid

    def exporter(self, kind: str):
        "nbconvert's exporter for a post or a deck, imported and built when a notebook first needs it."
        if kind not in self._exporters:
            from lib.blog.notebook import DeckExporter, PostExporter

            base, clean = self.site.baseurl.rstrip("/"), self.site.sanitize_outputs
            post, deck = kind == "post", f"{base}/assets/reveal"
            self._exporters[kind] = PostExporter(sanitize=clean) if post else DeckExporter(deck, sanitize=clean)
        return self._exporters[kind]

    def key(self, post: Post) -> str:
        # The path is part of the key: two posts with the same text still own different pages.
        # So is its neighbours' titles and URLs: a new post changes the links of the pages beside it.
        beside = repr(self.around.get(post.path, ALONE)).encode()
        source = self.source_digest(post.path).encode()
        where = f"{post.path}\0{post.file_name}".encode()  # the name of its own files too (`name_files`)
        return hashlib.sha256(self.salt + where + b"\0" + beside + b"\0" + source).hexdigest()

    def source_digest(self, path: Path) -> str:
        "The hash of a source file, kept in the read cache while the file is unchanged."
        digest = self.reads.get(path, "sha256", str) if self.reads else None
        if not is_digest(digest):
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            if self.reads:
                self.reads.put(path, "sha256", digest)
        return digest

    def cached(self, key: str, post: Post) -> tuple[dict, dict[str, bytes]] | None:
        "(meta, files) of a cache hit for `post` whose linked images are unchanged, or None."
        hit = self.cache.get(key) if self.cache else None
        if not hit or not fits(hit[0], META) or post.file not in hit[1] or not site_paths(hit[1]):
            return None  # not what `fresh` stores: corrupt, or made by hand
        if any(_stat(Path(p)) != st for p, st in hit[0]["images"].items()):
            return None
        # A page that links to another post is stale when that post's URL changed.
        return hit if all(self.links.get(Path(p)) == url for p, url in hit[0]["links"].items()) else None

    def fresh(self, post: Post) -> tuple[dict[str, bytes], dict]:
        "Render the post: (files, meta), meta being what a cache hit must restore."
        post.nb = notebook_node(post.notebook()) if post.kind == "notebook" else None
        with blame(post.path):
            files = render_post(
                post, self.site, self.env, self.exporter, self.liquid, self.around.get(post.path, ALONE), self.links
            )
        hidden, answers = secrets(post)
        post.secret_lines = sorted(hidden | answers)  # kept beside the page, for the search index's check
        for name, line in own_leaks(post, files, (hidden, answers)):  # checked here, once: the cache keeps it
            raise BuildError(post.path, f"a hidden line appears in {name}: {line!r}")
        meta = {
            "warnings": post.warnings,
            "image_url": post.image_url,
            "images": {str(p): _stat(p) for p in post.linked_images},
            "links": post.linked_posts,
            "shared": sorted(shared_files(post, files)),
            "loads": loads_of(files),
            "vendored": vendored_of(files),
            "secrets": post.secret_lines,
            "missing": post.missing_images,
        }
        return files, meta

    def render_all(self, posts: list[Post], args: tuple) -> list[tuple[dict[str, bytes], dict, bool]]:
        "(files, meta, from the cache?) of each post, in order; posts not in the cache are rendered."
        keys = {post.path: self.key(post) for post in posts}
        hits = {post.path: self.cached(keys[post.path], post) for post in posts}
        fresh = {}

        def keep(post: Post, files: dict[str, bytes], meta: dict) -> None:
            "Each rendered post goes into the cache as soon as it is done, while the workers render the next ones."
            fresh[post.path] = meta, files
            if self.cache:
                self.cache.put(keys[post.path], meta, files)

        render_many([p for p in posts if hits[p.path] is None], self, args, keep)
        results = []
        for post in posts:
            meta, files = hits[post.path] or fresh[post.path]
            post.warnings, post.image_url = list(meta["warnings"]), meta["image_url"]
            post.secret_lines, post.missing_images = meta["secrets"], list(meta["missing"])
            results.append((files, meta, hits[post.path] is not None))
        return results


# The meta of a rendered post, as `Renderer.fresh` makes it and the render cache keeps it.
META = {
    "warnings": list[str], "image_url": str, "images": dict[str, tuple[int, int] | None], "links": dict[str, str],
    "shared": list[str], "loads": dict[str, list[str]], "vendored": dict[str, list[str]], "secrets": list[str],
    "missing": list[str],
}  # fmt: skip


def site_paths(files: dict) -> bool:
    "Whether every name in `files` is a path inside the site, as a cache hit's must be."
    return not any(url_fault("/" + rel) for rel in files)


# Workers cost a start each (imports, and nbconvert's for notebooks): worth it from about three notebooks' work,
# a notebook taking as long as some forty markdown posts.
NOTEBOOK_WORK, PARALLEL_FROM = 40, 120
_worker: Renderer | None = None
_blobs: Path | None = None
_warm = None  # the forkserver's context, once started: `make serve` keeps it for every rebuild


def cores() -> int:
    return min(os.cpu_count() or 1, 4)


def parallel(notebooks: int, others: int) -> bool:
    "Whether that many posts to render are worth starting workers for."
    return cores() >= 2 and notebooks * NOTEBOOK_WORK + others >= PARALLEL_FROM


def warm_workers(root: Path, store: Cache | None):
    """For a build with no cache yet and notebooks enough for every core: a forkserver that imports nbconvert and
    compiles its templates (lib/blog/warm.py) while this process reads the sources. The workers it forks skip the
    second or more each would spend on that. None otherwise: workers then fork from this process, and warm up."""
    global _warm
    import multiprocessing

    cold = store is None or not (store.folder / Cache.LOG).exists()
    many = parallel(len(list((root / "_notebooks").glob("*.ipynb"))), 0)
    able = "forkserver" in multiprocessing.get_all_start_methods() and main_stays()
    if _warm is None and cold and many and able:
        from multiprocessing import forkserver

        from lib.blog.workers import mark_temp_folder

        _warm = multiprocessing.get_context("forkserver")
        _warm.set_forkserver_preload(["lib.blog.warm"])
        forkserver.ensure_running()
        mark_temp_folder()
    return _warm


def main_stays() -> bool:
    """Whether a forkserver's workers leave this program's main module alone. Each imports it again, as
    `__mp_main__`, unless it is a package's `__main__` (`python -m lib.blog`, `python -m pytest`) or there is none
    (`python -c`): a script that calls `build` outside an `if __name__ == "__main__"` would build again."""
    main = sys.modules.get("__main__")
    name = getattr(getattr(main, "__spec__", None), "name", None)
    return name == "__main__" or name.endswith(".__main__") if name else getattr(main, "__file__", None) is None


def render_many(posts: list[Post], renderer: Renderer, args: tuple, keep: Callable) -> None:
    """Render posts, on every core when there is enough work, and `keep(post, files, meta)` each. Each post
    renders the same wherever it runs, so the site is byte for byte the one a serial build writes."""
    notebooks = sum(p.kind == "notebook" for p in posts)
    if not parallel(notebooks, len(posts) - notebooks):
        for post in posts:
            keep(post, *renderer.fresh(post))
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    blobs = renderer.cache.folder / "blobs" if renderer.cache else None
    if renderer.context is None and "fork" in multiprocessing.get_all_start_methods():
        # Workers fork from this process, and each inherits a renderer already warm.
        keep(posts[0], *renderer.fresh(posts[0]))
        posts, fork = posts[1:], multiprocessing.get_context("fork")
        start = {"initializer": inherit_worker, "initargs": (renderer, blobs, os.getpid()), "mp_context": fork}
    else:
        start = {"initializer": start_worker, "initargs": (*args, blobs, os.getpid()), "mp_context": renderer.context}
    jobs = batches(posts)
    with frozen():
        render_in_pool(ProcessPoolExecutor(cores(), **start), jobs, keep)


def render_in_pool(pool, jobs: list[list[Post]], keep: Callable) -> None:
    "Each job's posts rendered in `pool`, and each post's files and meta given to `keep`, in the jobs' order."
    from lib.blog.workers import as_done, stop

    try:
        # Not pool.map: it queues every job at once, and cancels those still queued at the first failure. On Python
        # 3.11 the pool's thread then fails as it sees the workers killed, before it unblocks the pool's feeder
        # thread, which was halfway through sending a queued job to them: the build waited for it at exit, forever.
        done = ((i, job.result()) for i, job in as_done(pool, render_in_worker, [(batch,) for batch in jobs], cores()))
        for batch, results in zip(jobs, in_order(done), strict=True):
            for post, result in zip(batch, results, strict=True):
                keep(post, *result)
    except BaseException:
        stop(pool)
        raise
    pool.shutdown()


@contextmanager
def frozen() -> Iterator[None]:
    """Everything this process holds, left out of garbage collections while workers fork from it: a worker's
    collections would otherwise walk all it inherits, and copy each page of memory they touch."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()  # `make serve` builds again and again: what a build leaves behind must still be collected


def in_order(done: Iterable[tuple[int, object]]) -> Iterator[object]:
    """Results numbered 0, 1, 2... from `done`, which gives them as they finish, in their numbers' order: each as
    soon as all before it are there, so that the cache's log lists the posts in the same order in every build."""
    waiting, number = {}, 0
    for i, result in done:
        waiting[i] = result
        while number in waiting:
            yield waiting.pop(number)
            number += 1


def batches(posts: list[Post], jobs: int | None = None) -> list[list[Post]]:
    """The workers' jobs. Notebooks first, the long jobs, one each: a core free takes the next, and the short
    markdown posts even out the cores' loads at the end. Those go in some `jobs` jobs, at least 8 posts to a job:
    a worker waits for its next job while the build takes in the last one's pages, and for each post that costs
    more than rendering it."""
    notebooks, rest = [p for p in posts if p.kind == "notebook"], [p for p in posts if p.kind != "notebook"]
    size = max(8, -(-len(rest) // (jobs or 8 * cores())))
    return [[p] for p in notebooks] + [rest[i : i + size] for i in range(0, len(rest), size)]


def start_worker(site: Site, strict: bool, urls: dict, nav: list, links: dict, around: dict, blobs, parent) -> None:
    "`blobs`: the cache's blob folder, where the worker stores each file it renders; None without a cache."
    from lib.blog.workers import die_with_parent

    die_with_parent(parent)
    global _worker, _blobs
    _worker, _blobs = Renderer(site, None, strict, urls, nav, links, around), blobs


def inherit_worker(renderer: Renderer, blobs, parent) -> None:
    """A worker forked from the build's process renders with the renderer it inherits: its templates are compiled
    and its modules imported, as the build's process rendered a post first (a tenth of a second for each worker)."""
    from lib.blog.workers import die_with_parent

    die_with_parent(parent)
    global _worker, _blobs
    _worker, _blobs = renderer, blobs


def render_in_worker(posts: list[Post]) -> list[tuple[dict[str, bytes | Stored], dict]]:
    "Each post's files and meta; with a cache, the files are stored there, and sent back as `Stored` (no bytes)."
    return [stored(*_worker.fresh(post)) for post in posts]


def stored(files: dict[str, bytes], meta: dict) -> tuple[dict[str, bytes | Stored], dict]:
    return ({rel: store(_blobs, data) for rel, data in files.items()} if _blobs else files), meta


def feed_fields(post: Post) -> tuple:
    return post.title, post.url, str(post.date), post.summary, post.categories, post.hide, post.sticky_rank


def remembered(renderer: Renderer, name: str, inputs: list, make: Callable[[], bytes]) -> bytes:
    "`make()`, or what it made last time for the same inputs: the feed does not change with most edits."
    # The name is part of the key: with no posts, the feed's inputs and the index's are both empty.
    return remembered_files(renderer, [name, inputs], lambda: {name: make()})[name]


def remembered_files(renderer: Renderer, inputs: list, make: Callable[[], dict[str, bytes]]) -> dict[str, bytes]:
    "The files `make()` gives, or those it gave last time for the same inputs (the index, the feed)."
    key = hashlib.sha256(renderer.salt + repr(inputs).encode()).hexdigest()
    hit = renderer.cache.get(key) if renderer.cache else None
    if hit and hit[1] and site_paths(hit[1]):
        return hit[1]
    files = make()
    if renderer.cache:
        renderer.cache.put(key, {}, files)
    return files


def shared_files(post: Post, files: dict[str, bytes]) -> set[str]:
    "Repository files the post copies in (images, a linked PDF): other posts may copy the same file to the same place."
    own = f"images/{post.file_name}/"
    return {p for p in files if p in post.copied and not p.startswith(own)}


def data_memo(cache: Cache | None) -> Path | None:
    "Where data fingerprints are remembered (execute.remembered_fingerprint)."
    return memo(cache, "data-fingerprints.json")


def memo(cache: Cache | None, name: str) -> Path | None:
    "A memo file in the cache folder; none that came with a clone (git tracks it), which a build never trusts."
    path = cache.folder / name if cache else None
    return None if path and cache.ignore and path.resolve() in cache.ignore else path


def stale(post: Post, root: Path, cache: Cache | None, seen: dict | None = None) -> tuple[str, str] | None:
    """(kind, note) when a notebook's stored outputs are not vouched for: `unstamped` (never stored by
    `make execute`), `unchecked` (its data is not on this machine) or `stale` (code, lib, data or versions)."""
    if post.kind != "notebook":
        return None
    from lib.blog.execute import changed, stored_key

    if not stored_key(post.notebook()):
        return "unstamped", str(post.path.relative_to(root))
    why = changed(post.notebook(), post.path, root, memo=data_memo(cache), seen=seen)
    if any(w.startswith("data (not on this machine") for w in why):
        return "unchecked", f"{post.path.relative_to(root)} ({', '.join(why)})"
    return ("stale", f"{post.path.relative_to(root)} ({', '.join(why)} changed)") if why else None


def stale_kept(
    post: Post, root: Path, cache: Cache | None, reads: ReadCache | None, seen: dict
) -> tuple[str, str] | None:
    """`stale`, remembered beside the unchanged notebook with what else it depends on (`surroundings`): a warm
    build then reads no notebook at all. `seen`: surroundings already worked out in this build, by data folders,
    and under "modules" the lib modules looked up (execute.lib_modules)."""
    modules = seen.setdefault("modules", {})
    if post.kind != "notebook" or reads is None:
        return stale(post, root, cache, modules)
    kept, memo = reads.get(post.path, "stale", STALE_KEPT), data_memo(cache)

    def around(folders: list[str]) -> str:
        if tuple(folders) not in seen:
            seen[tuple(folders)] = surroundings(root, folders, memo, reads)
        return seen[tuple(folders)]

    if kept and (kept["verdict"] is None or kept["verdict"][0] in STALE) and kept["around"] == around(kept["folders"]):
        return tuple(kept["verdict"]) if kept["verdict"] else None
    from lib.blog.execute import blog_meta

    verdict, folders = stale(post, root, cache, modules), sorted(blog_meta(post.notebook(), "stamp", "data"))
    reads.put(post.path, "stale", {"folders": folders, "around": around(folders), "verdict": verdict})
    return verdict


def surroundings(root: Path, folders: list[str], memo: Path | None, reads: ReadCache | None = None) -> str:
    """What a notebook's stale verdict depends on besides its own file: lib's files, the package versions, its data.
    The versions are remembered in `reads` while no folder Python imports from has changed."""
    from lib.blog.execute import _fingerprint_or_none, tree_fingerprint, versions

    lib = root / "lib"
    data = {f: _fingerprint_or_none(Path(f).expanduser(), memo) for f in folders}
    found = reads.remembered("versions", package_stamp(), versions, dict[str, str]) if reads else versions()
    parts = [tree_fingerprint(lib) if lib.is_dir() else "", found, data]
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def package_stamp() -> list:
    "Changes when a package is installed, removed or upgraded: the mtime of each folder packages install into."
    import site
    import sysconfig

    paths = sysconfig.get_paths()
    folders = {*site.getsitepackages(), site.getusersitepackages(), paths["purelib"], paths["platlib"]}
    return [sys.version, *([p, os.stat(p).st_mtime_ns] for p in sorted(folders) if os.path.isdir(p))]


# A stale verdict as the read cache keeps it (`stale_kept`): what it depends on, and the verdict, (kind, note) or None.
STALE_KEPT = {"folders": list[str], "around": str, "verdict": tuple[str, str] | None}
STALE = {
    "unstamped": "{n} notebook(s) show outputs that `make execute` did not store, so nothing vouches for them: {names}",
    "unchecked": "could not check whether the outputs of {n} notebook(s) are current: {names}; run `make data`",
    "stale": "stored outputs of {n} notebook(s) are stale: {names}; run `make execute`",
}


def read_kept(path: Path, strict: bool, reads: ReadCache | None, elsewhere: dict | None = None) -> Post:
    "The post in `path`, from the read cache while the file is unchanged, or as a worker read it (`read_many`)."
    kept = post_from_fields(reads.get(path, "post", dict), path) if reads else None
    if kept is not None:
        return kept
    post = (elsewhere or {}).get(path) or read_post(path, strict)
    if reads and (found := post_fields(post)) is not None:
        reads.put(path, "post", found)
    return post


READ_TOGETHER = 200  # markdown files to read before reading them on every core pays for the workers' start


def read_many(paths: list[Path], strict: bool, meanwhile: Callable[[], None]) -> dict[Path, Post]:
    """The markdown posts in `paths` as workers forked from this process read them, while this one runs
    `meanwhile()`. A worker stops at a file it cannot read: the caller reads that one itself, in its turn,
    and so fails on the same file, with the same error, as a build reading them one by one."""
    import multiprocessing

    paths = [p for p in paths if p.suffix in (".md", ".markdown")]  # a notebook would cost as much to send back
    if len(paths) < READ_TOGETHER or cores() < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return {}
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    from lib.blog.workers import die_with_parent, stop

    start = {
        "initializer": die_with_parent,
        "initargs": (os.getpid(),),
        "mp_context": multiprocessing.get_context("fork"),
    }
    pool, size = ProcessPoolExecutor(cores(), **start), -(-len(paths) // cores())
    try:
        with frozen():
            jobs = [pool.submit(read_some, paths[i : i + size], strict) for i in range(0, len(paths), size)]
        meanwhile()
        found = {post.path: post for job in jobs for post in job.result()}
    except BrokenProcessPool:  # a worker died (out of memory, killed): the build reads every file itself
        stop(pool)
        return {}
    except BaseException:
        stop(pool)
        raise
    pool.shutdown()
    return found


def read_some(paths: list[Path], strict: bool) -> list[Post]:
    "The posts in `paths`, in a worker, up to the first file that fails to read (see `read_many`)."
    posts = []
    for path in paths:
        try:
            posts.append(read_post(path, strict))
        except Exception:  # noqa: BLE001 (the build reads it again, and reports it)
            break
    return posts


def stale_summary(posts: list[Post], root: Path, cache: Cache | None, reads: ReadCache | None = None) -> list[str]:
    "One warning line per kind of doubt, however many notebooks share it."
    found: dict[str, list[str]] = {}
    seen: dict = {}  # surroundings by data folders: lib's fingerprint once a build, not once a notebook
    for kind, note in filter(None, (stale_kept(p, root, cache, reads, seen) for p in posts)):
        found.setdefault(kind, []).append(note)
    return [STALE[kind].format(n=len(notes), names="; ".join(notes)) for kind, notes in found.items()]


def read_all(
    root: Path, site: Site, strict: bool, log, reads: ReadCache | None = None, meanwhile: Callable | None = None
) -> list[Post]:
    """Every post and page, read (or, unchanged since the last build, taken from `reads`), with its URL checked.
    `meanwhile()`: work for this process while workers read many markdown files (`read_many`)."""
    paths, skipped = source_files(root, strict)
    for warning in site.warnings + skipped:
        log(f"warning: {warning}")
    unread = [p for p in paths if not reads or post_from_fields(reads.get(p, "post", dict), p) is None]
    elsewhere = read_many(unread, strict, meanwhile or (lambda: None))
    posts = []
    for path in paths:
        with blame(path):
            post = read_kept(path, strict, reads, elsewhere)
            post.url_pattern = site.permalink
            check_url(post.url, path)
        posts.append(post)
    return name_files(one_per_url(posts, strict, log))


def one_per_url(posts: list[Post], strict: bool, log) -> list[Post]:
    """fastpages exported each notebook to `_posts/` as markdown, so a blog may hold a notebook and its old export
    at one URL: the notebook wins, as fastpages wrote it over the export. Other posts sharing a URL stay, and the
    build names both when they write the same file."""
    by_url: dict[str, list[Post]] = {}
    for post in posts:
        by_url.setdefault(post.url, []).append(post)
    dropped = set()
    for url, same in by_url.items():
        notebooks = [p for p in same if p.kind == "notebook"]
        exports = [p for p in same if p.kind == "markdown" and not p.is_page]
        if len(notebooks) == 1 and exports and len(notebooks) + len(exports) == len(same):
            names = ", ".join(str(p.path) for p in exports)
            log(f"warning: {odd(strict, names, f'has the URL {url} of {notebooks[0].path}, which is published')}")
            dropped |= {p.path for p in exports}
    return [p for p in posts if p.path not in dropped]


def name_files(posts: list[Post]) -> list[Post]:
    "Each post's `name` for its own files: its slug, or its file's stem where posts share a slug."
    slugs: dict[str, int] = {}
    for post in posts:
        slugs[post.slug] = slugs.get(post.slug, 0) + 1
    for post in posts:
        post.name = post.slug if slugs[post.slug] == 1 else post.path.stem
    return posts


def refuse_warnings(posts: list[Post]) -> None:
    "With `strict`, every post's warnings are one error, naming each file, once all posts are rendered."
    found = [(post.path, warning) for post in posts for warning in post.warnings]
    if found:
        rest = "".join(f"\n  {warning}" for _, warning in found[1:])
        more = f"; and {len(found) - 1} more with --strict:{rest}" if rest else ""
        raise BuildError(found[0][0], f"{found[0][1]} (--strict){more}")


def build(
    root: Path = Path("."),
    out: Path | None = None,
    *,
    strict: bool = False,
    search: bool | str = True,
    cache: Path | None = None,
    log: Callable[[str], None] = print,
    answers: bool = False,
    drafts: bool = False,
) -> list[Post]:
    """Build the site of `root` into `out` (default `root/_site`). Returns the posts built. `answers`: the
    teacher's copy, with every exercise's answers shown and every answer key published (`make teacher`).
    `drafts`: build posts marked `draft: true` too (`make serve`), with a banner, listed nowhere."""
    out = out or root / "_site"
    try:
        with locked(out):
            return build_locked(root, out, strict, search, cache, log, answers, drafts)
    except OSError as e:
        error = unwritable(e, out, cache)
        if error is None:
            raise
        raise error from e


def unwritable(e: OSError, out: Path, cache: Path | None) -> BuildError | None:
    """A failure to write the site's folder (or a file beside it) or the cache's, as an error saying what to do;
    None for any other failure. A read-only folder, or a file where a folder must be."""
    if e.errno not in (errno.EACCES, errno.EPERM, errno.EROFS, errno.EEXIST, errno.ENOTDIR) or not e.filename:
        return None
    where, out = Path(os.path.abspath(e.filename)), Path(os.path.abspath(out))
    cache = Path(os.path.abspath(cache)) if cache else None
    if cache and (where.is_relative_to(cache) or cache.is_relative_to(where)):
        folder, other = cache, "build with --no-cache"
    elif where.is_relative_to(out) or out.is_relative_to(where) or where.parent == out.parent:
        folder, other = (out if where.is_relative_to(out) else out.parent), "build into another folder with --out"
    else:
        return None
    blocker = next((p for p in (where, *where.parents) if os.path.lexists(p)), None)
    if e.errno in (errno.EEXIST, errno.ENOTDIR) and blocker and not blocker.is_dir():
        return BuildError(folder, f"{blocker} is a file where a folder must be; move it away, or {other}")
    return BuildError(folder, f"cannot write {where} ({e.strerror}); make the folder writable, or {other}")


def with_drafts(posts: list[Post], drafts: bool, log) -> list[Post]:
    """Drafts (`draft: true`) left out, as Quarto's `make site` does; or kept, listed nowhere (not in the
    index, the categories, the feed, the sitemap or the search), for the author to read under `make serve`."""
    found = [p for p in posts if p.draft]
    if found and not drafts:
        log(f"  left out {len(found)} draft(s): {', '.join(str(p.path) for p in found)}")
        return [p for p in posts if not p.draft]
    for post in found:
        post.hide = post.search_exclude = True
    return posts


def build_locked(
    root: Path, out: Path, strict: bool, search: bool, cache: Path | None, log, answers=False, drafts=False
):
    start = time.perf_counter()
    remove_left_temp_folders()
    site = load_config(root, strict)
    strict = strict or site.strict
    if site.pdf and not chromium():
        log("warning: _config.yml asks for PDFs (pdf: true), but Chromium was not found: no PDFs this build")
        site.pdf = False
    store = Cache(cache) if cache else None
    builder_hash(memo(store, "builder.json"))
    context = warm_workers(root, store)
    reads = ReadCache(store.folder, f"{builder_hash()} strict={strict}", store.ignore) if store else None
    found = read_all(root, site, strict, log, reads, meanwhile=lambda: warm(site))
    posts, urls = own_pages(with_drafts(found, drafts, log))
    for post in posts if answers else []:
        post.solutions = "shown"
    links = {real: post.url for post, real in zip(posts, real_paths([p.path for p in posts]).values(), strict=True)}
    args = (site, strict, urls, navigation(posts), links, neighbours(listed(posts)))
    renderer, files, cached, loads, vendored = Renderer(site, store, *args[1:]), SiteFiles(), 0, {}, {}
    renderer.salt += b"answers shown" if answers else b""
    renderer.reads, renderer.context = reads, context
    for post, (rendered, meta, hit) in zip(posts, renderer.render_all(posts, args), strict=True):
        files.add(rendered, str(post.path), set(meta["shared"]))
        loads |= meta["loads"]
        vendored |= meta["vendored"]
        for warning in post.warnings:
            log(f"warning: {warning}")
        cached += hit
        log(f"  {'cached' if hit else 'built '} {post.path.relative_to(root)} -> {post.url}")
    if strict:
        refuse_warnings(posts)
    for warning in stale_summary(posts, root, renderer.cache, reads):
        log(f"warning: {warning}")
    if reads:
        reads.save()
    pages = render_site_pages(posts, renderer.env, lambda inputs, make: remembered_files(renderer, inputs, make))
    files.add(pages, "the site's own pages", shared={p for p in pages if p.startswith("images/")})
    feed = remembered(renderer, "feed.xml", [feed_fields(p) for p in posts], lambda: atom_feed(posts, site))
    files.add({"feed.xml": feed, "sitemap.xml": sitemap(posts, site)}, "the site's feed")
    files.add(vendor_files(files, vendored), "the site's vendored libraries")
    files.add({rel: read_bytes(path) for rel, path in static_files(root).items()}, "the _pages folder")
    for post in posts:
        files.add(redirect_pages([post], site.baseurl), f"{post.path} (redirect_from)")
    if site.pdf:
        printed = print_posts(posts, files, site.baseurl, store.folder / "pdf" if store else None, log)
        files.add(printed, "the posts' PDFs (pdf: true)")

    def check(folder: Path, indexed: bool) -> None:
        warn = lambda w: log(f"warning: {w}")  # noqa: E731
        audit(posts, files, folder, site.offline, warn, known=loads, rendered=True, indexed=indexed)

    write_site(files, out, search, check, renderer.cache.blob if renderer.cache else None)
    if renderer.cache:
        renderer.cache.prune()
    took = time.perf_counter() - start
    broken = sum(len(p.missing_images) for p in posts)
    note = f"; {broken} image link(s) broken, their files missing (see the warnings)" if broken else ""
    log(f"Built {len(posts)} posts ({len(posts) - cached} rendered, {cached} cached) in {took:.2f} s{note}")
    return posts
