"""`pdf: true` in `_config.yml`: every post printed to `_site/pdf/<slug>.pdf`, for readers who print and for handouts.

Chromium prints each post's own page, with the site's print stylesheet, from the site as it is about to be
written: the pages are served from memory on 127.0.0.1 under the baseurl, and every request to another
host is refused, so a PDF holds what the page shows offline. A PDF is kept in the build's cache under the
hash of its page and stylesheet, so a warm build prints nothing again. Off by default; where Chromium
(or Playwright) is missing, the build says so once and publishes no PDF links, and nothing else changes.
"""

from __future__ import annotations

import functools
import hashlib
import mimetypes
import os
import shutil
import threading
from pathlib import Path

from lib.blog.cache import digest_of
from lib.blog.errors import BuildError

PRINT_TIMEOUT = 30_000  # milliseconds a page may take to load and print
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run", "--disable-sync"]


def chromium() -> str | None:
    "Chromium's path: $CHROMIUM, else the first of chromium, chromium-browser and google-chrome on the PATH."
    found = os.environ.get("CHROMIUM") or next(
        (p for name in ("chromium", "chromium-browser", "google-chrome") if (p := shutil.which(name))), None
    )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return None
    return found if found and Path(found).exists() else None


def pdf_path(post) -> str:
    return f"pdf/{post.file_name}.pdf"


def serving(files: dict[str, bytes], baseurl: str):
    "A server of `files` (site path -> bytes) under `baseurl`, on a free port of 127.0.0.1."
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer  # a build without PDFs never needs it

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            path = self.path.split("?")[0].split("#")[0]
            rel = path[len(baseurl) :].lstrip("/") if path.startswith(baseurl + "/") or not baseurl else None
            rel = rel + "index.html" if rel is not None and (rel == "" or rel.endswith("/")) else rel
            body = data_of(files[rel]) if rel in files else None
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Type", mimetypes.guess_type(rel or "")[0] or "application/octet-stream")
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def key_of(post, files: dict) -> str:
    "The page and the stylesheets it prints with: a cached PDF is reused while none of them changed."
    parts = [digest_of(files[name]) for name in (post.file, "assets/style.css", "assets/pygments.css") if name in files]
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def data_of(value) -> bytes:
    "A site file's bytes: the render cache hands some over unread (cache.Stored)."
    return value.read() if hasattr(value, "read") else value


def print_posts(posts: list, files: dict[str, bytes], baseurl: str, cache: Path | None, log) -> dict[str, bytes]:
    "Each post's PDF (site path -> bytes): from the cache where its page is unchanged, else printed now."
    wanted = [p for p in posts if not p.is_page and p.file in files]
    found, todo = {}, []
    for post in wanted:
        kept = cache / f"{key_of(post, files)}.pdf" if cache else None
        if kept and kept.is_file():
            found[pdf_path(post)] = kept.read_bytes()
        else:
            todo.append(post)
    if todo:
        printed = print_pages(todo, files, baseurl.rstrip("/"))
        for post in todo:
            found[pdf_path(post)] = printed[post.file]
            if cache:
                cache.mkdir(parents=True, exist_ok=True)
                (cache / f"{key_of(post, files)}.pdf").write_bytes(printed[post.file])
        log(f"  printed {len(todo)} post(s) to PDF")
    return found


def print_pages(posts: list, files: dict[str, bytes], baseurl: str) -> dict[str, bytes]:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    server = serving(files, baseurl)
    site = f"http://127.0.0.1:{server.server_port}"
    printed = {}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium(), args=ARGS)
            page = browser.new_page()
            page.route("**/*", functools.partial(only_from, site))
            page.emulate_media(media="print")
            page.set_default_timeout(PRINT_TIMEOUT)
            margin = dict.fromkeys(("top", "bottom", "left", "right"), "16mm")
            for post in posts:
                try:
                    page.goto(site + baseurl + post.url, wait_until="load")
                    printed[post.file] = page.pdf(format="A4", print_background=True, margin=margin)
                except PlaywrightError as e:  # a page whose script never lets it finish loading
                    raise BuildError(
                        post.path, f"Chromium could not print its page: {e.message.splitlines()[0]}"
                    ) from None
            browser.close()
    finally:
        server.shutdown()
        server.server_close()
    return printed


def only_from(site: str, route) -> None:
    "The site's own files load; anything from another host is refused, as offline."
    route.continue_() if route.request.url.startswith(site + "/") else route.abort()
