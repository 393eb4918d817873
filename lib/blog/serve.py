"""`python -m lib.blog serve`: serve `_site` and rebuild it whenever a source changes.

A failed build leaves the last good `_site` in place and puts its error on every page, so the writer
sees it in the browser instead of a stale page that looks fine. Only files inside `_site` are ever
served: no folder listings (they would show hidden posts) and no symlinks that lead out of the site.
"""

from __future__ import annotations

import functools
import html
import io
import os
import re
import shutil
import sys
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from lib.blog.build import build
from lib.blog.config import load_config
from lib.blog.errors import BuildError

# Every source a build reads: posts, pages, Word posts, images, includes, data and the config.
WATCHED = ("_notebooks", "_posts", "_pages", "_word", "images", "_includes", "_data", "_config.yml")
HTML = "text/html; charset=utf-8"
BODY_TAG = re.compile(rb"<body\b[^>]*>", re.IGNORECASE)
BANNER = (
    '<div id="build-error" role="alert" style="position:fixed;top:0;left:0;right:0;z-index:2147483647;'
    "margin:0;padding:.75em 1em;background:#b00020;color:#fff;font:14px/1.4 monospace;white-space:pre-wrap;"
    'max-height:50vh;overflow:auto">Build failed:\n{}</div>'
)
ERROR_PAGE = b'<!DOCTYPE html><html><head><meta charset="utf-8"><title>Build failed</title></head><body></body></html>'


@dataclass
class Status:
    "What the rebuild loop tells the request handlers, which run in other threads."

    error: str | None = None  # the last build's error; None once a build succeeds
    baseurl: str = ""
    building: threading.Lock = field(default_factory=threading.Lock)  # a build, or swapping a new index in
    generation: int = 0  # builds so far: an index made for an older one is dropped
    indexed: dict[str, str] | None = None  # the pages (site path -> sha256) the site's full search index holds
    ids: dict[str, str] = field(default_factory=dict)  # each page's id in that index, by its URL (search.index_ids)
    pages: dict = field(default_factory=dict)  # what search.site_pages saw of each page, so it reads only new ones


def with_banner(page: bytes, error: str) -> bytes:
    "`page` with the error banner right after <body>, or first when the page has no <body> tag."
    banner = BANNER.format(html.escape(error)).encode()
    match = BODY_TAG.search(page)
    at = match.end() if match else 0
    return page[:at] + banner + page[at:]


def inside(root: str, path: str) -> str | None:
    "`path` with every symlink followed, or None when that leads out of `root`."
    real, top = os.path.realpath(path), os.path.realpath(root)
    return real if os.path.commonpath([real, top]) == top else None


def site_file(root: str, path: str) -> str | None:
    "The real path of the file to serve for `path`, or None. A folder serves its index.html, never a listing."
    real = inside(root, path)
    if real and os.path.isdir(real):
        real = inside(root, os.path.join(real, "index.html"))
    return real if real and os.path.isfile(real) else None


class SiteHandler(SimpleHTTPRequestHandler):
    "Serves the files of the site under its baseurl, with the site's own 404 page and the build's error."

    def __init__(self, *args, status: Status, **kwargs):
        self.status = status  # set first: the base class handles the whole request inside __init__
        super().__init__(*args, **kwargs)

    def translate_path(self, path: str) -> str:
        base = self.status.baseurl
        if base and path.startswith(base):
            path = path[len(base) :] or "/"
        target = super().translate_path(path)
        # `/codespaces` is served from codespaces.html, as GitHub Pages serves Jekyll's extensionless permalinks.
        return target + ".html" if not os.path.exists(target) and os.path.isfile(target + ".html") else target

    def send_head(self):
        if self.status.error and not os.path.isdir(self.directory):
            return self.send_body(HTTPStatus.SERVICE_UNAVAILABLE, HTML, ERROR_PAGE)
        target = self.translate_path(self.path)
        path = site_file(self.directory, target)
        if path is None:
            self.send_error(HTTPStatus.NOT_FOUND)
            return None
        if os.path.isdir(target) and not urllib.parse.urlsplit(self.path).path.endswith("/"):
            return self.redirect_to_folder()
        try:
            body = Path(path).read_bytes()
        except OSError:  # a rebuild swapped the site away between the check and the read
            self.send_error(HTTPStatus.NOT_FOUND)
            return None
        return self.send_body(HTTPStatus.OK, self.guess_type(path), body)

    def redirect_to_folder(self) -> None:
        # Relative links in a folder's index.html only work from the URL with the trailing slash.
        parts = urllib.parse.urlsplit(self.path)
        self.send_response(HTTPStatus.MOVED_PERMANENTLY)
        self.send_header("Location", urllib.parse.urlunsplit(parts._replace(path=parts.path + "/")))
        self.send_header("Content-Length", "0")
        self.end_headers()

    def send_body(self, code: int, ctype: str, body: bytes) -> io.BytesIO:
        "Send the headers of `body` and return it for do_GET to copy; HTML gets the error banner."
        error = self.status.error
        if error and ctype.startswith("text/html"):
            body = with_banner(body, error)
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        # Any rebuild may change a page or add or clear its banner, so the browser must not reuse it unasked.
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        return io.BytesIO(body)

    def send_error(self, code, message=None, explain=None) -> None:
        page = site_file(self.directory, os.path.join(self.directory, "404.html")) if code == 404 else None
        try:
            body = Path(page).read_bytes() if page else None
        except OSError:
            body = None
        if body is None:
            return super().send_error(code, message, explain)
        sent = self.send_body(code, HTML, body)
        if self.command != "HEAD":
            self.wfile.write(sent.getvalue())


