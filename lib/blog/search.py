"""A search index of the pages changed since the last full one, so that `make serve` keeps search current.

pagefind cannot remove or replace a page in an index it wrote, and it takes seconds to index a site of a
thousand pages. So after an edit, `make serve` indexes the changed pages alone into `pagefind/delta/` (a few
hundredths of a second), and the search page merges that small index with the full one
(assets/search/pagefind.js), dropping the full index's copies of the pages it replaces and of pages deleted
since. The full index follows behind, with an empty `delta/` of its own.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from functools import partial
from pathlib import Path
from urllib.parse import unquote

from lib.blog.audit import fragments
from lib.blog.errors import BuildError
from lib.blog.workers import die_with_parent

DELTA = "delta"  # inside the index folder: swapping in a new full index takes the old delta away with it
UNSEARCHED = {"slides", "pagefind", "assets"}  # decks repeat their posts, and are most of a site's HTML
PAGEFIND_TIMEOUT = 300  # seconds; pagefind indexes 1,000 pages in a few seconds
EMPTY = {"count": 0, "hide": [], "twins": {}}


def pagefind_command() -> list[str]:
    """pagefind's binary, which its pip wheel carries; `python -m pagefind` only finds and runs it, which costs a
    Python start, a tenth of a second: most of the time a delta of one page takes."""
    try:
        from pagefind.service import _must_get_executable

        return [str(_must_get_executable())]
    except Exception:  # noqa: BLE001 (a newer pagefind may find it another way; its module still runs it)
        return [sys.executable, "-m", "pagefind"]


def run_pagefind(folder: Path, args: list[str]) -> None:
    "pagefind over the pages in `folder`; its failure is a BuildError naming the folder."
    cmd = [*pagefind_command(), "--site", str(folder), "--silent", *args]
    own = partial(die_with_parent, os.getpid())
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=PAGEFIND_TIMEOUT, preexec_fn=own)
    except subprocess.TimeoutExpired:
        raise BuildError(folder, f"pagefind took over {PAGEFIND_TIMEOUT} s and was stopped") from None
    if result.returncode:
        raise BuildError(folder, f"pagefind failed: {result.stderr.strip() or result.stdout.strip()}")


def no_delta(index: Path) -> None:
    """An empty delta in the index folder `index`, where the search page reads it (a missing one would be an error
    in its console). A new full index gets one, and so does an index found current again: a delta is made against
    the pages the full index holds, and once the site has those pages again it would bring back what they no
    longer say, or hide them."""
    try:
        if json.loads((index / DELTA / "delta.json").read_text()) == EMPTY:
            return
    except (OSError, ValueError):
        pass
    shutil.rmtree(index / DELTA, ignore_errors=True)  # a reused index's files are links: none is written through
    (index / DELTA).mkdir()
    (index / DELTA / "delta.json").write_text(json.dumps(EMPTY))


def site_pages(out: Path, seen: dict | None = None) -> dict[str, str]:
    """The sha256 of every HTML page of the site in `out` by its site path, but the search index's own. `seen`:
    each page's (inode, size, mtime, sha256) as an earlier call found them, kept up to date: a build replaces a
    page it changes (a new inode), so only new pages are read, and not the thousand that did not change."""
    seen = {} if seen is None else seen
    found = {}
    for top, folders, names in os.walk(out):
        if top == str(out):
            folders[:] = [f for f in folders if f != "pagefind"]
        for name in (n for n in names if n.endswith(".html")):
            path = os.path.join(top, name)
            st = os.stat(path, follow_symlinks=False)
            if not stat.S_ISREG(st.st_mode):
                continue  # a link or a pipe put there by hand: not the build's page, and never read (a pipe blocks)
            rel, key = Path(path).relative_to(out).as_posix(), (st.st_ino, st.st_size, st.st_mtime_ns)
            if seen.get(rel, (None,))[:3] != key:
                seen[rel] = (*key, hashlib.sha256(Path(path).read_bytes()).hexdigest())
            found[rel] = seen[rel][3]
    return found


def stamp(pages: dict[str, str]) -> str:
    "What a full search index of the HTML pages `pages` (site path -> sha256) is stamped with (`pages.sha256`)."
    return hashlib.sha256("".join(f"{k}\0{v}\n" for k, v in sorted(pages.items())).encode()).hexdigest()


def index_ids(index: Path) -> dict[str, str]:
    "Each page's URL in a pagefind index (`pagefind/`, or a delta), and its id there: its fragment's file name."
    return {unquote(record.get("url", "")): own for own, record in fragments(index)}


def searched(out: Path, rel: str) -> bool:
    """Whether the full index holds the page `rel` of the site in `out`: outside the folders it skips, and marked as
    a page's body to index. A page without the mark, indexed alone, would be indexed whole, which no full index does."""
    return rel.split("/")[0] not in UNSEARCHED and b"data-pagefind-body" in (out / rel).read_bytes()


def url_of(rel: str) -> str:
    "The URL pagefind gives the page at site path `rel`: without the baseurl, a folder's index.html as the folder."
    return "/" + (rel.removesuffix("index.html") if rel == "index.html" or rel.endswith("/index.html") else rel)


def delta_index(out: Path, indexed: dict[str, str], now: dict[str, str], ids: dict[str, str]) -> Path:
    """A delta index of the site in `out`, made in a folder beside it (its `delta/`): the pages of `now` (site path
    -> sha256) that are not those of `indexed`, the pages the full index (whose `index_ids` are `ids`) was made of.
    Its `delta.json` names the full index's pages to drop: those changed, and those gone."""
    changed = [rel for rel, digest in sorted(now.items()) if indexed.get(rel) != digest]
    gone = [rel for rel in sorted(indexed) if rel not in now]
    work = Path(tempfile.mkdtemp(prefix=f"{out.name}.index-", dir=out.parent))  # remove_leftovers clears it
    try:
        stage, delta = work / "stage", work / DELTA
        pages = [rel for rel in changed if searched(out, rel)]
        for rel in pages:
            (stage / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(out / rel, stage / rel)  # not a link: a rebuild may write the page again meanwhile
        if pages:  # pagefind fails when it finds no page to index
            run_pagefind(stage, ["--output-path", str(delta)])
            for path in delta.glob("*"):  # the full index's scripts and decoder run it: 700 kB less to keep
                if path.suffix in (".js", ".css") or path.name.startswith("wasm."):
                    path.unlink()
        else:
            delta.mkdir()
        twins = {own: ids.get(url) for url, own in index_ids(delta).items()}
        stale = {ids[url_of(rel)] for rel in changed + gone if url_of(rel) in ids}
        manifest = {"count": len(twins), "hide": sorted(stale - set(twins)), "twins": twins}
        (delta / "delta.json").write_text(json.dumps(manifest))
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return work
