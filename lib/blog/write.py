"""Stage 4, write: the whole site goes to a temporary folder that replaces the old one in one rename.

A build that fails at any point leaves the previous site as it was.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from lib.blog.errors import BuildError


def index_search(folder: Path) -> None:
    "Full-text search index by pagefind (its pip wheel carries the binary; no network needed)."
    cmd = [sys.executable, "-m", "pagefind", "--site", str(folder), "--silent"]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode:
        raise BuildError(folder, f"pagefind failed: {result.stderr.strip() or result.stdout.strip()}")


def reuse_or_index(tmp: Path, out: Path, files: dict[str, bytes]) -> None:
    "The search index only depends on the pages: when none changed, the previous index is copied."
    pages = hashlib.sha256(b"".join(k.encode() + b"\0" + v for k, v in sorted(files.items()) if k.endswith(".html")))
    stamp = "pagefind/pages.sha256"
    if (out / stamp).exists() and (out / stamp).read_text() == pages.hexdigest():
        shutil.copytree(out / "pagefind", tmp / "pagefind")
    else:
        index_search(tmp)
        (tmp / stamp).write_text(pages.hexdigest())


def write_site(files: dict[str, bytes], out: Path, search: bool = True) -> None:
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f"{out.name}.tmp-", dir=out.parent))
    try:
        tmp.chmod(0o755)
        for rel, data in sorted(files.items()):
            path = tmp / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        if search:
            reuse_or_index(tmp, out, files)
        swap(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def swap(new: Path, out: Path) -> None:
    old = out.with_name(f"{out.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if out.exists():
        os.replace(out, old)
    os.replace(new, out)
    shutil.rmtree(old, ignore_errors=True)
