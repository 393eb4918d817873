"""The one place that turns URLs into files of the site, and keeps every write inside it.

A permalink comes from a post, so it is untrusted: it may not climb out with `..`, name another
host or scheme, use backslashes or control characters. `SiteFiles` collects every file the build
writes and refuses two sources writing one path, or a file where another source needs a folder.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from urllib.parse import unquote

from lib.blog.cache import digest_of
from lib.blog.errors import BuildError

SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
# Control characters and the characters Windows cannot store would make a path mean different
# things on different machines.
UNSAFE = re.compile(r'[\x00-\x1f\x7f\\<>:"|?*]')


def check_url(url: str, source: Path | str, cell: int | None = None) -> str:
    "A post's URL, checked: site-relative, no `..`, scheme, `//` or backslash."
    why = url_fault(url)
    if why:
        raise BuildError(source, f"permalink {url!r} {why}", cell)
    return url


def url_fault(url: str) -> str:
    "What is wrong with `url` as a path inside the site ('' when nothing is)."
    if not isinstance(url, str) or not url.strip("/"):
        return "is empty"
    if SCHEME.match(url) or url.startswith("//"):
        return "names another site; a permalink is a path inside this one, like /about/"
    if UNSAFE.search(url):
        return 'has a backslash, a control character or one of <>:"|?*'
    parts = url.strip("/").split("/")
    if any(p in ("", ".", "..") for p in parts):
        return "has an empty, '.' or '..' segment"
    return ""


def is_remote(url: str) -> bool:
    "Whether a link points at another host: a scheme with `//`, or a protocol-relative `//host/...`."
    return url.startswith("//") or bool(re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", url))


def url_to_file(url: str, ext: str = "") -> str:
    """The file a URL is served from, as Jekyll writes it: `/a/` is a/index.html, `/a` is a.html (a.xml when `ext`,
    the page's output extension, is .xml; with none, the URL's own or .html), and `/caf%C3%A9` is café.html."""
    name = unquote(url).strip("/")
    if url.endswith("/"):
        return (name + "/index.html").lstrip("/")
    ext = ext or PurePosixPath(name).suffix or ".html"
    return name if name.endswith(ext) else name + ext


def inside(folder: Path, rel: str) -> Path:
    """`folder/rel`, refused unless it stays inside `folder`. The check is on the text: `folder` is new and
    holds only what the build made (no links), so a path with no `..`, `.`, empty or absolute part stays in."""
    if url_fault("/" + rel) or rel.startswith("/"):
        raise BuildError(rel, f"would be written outside {folder}")
    return folder / rel


def real_paths(paths: list[Path]) -> dict[Path, Path]:
    """Each path with every link resolved, as `Path.resolve` gives it, resolving each folder once: a thousand
    posts share two folders, and resolving costs a system call per part of a path."""
    folders: dict[Path, Path] = {}
    found = {}
    for path in paths:
        if path.is_symlink():
            found[path] = path.resolve()
            continue
        if path.parent not in folders:
            folders[path.parent] = path.parent.resolve()
        found[path] = folders[path.parent] / path.name
    return found


def folders_of(rel: str) -> list[str]:
    "The folders a site path needs, deepest first: `a/b/c.html` needs `a/b` and `a` (string work: pathlib is slow)."
    parts = rel.split("/")[:-1]
    return ["/".join(parts[:i]) for i in range(len(parts), 0, -1)]


class SiteFiles(dict):
    "Site path -> bytes, with the source that wrote each path, so a collision can name both."

    def __init__(self):
        super().__init__()
        self.owner: dict[str, str] = {}
        self.folders: dict[str, str] = {}
        self.shared: set[str] = set()

    def add(self, files: dict[str, bytes], owner: str, shared: set[str] = frozenset()) -> None:
        "Add one source's files. Repository files (`shared`) may be written by several sources."
        for rel, data in files.items():
            self._check(rel, data, owner, rel in shared)
            self[rel], self.owner[rel] = data, owner
            self.shared |= {rel} if rel in shared else set()
            for parent in folders_of(rel):
                self.folders.setdefault(parent, owner)

    def _check(self, rel: str, data: bytes, owner: str, shared: bool) -> None:
        if why := url_fault("/" + rel):
            raise BuildError(owner, f"would write {rel!r}, which {why}")
        if rel in self.owner and not (shared and rel in self.shared and digest_of(self[rel]) == digest_of(data)):
            raise BuildError(owner, f"writes {rel}, which {self.owner[rel]} writes too")
        if rel in self.folders:
            raise BuildError(owner, f"writes a file {rel}, where {self.folders[rel]} needs a folder of that name")
        for parent in folders_of(rel):
            if parent in self.owner:
                clash = self.owner[parent]
                raise BuildError(owner, f"needs a folder {parent}, where {clash} writes a file of that name")
