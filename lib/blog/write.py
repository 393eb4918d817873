"""Stage 4, write: the whole site goes to a temporary folder that is swapped with the old one.

A build that fails at any point leaves the previous site as it was. On Linux the swap is one
`renameat2(RENAME_EXCHANGE)`, so `_site` never disappears, not even for a moment; elsewhere the
old folder is renamed away just before the new one takes its place. A lock file beside the output
folder keeps two builds from writing it at once.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import secrets
import shutil
import stat
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from lib.blog.cache import Stored, content, digest_of, tracked
from lib.blog.errors import BuildError
from lib.blog.paths import folders_of, inside
from lib.blog.search import UNSEARCHED, no_delta, run_pagefind, stamp

LIBC = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True) if sys.platform == "linux" else None

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; builds there are not guarded against each other
    fcntl = None


@contextmanager
def locked(out: Path) -> Iterator[None]:
    "Hold `<out>.lock` for the whole build; a second build at the same time stops with a clear message."
    out.parent.mkdir(parents=True, exist_ok=True)
    lock = out.with_name(f"{out.name}.lock")
    with open(lock, "a") as f:
        try:
            if fcntl:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BuildError(out, f"another build is writing this folder (it holds {lock.name}); wait for it") from None
        yield


GLOB_SPECIAL = set("{}[]*?,!\\")


def search_glob(folder: Path) -> str:
    """The pages pagefind reads: all but the slides, which have no `data-pagefind-body` and so never make a search
    result, but which pagefind would still parse. Globs cannot leave a folder out, so the glob names the others."""
    names = sorted(os.listdir(folder))
    if any(set(name) & GLOB_SPECIAL for name in names):
        return "**/*.html"  # a name a glob cannot say plainly: read everything, as pagefind does by default
    kept = [f"{n}/**/*.html" if os.path.isdir(folder / n) else n for n in names if n not in UNSEARCHED]
    kept = [n for n in kept if n.endswith(".html")]
    return "{" + ",".join(kept) + "}" if kept else "**/*.html"


def index_search(folder: Path, output: Path | None = None) -> None:
    """Full-text search index by pagefind (its pip wheel carries the binary; no network needed), into
    `folder/pagefind`, or into `output`; with an empty delta (search.py)."""
    run_pagefind(folder, ["--glob", search_glob(folder)] + (["--output-path", str(output)] if output else []))
    no_delta(output or folder / "pagefind")


def pages_digest(files: dict[str, bytes | Stored]) -> str:
    "What the search index depends on: every page's path and bytes (by their hash, which the cache knows)."
    return stamp({k: digest_of(v) for k, v in files.items() if k.endswith(".html")})


def index_whole(tmp: Path, files: dict[str, bytes]) -> None:
    """The search index of the site in `tmp`, a fresh folder, stamped with its pages. A fresh folder is written
    only where there was no site, or one that came with a clone, whose index is not to be trusted (its scripts
    were not made here): there is no index to reuse."""
    index_search(tmp)
    (tmp / "pagefind" / "pages.sha256").write_text(pages_digest(files))


def indexed_for(out: Path, pages: str) -> bool:
    "Whether the site's own search index was made for the pages whose `pages_digest` is `pages`."
    stamp = out / "pagefind" / "pages.sha256"
    return stamp.is_file() and stamp.read_text() == pages


def index_beside(out: Path, pages: str) -> Path:
    "A search index of the site in `out`, made in a new folder beside it (its `pagefind/`), stamped with `pages`."
    work = Path(tempfile.mkdtemp(prefix=f"{out.name}.index-", dir=out.parent))
    try:
        index_search(out, work / "pagefind")
        (work / "pagefind" / "pages.sha256").write_text(pages)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return work


def link_or_copy(source: str, target: str) -> None:
    "A hard link is a copy that costs no writing; a file system without links gets a real copy."
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def put_file(path: Path, data: bytes | Stored, source: Path | None) -> None:
    "A hard link to the cache's blob `source` when there is one, else the bytes written."
    try:
        os.link(source, path, follow_symlinks=False) if source else path.write_bytes(content(data))
    except OSError:  # another filesystem, or links not allowed
        path.write_bytes(content(data))


def write_files(tmp: Path, files: dict[str, bytes], blob=None) -> None:
    """Write each file; one the render cache holds (`blob(data)` gives its file) is a hard link to it,
    which is quicker than writing it again. The cache checks a blob's hash before it trusts it."""
    made: set[Path] = set()  # a thousand posts share a few dozen folders: make each once
    for rel, data in sorted(files.items()):
        path = inside(tmp, rel)
        if path.parent not in made:
            path.parent.mkdir(parents=True, exist_ok=True)
            made.add(path.parent)
        put_file(path, data, blob(data) if blob else None)