def baseurl(root: Path, old: str) -> str:
    "The config's baseurl, or `old` while the config cannot be read (the build reports why)."
    try:
        return load_config(root).baseurl.rstrip("/")
    except Exception:
        return old


def rebuild(args, status: Status) -> None:
    """Build once. No failure, however unexpected, may stop the server: it is shown instead, until a build succeeds.
    The pages come first; a changed site keeps its previous search index until `index_behind` has the new one."""
    try:
        with status.building:
            status.generation += 1
            posts = build(args.root, args.out, strict=args.strict, search="later" if args.search else False,
                          cache=args.cache, drafts=True)  # fmt: skip
        status.error = None
        if args.search:
            threading.Thread(target=index_behind, args=(args, status, posts, status.generation), daemon=True).start()
    except BuildError as e:
        status.error = str(e)
    except Exception as e:  # a bug in the builder: the writer can still fix the source, or read the last site
        status.error = f"{type(e).__name__}: {e}"
    status.baseurl = baseurl(args.root, status.baseurl)
    if status.error:
        print(f"error: {status.error}", file=sys.stderr, flush=True)


def index_behind(args, status: Status, posts: list, generation: int) -> None:
    """The search index of the site just built, made while the site is already served, and checked for hidden
    lines before it is used. First a delta of the pages changed since the full index (search.py), in a fraction
    of a second; then the full index, which takes seconds. A newer build makes either moot: its own follows."""
    from lib.blog.search import index_ids, site_pages, stamp
    from lib.blog.write import index_beside, indexed_for

    out = (args.out or args.root / "_site").resolve()
    work = None
    try:
        # pagefind reads the site as served; a build swapping it meanwhile moots this index
        now = site_pages(out, status.pages)
        current = indexed_for(out, pages := stamp(now))
        if status.indexed is not None and not current:
            put_delta(out, status, posts, generation, now)
        work = None if current else index_beside(out, pages)
        checked(posts, out, work / "pagefind" if work else None)
        # The ids of the index's pages, read from its fragments unless the last full index was of these pages.
        ids = index_ids(work / "pagefind" if work else out / "pagefind") if now != status.indexed else status.ids
        with status.building:
            if generation == status.generation:
                if work:
                    put(out, work / "pagefind", out / "pagefind")
                    print("search index updated", file=sys.stderr, flush=True)
                status.indexed, status.ids = now, ids
    except (BuildError, OSError) as e:
        if generation == status.generation:  # a newer build may have cleared our folder away: moot, not an error
            status.error = str(e)
            print(f"error: {status.error}", file=sys.stderr, flush=True)
    finally:
        if work:
            shutil.rmtree(work, ignore_errors=True)


def put_delta(out: Path, status: Status, posts: list, generation: int, now: dict[str, str]) -> None:
    "The delta index of the pages changed since the full index, checked, in place of the site's last one."
    from lib.blog.search import DELTA, delta_index

    work = delta_index(out, status.indexed, now, status.ids)
    try:
        checked(posts, out, work / DELTA)
        with status.building:
            if generation == status.generation and (out / "pagefind").is_dir():
                put(out, work / DELTA, out / "pagefind" / DELTA)
                print("search index updated (the pages changed since the full index)", file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def checked(posts: list, out: Path, index: Path | None) -> None:
    "A new index (None: none) must hold no hidden line of a post that its page does not show."
    from lib.blog.audit import index_leaks

    for post, name, line in index_leaks(posts, out, index) if index else []:
        raise BuildError(post.path, f"a hidden line appears in {name}: {line!r}")


def put(out: Path, new: Path, old: Path) -> None:
    "Swap the index `new` in for `old`, holding the site's lock (a build from the command line may be writing)."
    from lib.blog.write import locked, swap

    with locked(out):
        swap(new, old)


def start(out: Path, host: str, port: int, status: Status) -> ThreadingHTTPServer:
    "Serve `out` by its path, not an open handle: each build swaps a new folder in under the same name."
    handler = functools.partial(SiteHandler, directory=str(out), status=status)
    server = ThreadingHTTPServer((host, port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def watched(root: Path) -> list[Path]:
    return [root / p for p in WATCHED if (root / p).exists()] + [Path(__file__).parent / "templates"]


def changes_in(root: Path) -> Iterator[set[str]]:
    """The names of the files changed, for each batch of changes to the sources. A watched folder made or removed
    while serving (a first `_includes/`) is a change too: the watch starts again with it, checked every second."""
    from watchfiles import watch  # only the server needs it

    while True:
        paths = watched(root)
        for changes in watch(*paths, rust_timeout=1000, yield_on_timeout=True):
            if (now := watched(root)) != paths:
                yield {p.name for p in set(now) ^ set(paths)}
                break
            if changes:
                yield {Path(p).name for _, p in changes}


def serve(args) -> int:
    "Build, serve and rebuild on changes; with `--no-build`, serve a site built before (the teacher's) as it is."
    status, out = Status(), (args.out or args.root / "_site").resolve()
    if args.no_build:
        status.baseurl = baseurl(args.root, "")
        if not (out / "index.html").is_file():
            raise BuildError(out, "holds no built site to serve (for the teacher's site: run `make teacher` first)")
    else:
        rebuild(args, status)
    server = start(out, args.host, args.port, status)
    print(f"Serving {out} on http://{args.host}:{server.server_port}{status.baseurl}/ (Ctrl-C to stop)", flush=True)
    try:
        if args.no_build:
            threading.Event().wait()
        for names in changes_in(args.root):
            print(f"changed: {', '.join(sorted(names))}; rebuilding", flush=True)
            rebuild(args, status)
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
        server.server_close()
    return 0
