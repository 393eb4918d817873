"""What the browser tests share: Debian's Chromium with the flags it needs here, and a static server for a built
site, mounted under its baseurl as GitHub Pages mounts it. The `browser` fixture is in conftest.py.

Outside CI a machine without Chromium skips the browser tests; in CI (CI=true) a missing browser is a failure.
"""

import contextlib
import functools
import os
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-quic", "--disable-gpu", "--no-first-run"]  # fmt: skip
HAS_CHROMIUM = Path(CHROMIUM).exists()
NO_CHROMIUM = "Chromium is not installed (apt-get install -y chromium)"
MISSING_IN_CI = "Chromium is missing: `apt-get install -y chromium` (.ci/run does this)"
needs_chromium = pytest.mark.skipif(not HAS_CHROMIUM, reason=NO_CHROMIUM)


def require_chromium() -> None:
    "Skip the calling test module without Chromium; in CI, fail instead."
    if not HAS_CHROMIUM:
        if os.environ.get("CI"):
            raise RuntimeError(MISSING_IN_CI)
        pytest.skip(NO_CHROMIUM, allow_module_level=True)


def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)


class Quiet(SimpleHTTPRequestHandler):
    "Serves the site under `baseurl` only (anything else is a 404, as on GitHub Pages), and logs nothing."

    baseurl = ""

    def translate_path(self, path):
        if self.baseurl and not path.startswith(self.baseurl + "/"):
            return str(Path(self.directory) / "outside-the-baseurl")
        return super().translate_path(path[len(self.baseurl) :])

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def served(folder: Path, baseurl: str = ""):
    "Serve `folder` on 127.0.0.1 under `baseurl` while the block runs; yields the site's address."
    handler = type("Mounted", (Quiet,), {"baseurl": baseurl})
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}{baseurl}"
    finally:
        server.shutdown()


def watch(page, base_url: str) -> tuple[list[str], list[str]]:
    "Start recording the page's console errors and every request that leaves the site: (errors, outside)."
    errors, outside = [], []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith((base_url, "data:")) else None)
    return errors, outside


@contextlib.contextmanager
def site_of(root: Path, tmp_path_factory, baseurl: str, search: bool = False):
    "The blog at `root` built into a temporary folder and served under `baseurl`; yields the site's address."
    from lib.blog.build import build

    out = tmp_path_factory.mktemp("site") / "_site"
    build(root, out, search=search, log=lambda _: None)
    with served(out, baseurl) as url:
        yield url