def write_site(files: dict[str, bytes], out: Path, search: bool | str = True, check=None, blob=None) -> None:
    """Make `out` the site of `files`, with its search index, after `check(index folder, indexed)` passes.
    Call it while holding `locked(out)`. `blob`: see `write_files`. `search="later"`: a changed site keeps its
    previous index (see `update_site`), which `make serve` replaces from the background.
    A site this builder wrote before is updated in place (`update_site`); a first one, or one that came with a
    clone, is written whole into a fresh folder that is swapped in."""
    out = out.resolve()
    remove_leftovers(out)
    if out.is_dir() and not tracked(out):
        update_site(files, out, search, check, blob)
        return
    tmp = Path(tempfile.mkdtemp(prefix=f"{out.name}.tmp-", dir=out.parent))
    try:
        tmp.chmod(0o755)
        write_files(tmp, files, blob)
        if search:
            index_whole(tmp, files)
        if check:
            check(tmp, bool(search))
        swap(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


class Undo:
    """Each file an in-place update replaced or removed, kept (a hard link, or the file moved) until the build is
    done, so that a build failing halfway puts every one back and the previous site stays as it was."""

    def __init__(self, out: Path):
        self.folder = Path(tempfile.mkdtemp(prefix=f"{out.name}.undo-", dir=out.parent))
        self.done: list[tuple[Path, Path | None]] = []  # (path, its old self or None when it is new)

    def spare(self) -> Path:
        return self.folder / str(len(self.done))

    def replace(self, tmp: Path, path: Path, existed: bool) -> None:
        "Rename `tmp` over `path`, keeping the old `path`."
        spare = self.spare() if existed else None
        self.done.append((path, spare))
        if spare:
            try:
                os.link(path, spare, follow_symlinks=False)  # the old file stays, for readers, until the rename
            except OSError:
                os.replace(path, spare)
        os.replace(tmp, path)

    def remove(self, path: Path) -> None:
        "Move `path` (a file, a folder or a link) out of the site."
        spare = self.spare()
        self.done.append((path, spare))
        os.replace(path, spare)

    def made(self, folder: Path) -> None:
        self.done.append((folder, None))
        folder.mkdir()

    def roll_back(self) -> None:
        for path, spare in reversed(self.done):
            if spare and spare.exists():
                os.replace(spare, path)
            elif spare is None and path.is_dir() and not path.is_symlink():
                with suppress(OSError):
                    path.rmdir()  # a folder this update made, emptied by the steps undone before
            elif spare is None:
                path.unlink(missing_ok=True)


def site_entries(out: Path) -> dict[str, os.stat_result]:
    "Everything in the site folder now but its search index, by site path; links are listed, never followed."
    found, todo = {}, [("", str(out))]
    while todo:
        prefix, folder = todo.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                rel = prefix + entry.name
                if rel == "pagefind":
                    continue
                found[rel] = st = entry.stat(follow_symlinks=False)
                if stat.S_ISDIR(st.st_mode):
                    todo.append((rel + "/", entry.path))
    return found


def same_file(path: Path, st: os.stat_result, data: bytes, source: Path | None) -> bool:
    "Whether the file there already holds `data`: it is the cache's blob of it (one inode), or it has its bytes."
    if not stat.S_ISREG(st.st_mode) or st.st_size != len(data):
        return False
    if source is not None and (b := os.stat(source)) and (b.st_ino, b.st_dev) == (st.st_ino, st.st_dev):
        return True
    return path.read_bytes() == content(data)


def sync_files(out: Path, files: dict[str, bytes], blob, undo: Undo) -> None:
    """Write what changed into the site in `out` and take away what is gone. A new or changed file is written
    beside its place and renamed over it, so a reader (`make serve`) gets the old file or the new one, whole.
    Anything in the way that the build did not make (a link, a file where a folder goes) is moved aside first."""
    there, folders, moved = site_entries(out), {}, set()
    for rel in sorted(files):
        for parent in reversed(folders_of(rel)):
            if parent not in folders:
                folders[parent] = st = there.get(parent)
                if st is not None and not stat.S_ISDIR(st.st_mode):
                    undo.remove(out / parent)
                    there.pop(parent)
                if parent not in there:
                    undo.made(out / parent)
        path, data, st = inside(out, rel), files[rel], there.get(rel)
        if st is not None and stat.S_ISDIR(st.st_mode):
            undo.remove(path)
            moved.add(rel)
            st = None
        source = blob(data) if blob else None
        if st is not None and same_file(path, st, data, source):
            continue
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        put_file(tmp, data, source)
        undo.replace(tmp, path, existed=st is not None)
    gone = {rel for rel in there if rel not in files and rel not in folders}
    for rel in gone:  # only the topmost of what is gone: a folder goes with what it holds
        if not any(p in gone or p in moved for p in folders_of(rel)):
            undo.remove(out / rel)


def update_site(files: dict[str, bytes], out: Path, search: bool | str, check, blob) -> None:
    """`write_site` for a site this builder wrote before: only new and changed files are written (see
    `sync_files`), and a new search index is made beside the site, checked, then swapped in whole; an index still
    current is kept, less any delta (search.no_delta). Until then the replaced files wait in an undo folder: a
    build that fails puts them back."""
    undo, work = Undo(out), None
    try:
        sync_files(out, files, blob, undo)
        index = out / "pagefind"
        if not search and index.exists():
            undo.remove(index)
        current = bool(search) and indexed_for(out, pages := pages_digest(files))
        if search is True and not current:
            work = index_beside(out, pages)
        if check:
            check(work or out, work is not None)
        if work:
            swap(work / "pagefind", index)
        elif current:
            no_delta(index)
    except BaseException:
        undo.roll_back()
        raise
    finally:
        for folder in (undo.folder, work):
            if folder:
                shutil.rmtree(folder, ignore_errors=True)


def remove_leftovers(out: Path) -> None:
    "Temporary and old folders of a build that was killed (we hold the lock, so none is in use)."
    for kind in ("tmp", "index", "undo"):
        for path in out.parent.glob(f"{out.name}.{kind}-*"):
            shutil.rmtree(path, ignore_errors=True)
    shutil.rmtree(out.with_name(f"{out.name}.old"), ignore_errors=True)


def exchange(a: Path, b: Path) -> bool:
    "Swap two paths atomically (Linux renameat2 RENAME_EXCHANGE); False where the OS cannot."
    if LIBC is None or not hasattr(LIBC, "renameat2"):
        return False
    at_fdcwd, rename_exchange = -100, 2
    return LIBC.renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0


def swap(new: Path, out: Path) -> None:
    if not out.exists():
        os.replace(new, out)
    elif exchange(new, out):
        shutil.rmtree(new, ignore_errors=True)  # `new` now holds the old site
    else:
        old = out.with_name(f"{out.name}.old")
        os.replace(out, old)
        os.replace(new, out)
        shutil.rmtree(old, ignore_errors=True)
