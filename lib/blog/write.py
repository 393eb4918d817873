"""Stage 4, write: the whole site goes to a temporary folder that is swapped with the old one.

A build that fails at any point leaves the previous site as it was. On Linux the swap is one
`renameat2(RENAME_EXCHANGE)`, so `_site` never disappears, not even for a moment; elsewhere the
old folder is renamed away just before the new one takes its place. A lock file beside the output
folder keeps two builds from writing it at once.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

from lib.blog.cache import tracked
from lib.blog.errors import BuildError
from lib.blog.paths import inside
from lib.blog.workers import die_with_parent

PAGEFIND_TIMEOUT = 300  # seconds; pagefind indexes 1,000 pages in a few seconds
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


def index_search(folder: Path, output: Path | None = None) -> None:
    """Full-text search index by pagefind (its pip wheel carries the binary; no network needed), into
    `folder/pagefind`, or into `output`."""
    cmd = [sys.executable, "-m", "pagefind", "--site", str(folder), "--silent"]
    cmd += ["--output-path", str(output)] if output else []
    try:
        result = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            timeout=PAGEFIND_TIMEOUT,
            preexec_fn=partial(die_with_parent, os.getpid()),
        )
    except subprocess.TimeoutExpired:
        raise BuildError(folder, f"pagefind took over {PAGEFIND_TIMEOUT} s and was stopped") from None
    if result.returncode:
        raise BuildError(folder, f"pagefind failed: {result.stderr.strip() or result.stdout.strip()}")


def pages_digest(files: dict[str, bytes]) -> str:
    "What the search index depends on: every page's path and bytes."
    return hashlib.sha256(
        b"".join(k.encode() + b"\0" + v for k, v in sorted(files.items()) if k.endswith(".html"))
    ).hexdigest()


def reuse_or_index(tmp: Path, out: Path, files: dict[str, bytes], later: bool = False) -> bool:
    """The search index only depends on the pages: when none changed, the previous index is copied. Is it new?
    `later`: a changed site keeps the previous index for now (`make serve` builds the new one in the background)."""
    pages = pages_digest(files)
    stamp = out / "pagefind" / "pages.sha256"
    # An index that came with a clone was not built here: its scripts are not to be trusted.
    trusted = (out / "pagefind").is_dir() and not tracked(out)
    if trusted and (later or stamp.is_file() and stamp.read_text() == pages):
        shutil.copytree(out / "pagefind", tmp / "pagefind", symlinks=True, copy_function=link_or_copy)
        return False
    index_search(tmp)
    (tmp / "pagefind" / "pages.sha256").write_text(pages)
    return True


def new_index(out: Path) -> Path | None:
    """A search index of the site in `out`, made in a folder beside it (its `pagefind/`), or None when the
    site's own index is current. `make serve` makes it after the pages are served, then `put_index`."""
    html = sorted(p for p in out.rglob("*.html") if "pagefind" not in p.relative_to(out).parts)
    pages = pages_digest({p.relative_to(out).as_posix(): p.read_bytes() for p in html})
    stamp = out / "pagefind" / "pages.sha256"
    if stamp.is_file() and stamp.read_text() == pages:
        return None
    work = Path(tempfile.mkdtemp(prefix=f"{out.name}.index-", dir=out.parent))
    try:
        index_search(out, work / "pagefind")
        (work / "pagefind" / "pages.sha256").write_text(pages)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return work


def put_index(out: Path, work: Path) -> None:
    "Swap the index `new_index` made in for the site's own. Call it holding `locked(out)`."
    swap(work / "pagefind", out / "pagefind")
    shutil.rmtree(work, ignore_errors=True)


def link_or_copy(source: str, target: str) -> None:
    "A hard link is a copy that costs no writing; a file system without links gets a real copy."
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def write_files(tmp: Path, files: dict[str, bytes], blob=None) -> None:
    """Write each file; one the render cache holds (`blob(data)` gives its file) is a hard link to it,
    which is quicker than writing it again. The cache checks a blob's hash before it trusts it."""
    made: set[Path] = set()  # a thousand posts share a few dozen folders: make each once
    for rel, data in sorted(files.items()):
        path = inside(tmp, rel)
        if path.parent not in made:
            path.parent.mkdir(parents=True, exist_ok=True)
            made.add(path.parent)
        source = blob(data) if blob else None
        try:
            os.link(source, path) if source else path.write_bytes(data)
        except OSError:  # another filesystem, or links not allowed
            path.write_bytes(data)


def write_site(files: dict[str, bytes], out: Path, search: bool | str = True, check=None, blob=None) -> None:
    """Write `files` into a fresh folder, index it, run `check(folder, indexed)` on it, then swap it in.
    Call it while holding `locked(out)`. `blob`: see `write_files`. `search="later"`: see `reuse_or_index`."""
    out = out.resolve()
    remove_leftovers(out)
    tmp = Path(tempfile.mkdtemp(prefix=f"{out.name}.tmp-", dir=out.parent))
    try:
        tmp.chmod(0o755)
        write_files(tmp, files, blob)
        indexed = reuse_or_index(tmp, out, files, later=search == "later") if search else False
        if check:
            check(tmp, indexed)
        swap(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def remove_leftovers(out: Path) -> None:
    "Temporary and old folders of a build that was killed (we hold the lock, so none is in use)."
    for path in [*out.parent.glob(f"{out.name}.tmp-*"), *out.parent.glob(f"{out.name}.index-*")]:
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
