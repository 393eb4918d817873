"""Hostile and broken input: one test per class, each asserting the exact outcome.

Every bad source stops `python -m lib.blog build` with exit 1 and one line naming the file (and
the cell), leaves the previous `_site` as it was, and writes nothing outside it.
"""

import fcntl
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest
from helpers import CONFIG, built, markdown_post, notebook, page, site, text_output
from nbformat.v4 import new_code_cell, new_markdown_cell, new_output

from lib.blog import audit, search, write
from lib.blog.build import build
from lib.blog.cli import main
from lib.blog.errors import BuildError

MD = "---\ntitle: {title}\n{extra}---\nBody text.\n"


def snapshot(folder: Path) -> dict[str, bytes]:
    "Every file under `folder` except the build's own outputs (the site and the render cache)."
    own = lambda p: any(part.startswith("_site") or part == ".cache" for part in p.relative_to(folder).parts)  # noqa: E731
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not own(p)
    }


def refused(root: Path, capsys, *expected: str, flags: list[str] = ()) -> str:
    """Build with the CLI after a good build: exit 1, one `error:` line naming what `expected` says,
    no traceback, the good `_site` unchanged and nothing new written anywhere under the test folder."""
    before, outside = snapshot(root / "_site"), snapshot(root.parent)
    assert main(["build", "--root", str(root), "--no-search", *flags]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err, err
    for text in expected:
        assert text in err, err
    assert snapshot(root / "_site") == before
    assert snapshot(root.parent) == outside
    return err


@pytest.fixture
def good(tmp_path, capsys):
    "A site that built once, so a failed build has something to keep."
    root = site(tmp_path)
    markdown_post(root, MD.format(title="Good", extra=""), name="2020-01-01-good.md")
    assert main(["build", "--root", str(root), "--no-search"]) == 0
    capsys.readouterr()
    return root


# Writes stay inside _site


@pytest.mark.parametrize(
    "permalink",
    [
        "../.venv/lib/python3.11/site-packages/zz.pth",
        "../../x.html",
        "/a/../../b.html",
        "https://evil.example/x.html",
        "//evil.example/x.html",
        "javascript:alert(1)",
        "a\\\\..\\\\b.html",
        "/a/./b.html",
        "/a//b.html",
    ],
)
def test_a_permalink_that_leaves_the_site_is_an_error(good, capsys, permalink):
    markdown_post(good, MD.format(title="Bad", extra=f"permalink: {json.dumps(permalink)}\n"), name="2020-01-02-b.md")
    refused(good, capsys, "2020-01-02-b.md: permalink")


def test_a_notebook_permalink_that_leaves_the_site_is_an_error(good, capsys):
    notebook(good, "x = 1", front_matter='# "Bad"\n- permalink: ../../zz.pth')
    refused(good, capsys, "2020-01-01-post.ipynb, cell 1: permalink '../../zz.pth' has an empty, '.' or '..' segment")


def test_two_posts_with_one_url_name_both(good, capsys):
    markdown_post(good, MD.format(title="A", extra="permalink: /same/\n"), name="2020-01-02-a.md")
    markdown_post(good, MD.format(title="B", extra="permalink: /same/\n"), name="2020-01-03-b.md")
    refused(good, capsys, "2020-01-03-b.md: writes same/index.html, which", "2020-01-02-a.md writes too")


@pytest.mark.parametrize("permalink", ["/index.html", "/feed.xml", "/assets/style.css", "/404.html"])
def test_a_post_on_a_site_file_is_an_error(good, capsys, permalink):
    markdown_post(good, MD.format(title="A", extra=f"permalink: {permalink}\n"), name="2020-01-02-a.md")
    refused(good, capsys, f"writes {permalink.lstrip('/')}, which")


def test_a_file_where_another_post_needs_a_folder_is_an_error(good, capsys):
    markdown_post(good, MD.format(title="A", extra="permalink: /notes\n"), name="2020-01-02-a.md")
    markdown_post(good, MD.format(title="B", extra="permalink: /notes.html/\n"), name="2020-01-03-b.md")
    refused(good, capsys, "2020-01-03-b.md: needs a folder notes.html, where", "2020-01-02-a.md writes a file")


def test_two_notebooks_with_one_slug_in_different_years_each_keep_their_own_files(tmp_path):
    root = site(tmp_path)
    notebook(root, "x = 1", name="2021-01-01-weekly.ipynb")
    notebook(root, "y = 2", name="2022-01-01-weekly.ipynb")
    out = built(root)
    assert ">x<" in (out / "slides/2021-01-01-weekly.html").read_text()
    assert ">y<" in (out / "slides/2022-01-01-weekly.html").read_text()
    assert not (out / "slides/weekly.html").exists()


def test_an_extensionless_permalink_is_written_as_jekyll_wrote_it(tmp_path):
    root = site(tmp_path)
    markdown_post(root, MD.format(title="About", extra="permalink: /about\n"))
    assert "Body text." in page(built(root).parent, "about.html")


# The swap and the lock


def test_site_is_never_missing_while_a_build_replaces_it(tmp_path):
    root = site(tmp_path)
    markdown_post(root, MD.format(title="Good", extra=""))
    built(root)
    gaps, done = [], threading.Event()

    def watch():
        while not done.is_set():
            if not (root / "_site" / "index.html").exists():
                gaps.append(time.monotonic())

    watcher = threading.Thread(target=watch)
    watcher.start()
    for _ in range(5):
        built(root)
    done.set()
    watcher.join()
    assert gaps == []


def test_leftovers_of_a_killed_build_are_removed(tmp_path):
    root = site(tmp_path)
    markdown_post(root, MD.format(title="Good", extra=""))
    (root / "_site.tmp-abc123").mkdir()
    (root / "_site.old").mkdir()
    (root / "_site.undo-abc123").mkdir()
    built(root)
    assert sorted(p.name for p in root.iterdir() if p.name.startswith("_site")) == ["_site", "_site.lock"]


def test_a_rebuild_rewrites_only_what_changed(tmp_path):
    root = site(tmp_path)
    markdown_post(root, MD.format(title="Kept", extra=""), name="2020-01-02-kept.md")
    edited = markdown_post(root, MD.format(title="Edited", extra=""), name="2020-01-03-edited.md")
    out = built(root, cache=root / ".cache/blog")
    before = {p.name: p.stat().st_ino for p in out.rglob("*.html")}
    edited.write_text(edited.read_text() + "One more line.\n")  # the title stays: the neighbour's links do too
    built(root, cache=root / ".cache/blog")
    after = {p.name: p.stat().st_ino for p in out.rglob("*.html")}
    assert after["edited.html"] != before["edited.html"] and "One more line" in page(root, "2020/01/03/edited.html")
    assert after["kept.html"] == before["kept.html"]  # the same file, not a copy


def test_a_rebuild_removes_the_pages_of_a_deleted_post_and_their_folders(tmp_path):
    root = site(tmp_path)
    markdown_post(root, MD.format(title="Kept", extra=""), name="2020-01-02-kept.md")
    gone = markdown_post(root, MD.format(title="Gone", extra=""), name="2021-05-06-gone.md")
    out = built(root)
    (out / "stray.txt").write_text("not made by the build")
    gone.unlink()
    built(root)
    assert not (out / "2021").exists() and not (out / "stray.txt").exists()
    assert (out / "2020/01/02/kept.html").is_file()


def test_a_link_planted_in_the_site_is_not_followed(tmp_path):
    root = site(tmp_path)
    markdown_post(root, MD.format(title="Good", extra=""))
    out = built(root)
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.rmtree(out / "2020")
    (out / "2020").symlink_to(outside, target_is_directory=True)
    (out / "index.html").unlink()
    (out / "index.html").symlink_to(tmp_path / "secret.txt")
    built(root)
    assert list(outside.iterdir()) == [] and not (tmp_path / "secret.txt").exists()
    assert not (out / "2020").is_symlink() and (out / "2020/01/02/note.html").is_file()
    assert not (out / "index.html").is_symlink()


def test_a_failed_update_puts_every_file_back(tmp_path):
    out = tmp_path / "_site"
    write.write_site({"a.html": b"old a", "old/b.html": b"old b"}, out, search=False)
    before = snapshot(out)

    def failing(folder, indexed):
        raise BuildError(folder, "a check failed")

    new = {"a.html": b"new a", "old": b"a file where a folder was", "c/d.html": b"new"}
    with pytest.raises(BuildError, match="a check failed"):
        write.write_site(new, out, search=False, check=failing)
    assert snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["_site"]  # no undo folder left behind


def test_a_second_build_at_the_same_time_stops_with_a_clear_message(good, capsys):
    with open(good / "_site.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        err = refused(good, capsys, "_site: another build is writing this folder (it holds _site.lock)")
    assert "2020-01-01-good.md" not in err  # no post is blamed


# A folder the build cannot write


def test_a_file_where_the_sites_folder_must_be_is_an_error_saying_what_to_do(good, capsys):
    (good / "blocker").write_text("not a folder")
    refused(good, capsys, f"{good}/blocker: {good}/blocker is a file where a folder must be; move it away, or "
            "build into another folder with --out", flags=["--out", str(good / "blocker/_site")])  # fmt: skip


def test_a_file_where_the_cache_must_be_is_an_error_saying_what_to_do(good, capsys):
    shutil.rmtree(good / ".cache")
    (good / ".cache").write_text("not a folder")
    refused(good, capsys, f"{good}/.cache is a file where a folder must be; move it away, or build with --no-cache")


def as_user(cmd: list[str]) -> list[str] | None:
    "`cmd` as a user who cannot write into a read-only folder: root can, unless setpriv drops that power first."
    if os.geteuid() != 0:
        return cmd
    return ["setpriv", "--bounding-set=-dac_override,-dac_read_search", *cmd] if shutil.which("setpriv") else None


READ_ONLY = {
    "the site's": ([], "{root}: cannot write {root}/_site.lock (Permission denied); make the folder writable, "
                   "or build into another folder with --out"),
    "the cache's": (["--out", "{out}"], "{root}/.cache/blog: cannot write {root}/.cache (Permission denied); "
                    "make the folder writable, or build with --no-cache"),
}  # fmt: skip


@pytest.mark.parametrize("flags, message", READ_ONLY.values(), ids=READ_ONLY.keys())
def test_a_read_only_repository_is_an_error_saying_what_to_do(tmp_path, flags, message):
    root = site(tmp_path)
    markdown_post(root, MD.format(title="Good", extra=""))
    cmd = [sys.executable, "-m", "lib.blog", "build", "--no-search", "--root", str(root)]
    cmd = as_user([*cmd, *(f.format(out=tmp_path / "out") for f in flags)])
    if cmd is None:
        pytest.skip("root writes into read-only folders, and setpriv is not here to take that away")
    root.chmod(0o555)
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    finally:
        root.chmod(0o755)
    assert (done.returncode, done.stderr) == (1, f"error: {message.format(root=root)}\n")


# The cache holds data only


def test_the_cache_holds_no_pickle_and_ignores_itself_in_git(tmp_path):
    root = site(tmp_path)
    notebook(root, "x = 1")
    built(root, cache=root / ".cache/blog")
    files = [p for p in (root / ".cache/blog").rglob("*") if p.is_file()]
    assert files and not [p for p in files if p.suffix == ".pickle" or p.read_bytes().startswith(b"\x80")]
    assert (root / ".cache/blog/.gitignore").read_text().splitlines()[-1] == "*"


def test_a_corrupt_cache_entry_is_a_miss(tmp_path):
    root = site(tmp_path)
    notebook(root, "x = 1")
    first = page(built(root, cache=root / ".cache/blog").parent)
    for path in (root / ".cache/blog").rglob("*"):
        if path.is_file() and path.name != ".gitignore":
            path.write_bytes(b"\x80garbage{")
    assert page(built(root, cache=root / ".cache/blog").parent) == first


@pytest.mark.parametrize("tampered", [b"<p>edited</p>", b"X" * 200])
def test_a_page_edited_in_the_site_is_rebuilt_not_trusted(tmp_path, tampered):
    root = site(tmp_path)
    markdown_post(root, MD.format(title="Good", extra=""))
    out = built(root, cache=root / ".cache/blog")
    first = page(root, "2020/01/02/note.html")
    time.sleep(0.05)  # file times tick in milliseconds: the edit must come after the build's own write
    with open(out / "2020/01/02/note.html", "r+b") as f:  # in place: the page shares its inode with the cache's blob
        f.write(tampered)
    built(root, cache=root / ".cache/blog")
    assert page(root, "2020/01/02/note.html") == first


def test_a_cache_entry_tracked_by_git_is_ignored(tmp_path):
    root = site(tmp_path)
    notebook(root, "x = 1")
    cache = root / ".cache/blog"
    built(root, cache=cache)
    # Forge an entry whose page says INJECTED, with matching hashes, as a committed cache would.
    log = cache / "entries.jsonl"
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    forged = b"<html><body>INJECTED</body></html>"
    digest = __import__("hashlib").sha256(forged).hexdigest()
    (cache / "blobs" / digest).write_bytes(forged)
    blob = (cache / "blobs" / digest).stat()
    for entry in entries:
        if "2020/01/01/post.html" in entry["files"]:
            entry["files"]["2020/01/01/post.html"] = digest
            entry["stats"][digest] = [blob.st_size, blob.st_mtime_ns]
    log.write_text("".join(json.dumps(e) + "\n" for e in entries))
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run(["git", "-C", str(root), "add", "-f", ".cache"], check=True)
    assert "INJECTED" not in page(built(root, cache=cache).parent)


def test_a_read_cache_tracked_by_git_is_ignored(tmp_path):
    root = site(tmp_path)
    post = markdown_post(root, "---\ntitle: Real title\n---\nText.\n")
    cache = root / ".cache/blog"
    built(root, cache=cache)
    reads = json.loads((cache / "reads.json").read_text())
    reads["files"][str(post)]["post"]["title"] = "INJECTED"  # the file's size and mtime still match
    (cache / "reads.json").write_text(json.dumps(reads))
    (cache / "entries.jsonl").unlink()  # so the page is rendered again, from what the read cache says
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run(["git", "-C", str(root), "add", "-f", ".cache"], check=True)
    html = page(built(root, cache=cache).parent, "2020/01/02/note.html")
    assert "INJECTED" not in html and "Real title" in html


NOTE = "2020/01/02/note.html"


def cached_site(tmp_path: Path) -> tuple[Path, Path, str]:
    "A markdown post built once with a render cache: (root, cache folder, the post's page)."
    root = site(tmp_path)
    markdown_post(root, MD.format(title="Good", extra=""))
    built(root, cache=root / ".cache/blog")
    return root, root / ".cache/blog", page(root, NOTE)


def forge(cache: Path, change) -> None:
    "Rewrite the cache's entry for the post's page with `change(entry)`, as a restored cache could hold it."
    log = cache / "entries.jsonl"
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    for entry in entries:
        if NOTE in entry["files"]:
            change(entry)
    log.write_text("".join(json.dumps(e) + "\n" for e in entries))


def rebuilt(root: Path) -> str:
    "Build again with the cache; the build's last line says how many posts it rendered."
    logs = []
    build(root, root / "_site", search=False, cache=root / ".cache/blog", log=logs.append)
    return logs[-1]


def point_at(cache: Path, digest: str, target: Path):
    "A change for `forge`: the page is the blob `digest`, with the size and mtime of `target`."
    st = target.stat()

    def change(entry):
        entry["files"][NOTE], entry["stats"] = digest, {**entry["stats"], digest: [st.st_size, st.st_mtime_ns]}

    return change


def test_a_cache_entry_whose_digest_is_a_path_links_nothing_outside_the_cache(tmp_path):
    root, cache, first = cached_site(tmp_path)
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET")
    forge(cache, point_at(cache, os.path.relpath(secret, cache / "blobs"), secret))
    assert "(1 rendered, 0 cached)" in rebuilt(root)
    assert page(root, NOTE) == first
    assert (root / "_site" / NOTE).stat().st_ino != secret.stat().st_ino


def test_a_blob_that_is_a_link_is_never_followed(tmp_path):
    root, cache, first = cached_site(tmp_path)
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET")
    digest = hashlib.sha256(secret.read_bytes()).hexdigest()  # even named by the hash of what it leads to
    (cache / "blobs" / digest).symlink_to(secret)
    forge(cache, point_at(cache, digest, secret))
    assert "(1 rendered, 0 cached)" in rebuilt(root)
    assert page(root, NOTE) == first
    assert (root / "_site" / NOTE).stat().st_ino != secret.stat().st_ino


def test_a_blob_that_does_not_hold_what_its_name_says_is_a_miss(tmp_path):
    root, cache, first = cached_site(tmp_path)
    digest = hashlib.sha256(first.encode()).hexdigest()
    blob = cache / "blobs" / digest
    st = blob.stat()
    blob.write_bytes(b"X" * st.st_size)  # same size, and the mtime put back: only the hash tells
    os.utime(blob, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert "(1 rendered, 0 cached)" in rebuilt(root)
    assert page(root, NOTE) == first


def test_a_folder_of_blobs_that_is_a_link_is_replaced_not_written_through(tmp_path):
    root, cache, first = cached_site(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.rmtree(cache / "blobs")
    (cache / "blobs").symlink_to(elsewhere, target_is_directory=True)
    assert "(1 rendered, 0 cached)" in rebuilt(root)
    assert list(elsewhere.iterdir()) == [] and not (cache / "blobs").is_symlink()
    assert page(root, NOTE) == first


def setting(part: str, key: str, value):
    "A change for `forge`: entry[part][key] = value."
    return lambda entry: entry[part].__setitem__(key, value)


CORRUPT_ENTRIES = {
    "warnings not a list": setting("meta", "warnings", "oops"),
    "a warning not text": setting("meta", "warnings", [1]),
    "images not a map": setting("meta", "images", []),
    "an image's stat not a pair": setting("meta", "images", {"x.png": "big"}),
    "links to numbers": setting("meta", "links", {"a.md": 1}),
    "secrets missing": lambda entry: entry["meta"].pop("secrets"),
    "meta not a map": lambda entry: entry.__setitem__("meta", "x"),
    "files a list": lambda entry: entry.__setitem__("files", [NOTE]),
    "a digest not text": setting("files", NOTE, 5),
    "a digest in capitals": lambda entry: entry["files"].__setitem__(NOTE, entry["files"][NOTE].upper()),
    "a site path that climbs out": lambda entry: entry["files"].__setitem__("../x.html", entry["files"].pop(NOTE)),
    "the page missing": lambda entry: entry["files"].__setitem__("other.html", entry["files"].pop(NOTE)),
    "stats of text": lambda entry: entry.__setitem__("stats", {d: ["a", "b"] for d in entry["stats"]}),
    "stats of booleans": lambda entry: entry.__setitem__("stats", {d: [True, False] for d in entry["stats"]}),
    "an extra key": lambda entry: entry.__setitem__("more", 1),
}


@pytest.mark.parametrize("corruption", CORRUPT_ENTRIES.values(), ids=CORRUPT_ENTRIES.keys())
def test_a_cache_entry_of_the_wrong_shape_is_a_miss(tmp_path, corruption):
    root, cache, first = cached_site(tmp_path)
    forge(cache, corruption)
    assert "(1 rendered, 0 cached)" in rebuilt(root)
    assert page(root, NOTE) == first


def test_a_cached_vendored_name_outside_the_vendor_folder_copies_nothing(tmp_path):
    root, cache, first = cached_site(tmp_path)
    before = snapshot(root / "_site")
    forge(cache, setting("meta", "vendored", {NOTE: ["..", "../../..", "/etc"]}))
    assert "(0 rendered, 1 cached)" in rebuilt(root)  # well-formed, so used: the names are checked where used
    assert snapshot(root / "_site") == before


CORRUPT_READS = {
    "a title of a number": lambda kept: kept.__setitem__("title", 5),
    "categories as text": lambda kept: kept.__setitem__("categories", "a, b"),
    "a date that is not one": lambda kept: kept.__setitem__("date", "yesterday"),
    "a notebook's kind": lambda kept: kept.__setitem__("kind", "notebook"),
    "another file's path": lambda kept: kept.__setitem__("path", "/etc/passwd"),
    "a key no post has": lambda kept: kept.__setitem__("files", {"x.html": "INJECTED"}),
    "a missing key": lambda kept: kept.pop("summary"),
}


@pytest.mark.parametrize("corruption", CORRUPT_READS.values(), ids=CORRUPT_READS.keys())
def test_a_read_cache_entry_of_the_wrong_shape_is_read_again(tmp_path, corruption):
    root = site(tmp_path)
    post = markdown_post(root, "---\ntitle: Real title\n---\nText.\n")
    cache = root / ".cache/blog"
    built(root, cache=cache)
    reads = json.loads((cache / "reads.json").read_text())
    corruption(reads["files"][str(post)]["post"])
    reads["files"][str(post)]["sha256"] = "../../etc/passwd"
    (cache / "reads.json").write_text(json.dumps(reads))
    (cache / "entries.jsonl").unlink()  # so the page is rendered again, from what the read cache says
    html = page(built(root, cache=cache).parent, NOTE)
    assert "Real title" in html and "INJECTED" not in html
    assert not (root / "_site/x.html").exists()


@pytest.mark.parametrize("kept", [{"folders": [["x"]], "around": "", "verdict": None}, {"verdict": ["odd", "x"]}])
def test_a_kept_stale_verdict_of_the_wrong_shape_is_worked_out_again(tmp_path, kept):
    root = site(tmp_path)
    path = notebook(root, "x = 1")
    cache = root / ".cache/blog"
    built(root, cache=cache)
    reads = json.loads((cache / "reads.json").read_text())
    reads["files"][str(path)]["stale"] = kept
    reads["memos"]["versions"]["value"] = ["not", "a", "map"]
    (cache / "reads.json").write_text(json.dumps(reads))
    warnings = []
    build(root, root / "_site", search=False, cache=cache, log=warnings.append)
    assert [w for w in warnings if "1 notebook(s) show outputs that `make execute` did not store" in w]


# Every bad input gets a clear error


WRONG_TYPES = [
    ("title: [a, list]\n", "title must be text, not a list"),
    ("summary: {a: 1}\n", "summary must be text, not a map"),
    ("toc: 1\n", "toc must be true or false, not 1"),
    ("sticky_rank: first\n", "sticky_rank must be a whole number, not 'first'"),
    ("permalink: [a]\n", "permalink must be text, not a list"),
    ("categories: [[a]]\n", "each of categories must be text, not a list"),
    ("image: {feature: a.png}\n", "image must be text, not a map"),
]


@pytest.mark.parametrize("extra, message", WRONG_TYPES)
def test_a_front_matter_value_of_the_wrong_type_is_left_out_with_a_warning(tmp_path, capsys, extra, message):
    root = site(tmp_path)
    text = MD.format(title="T", extra=extra) if not extra.startswith("title") else f"---\n{extra}---\nBody text.\n"
    markdown_post(root, text, name="2020-01-02-b.md")
    assert main(["build", "--root", str(root), "--no-search"]) == 0
    assert f"2020-01-02-b.md: {message}; {extra.split(':')[0]} left out" in capsys.readouterr().out
    assert "Body text." in page(root, "2020/01/02/b.html")


@pytest.mark.parametrize("extra, message", WRONG_TYPES)
def test_a_front_matter_value_of_the_wrong_type_is_an_error_when_strict(good, capsys, extra, message):
    text = MD.format(title="T", extra=extra) if not extra.startswith("title") else f"---\n{extra}---\n"
    markdown_post(good, text, name="2020-01-02-b.md")
    refused(good, capsys, f"2020-01-02-b.md: {message}", flags=["--strict"])


@pytest.mark.parametrize("extra", ["hide: maybe\n", "search_exclude: sometimes\n"])
def test_a_hide_or_search_exclude_of_the_wrong_type_is_an_error_strict_or_not(good, capsys, extra):
    markdown_post(good, MD.format(title="T", extra=extra), name="2020-01-02-b.md")
    refused(good, capsys, f"2020-01-02-b.md: {extra.split(':')[0]} must be true or false")


def test_false_written_as_text_is_false(tmp_path):
    root = site(tmp_path)
    markdown_post(root, MD.format(title="Listed", extra='hide: "false"\ntoc: "no"\n'))
    assert "Listed" in page(built(root).parent, "index.html")


def test_a_date_as_title_reads_as_text(tmp_path):
    root = site(tmp_path)
    markdown_post(root, "---\ntitle: 2021-08-20\n---\nx\n")
    assert "<title>2021-08-20 | Test Blog</title>" in page(built(root).parent, "2020/01/02/note.html")


def test_a_wrong_type_in_the_config_names_the_config(good, capsys):
    (good / "_config.yml").write_text(CONFIG + "default_badges: yes\n")
    refused(good, capsys, "_config.yml: default_badges must be a map of names to true/false")


@pytest.mark.parametrize("where", ["_posts/2020-01-02-b.md", "_notebooks/2020-01-02-b.ipynb", "_config.yml"])
def test_a_file_that_is_not_utf8_is_an_error_naming_it(good, capsys, where):
    (good / where).write_bytes(b"---\ntitle: caf\xe9\n---\n")
    refused(good, capsys, f"{where}: is not UTF-8 (byte 0xe9 on line 2)")


def test_a_cell_without_source_names_the_cell(good, capsys):
    path = notebook(good, "x = 1")
    nb = json.loads(path.read_text())
    del nb["cells"][1]["source"]
    path.write_text(json.dumps(nb))
    refused(good, capsys, "2020-01-01-post.ipynb, cell 2: cell has no source text")


def test_a_post_path_that_is_a_folder_is_an_error(good, capsys):
    (good / "_notebooks/2020-01-02-b.ipynb").mkdir()
    refused(good, capsys, "2020-01-02-b.ipynb: is a folder, not a file")


def test_a_dangling_symlink_is_an_error(good, capsys):
    (good / "_posts/2020-01-02-b.md").symlink_to(good / "nowhere.md")
    refused(good, capsys, "2020-01-02-b.md: is a broken symbolic link")


def test_a_post_linking_out_of_the_repository_is_an_error(good, capsys):
    secret = good.parent / "secret.md"
    secret.write_text(MD.format(title="Secret", extra=""))
    (good / "_posts/2020-01-02-b.md").symlink_to(secret)
    refused(good, capsys, "2020-01-02-b.md: is a link to", "outside the repository")


def test_markdown_in_the_notebooks_folder_is_skipped_with_a_warning(good, capsys):
    (good / "_notebooks/2020-01-02-b.md").write_text(MD.format(title="T", extra=""))
    assert main(["build", "--root", str(good), "--no-search"]) == 0
    assert "_notebooks/2020-01-02-b.md" in capsys.readouterr().out
    assert not (good / "_site/2020/01/02/b.html").exists()


def test_markdown_in_the_notebooks_folder_fails_a_strict_build(good, capsys):
    (good / "_notebooks/2020-01-02-b.md").write_text(MD.format(title="T", extra=""))
    refused(good, capsys, "2020-01-02-b.md: skipped 1 file(s)", "markdown posts belong in _posts/", flags=["--strict"])


def test_a_post_in_a_posts_subfolder_is_read_as_jekyll_reads_it(tmp_path):
    root = site(tmp_path)
    (root / "_posts/2020").mkdir()
    (root / "_posts/2020/2020-01-02-b.md").write_text(MD.format(title="Nested", extra=""))
    assert "Body text." in page(built(root).parent, "2020/01/02/b.html")


# Nothing hidden leaks


@pytest.mark.parametrize("flag", ["#hide", "  #hide", "# hide", "\t#hide_input"])
def test_a_flag_counts_on_any_line_with_any_indent(tmp_path, flag):
    root = site(tmp_path)
    notebook(root, f"secret_value = 41 + 1\n{flag}\nprint(secret_value)")
    assert "secret_value = 41" not in page(built(root).parent)


@pytest.mark.parametrize("flag", ["#solution", "#| solution: true"])
def test_a_solution_flag_hides_the_answer(tmp_path, flag):
    root = site(tmp_path)
    notebook(root, f"{flag}\n# Task: add.\nanswer = 40 + 2")
    site_dir = built(root)
    student = (site_dir / "notebooks/post-student.ipynb").read_text()
    assert "answer = 40 + 2" not in page(root) and "answer = 40 + 2" not in student
    assert "# Task: add." in student


def test_a_written_answer_in_a_markdown_cell_is_hidden(tmp_path):
    root = site(tmp_path)
    notebook(root, new_markdown_cell("#solution\nThe rule lines shapes up from the right."))
    site_dir = built(root)
    student = (site_dir / "notebooks/post-student.ipynb").read_text()
    assert "lines shapes up from the right" not in page(root) and "lines shapes up" not in student
    assert "**Your answer:**" in student


def test_the_audit_fails_a_build_whose_page_shows_a_hidden_line(tmp_path):
    root = site(tmp_path)
    notebook(root, "#hide\nsecret_token = 'abc123'")
    post = build(root, root / "_site", search=False, log=lambda _: None)[0]
    files = {"2020/01/01/post.html": b"<p>secret_token = 'abc123'</p>"}
    with pytest.raises(BuildError, match="2020-01-01-post.ipynb: a hidden line appears in 2020/01/01/post.html"):
        audit.audit([post], files, root / "_site", offline=False, warn=print)


def test_hidden_lines_stay_out_of_the_search_index(tmp_path):
    root = site(tmp_path)
    notebook(root, "#hide\nsecret_token = 'abc123'", "shown_value = 1")
    build(root, root / "_site", search=True, log=lambda _: None)
    records = audit.search_records(root / "_site")
    assert "shown_value = 1" in records["/2020/01/01/post.html"]
    assert "abc123" not in json.dumps(records)


def test_a_hidden_post_stays_out_of_the_search_index(tmp_path):
    root = site(tmp_path)
    markdown_post(root, MD.format(title="Secret", extra="hide: true\n"))
    assert "data-pagefind-body" not in page(built(root).parent, "2020/01/02/note.html")


OUTSIDE = [
    '<img srcset="/ok.png 1x, //cdn.example/b.png 2x">',
    "<div style=\"background: url('https://cdn.example/bg.png')\"></div>",
    "<style>@import 'https://cdn.example/i.css';</style>",
]
# Tags the render stage turns into click-to-load cards (outside.py): no load is left for the audit to find.
DEFERRED = [
    '<img src="https://cdn.example/a.png">',
    '<link rel="stylesheet" href="https://cdn.example/s.css">',
    '<script src="https://cdn.example/s.js"></script>',
]


@pytest.mark.parametrize("html", OUTSIDE)
def test_an_outside_load_is_a_warning_naming_the_page(tmp_path, html):
    root = site(tmp_path)
    markdown_post(root, MD.format(title="T", extra="") + html + "\n")
    warnings = []
    build(root, root / "_site", search=False, log=warnings.append)
    assert [w for w in warnings if "2020/01/02/note.html loads" in w and "cdn.example" in w]


@pytest.mark.parametrize("html", OUTSIDE)
def test_an_outside_load_is_an_error_when_offline(good, capsys, html):
    (good / "_config.yml").write_text(CONFIG + "offline: true\n")
    markdown_post(good, MD.format(title="T", extra="") + html + "\n", name="2020-01-02-b.md")
    refused(good, capsys, "2020-01-02-b.md: 2020/01/02/b.html loads", "offline: true is set")


@pytest.mark.parametrize("html", DEFERRED)
def test_a_loading_tag_the_render_stage_defers_passes_offline_as_a_card(tmp_path, html):
    root = site(tmp_path, CONFIG + "offline: true\n")
    markdown_post(root, MD.format(title="T", extra="") + html + "\n")
    shown = page(built(root).parent, "2020/01/02/note.html")
    assert 'data-load="https://cdn.example/' in shown and 'src="https://cdn.example' not in shown


def test_links_and_click_to_load_embeds_are_not_loads(tmp_path):
    root = site(tmp_path, CONFIG + "offline: true\n")
    markdown_post(root, MD.format(title="T", extra="") + '<a href="https://x.example/">x</a>\n'
                  '<div data-src="https://www.youtube-nocookie.com/embed/x"></div>\n')  # fmt: skip
    assert "x.example" in page(built(root).parent, "2020/01/02/note.html")


def test_a_remote_preview_image_is_an_outside_resource(good, capsys):
    markdown_post(good, MD.format(title="T", extra="image: //cdn.example/p.png\n"), name="2020-01-02-b.md")
    warnings = []
    build(good, good / "_site", search=False, log=warnings.append)
    assert [w for w in warnings if "2020-01-02-b.md: image //cdn.example/p.png is loaded from another host" in w]
    (good / "_config.yml").write_text(CONFIG + "offline: true\n")
    refused(good, capsys, "2020-01-02-b.md: image //cdn.example/p.png", "offline: true is set")


def test_a_title_is_text_in_the_slides(tmp_path):
    root = site(tmp_path)
    notebook(root, "x = 1", front_matter='# "<img src=x onerror=alert(1)>"\n> <b>bold</b>')
    deck = (built(root) / "slides/post.html").read_text()
    assert "<img src=x onerror" not in deck and "<b>bold" not in deck
    assert "&lt;img src=x onerror=alert(1)&gt;" in deck


SCRIPTED = {
    "text/html": "<p>table</p><script>alert('html')</script>",
    "application/javascript": "alert('js')",
    "image/svg+xml": "<svg xmlns='http://www.w3.org/2000/svg'><script>alert('svg')</script></svg>",
}


def scripted_notebook(root: Path) -> None:
    "One output of each scripted kind, and a markdown cell with a script."
    cell = new_code_cell("show()")
    cell.outputs = [new_output("display_data", data={kind: data}) for kind, data in SCRIPTED.items()]
    notebook(root, cell, new_markdown_cell("Text <script>alert('md')</script>"))


def site_text(folder: Path) -> str:
    return "".join(p.read_text(errors="replace") for p in folder.rglob("*") if p.suffix in (".html", ".svg", ".js"))


def test_sanitize_outputs_strips_script_from_untrusted_notebooks(tmp_path):
    root = site(tmp_path, CONFIG + "sanitize_outputs: true\n")
    scripted_notebook(root)
    written = site_text(built(root))
    assert [s for s in ("<script>alert", "alert('js')", "alert('svg')") if s in written] == []
    assert "<p>table</p>" in page(root)


def test_without_sanitize_outputs_the_author_is_trusted(tmp_path):
    root = site(tmp_path)
    scripted_notebook(root)
    written = site_text(built(root))
    assert "<script>alert('html')</script>" in written and "alert('js')" in written and "alert('svg')" in written


@pytest.mark.parametrize("src", ["../.env", "../../etc/passwd", "/_config.yml"])
def test_an_image_outside_images_and_the_post_folder_is_never_copied(good, capsys, src):
    (good / ".env").write_text("TOKEN=1")
    markdown_post(good, MD.format(title="T", extra="") + f"![x]({src})\n", name="2020-01-02-b.md")
    assert main(["build", "--root", str(good), "--no-search"]) == 0
    assert f"image(s) outside images/ and the post's folder, not copied: {src}" in capsys.readouterr().out
    assert not [p for p in (good / "_site").rglob("*") if p.name in (".env", "passwd", "_config.yml")]


@pytest.mark.parametrize("src", ["../.env", "/_config.yml"])
def test_an_image_outside_images_and_the_post_folder_is_an_error_when_strict(good, capsys, src):
    (good / ".env").write_text("TOKEN=1")
    markdown_post(good, MD.format(title="T", extra="") + f"![x]({src})\n", name="2020-01-02-b.md")
    refused(good, capsys, f"2020-01-02-b.md: image(s) outside images/ and the post's folder, not copied: {src}",
            flags=["--strict"])  # fmt: skip


# Size and time limits


def big_output_notebook(root: Path, megabytes: float) -> None:
    cell = new_code_cell("print(big)")
    cell.outputs = [text_output("x" * int(megabytes * 1024 * 1024))]
    notebook(root, cell)


def test_a_big_output_is_a_warning(tmp_path):
    root = site(tmp_path)
    big_output_notebook(root, 6)
    warnings = []
    build(root, root / "_site", search=False, log=warnings.append)
    assert [w for w in warnings if "2020-01-01-post.ipynb, cell 2: an output of 6.0 MB makes a heavy page" in w]


def test_a_huge_output_is_an_error(good, capsys):
    big_output_notebook(good, 51)
    refused(good, capsys, "2020-01-01-post.ipynb, cell 2: an output of 51 MB is over the limit of 50 MB")


LAUGHS = "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 10)
)  # 9**10 values from 600 bytes: see test_data.py for the same in a data file


@pytest.mark.parametrize("where", ["_posts/2020-01-02-b.md", "_notebooks/2020-01-02-b.ipynb", "_config.yml"])
def test_a_yaml_bomb_in_front_matter_or_the_config_is_an_error_naming_the_file(good, capsys, where):
    if where.endswith(".md"):
        (good / where).write_text(f"---\ntitle: T\n{LAUGHS}---\nBody text.\n")
    elif where.endswith(".ipynb"):
        notebook(good, "x = 1", front_matter=nbformat.v4.new_raw_cell(f"---\ntitle: T\n{LAUGHS}---"), name=where[11:])
    else:
        (good / where).write_text(CONFIG + LAUGHS)
    start = time.monotonic()
    refused(good, capsys, f"{where}", "its aliases (*name) expand its")
    assert time.monotonic() - start < 10


def test_slide_images_are_files_not_data_uris(tmp_path):
    root = site(tmp_path)
    cell = new_code_cell("plot()")
    cell.outputs = [new_output("display_data", data={"image/png": "iVBORw0KGgo="})]
    notebook(root, cell)
    deck = (built(root) / "slides/post.html").read_text()
    assert 'src="data:' not in deck and 'src="/images/post/post_1_0.png"' in deck


def test_pagefind_that_runs_too_long_is_stopped(tmp_path, monkeypatch):
    root = site(tmp_path)
    markdown_post(root, MD.format(title="T", extra=""))
    monkeypatch.setattr(search, "PAGEFIND_TIMEOUT", 0.001)
    with pytest.raises(BuildError, match="pagefind took over 0.001 s and was stopped"):
        build(root, root / "_site", search=True, log=lambda _: None)
    assert not (root / "_site").exists()


def test_a_killed_build_takes_its_helper_process_with_it(tmp_path):
    code = (
        "import functools, os, subprocess; from lib.blog.workers import die_with_parent;"
        "own = functools.partial(die_with_parent, os.getpid());"
        "p = subprocess.Popen(['sleep', '60'], preexec_fn=own); print(p.pid, flush=True);"
        "import time; time.sleep(60)"
    )
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())
    parent.send_signal(signal.SIGKILL)
    parent.wait(timeout=10)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and Path(f"/proc/{child}").exists():
        if Path(f"/proc/{child}/stat").read_text().split()[2] == "Z":
            break  # dead, waiting only to be reaped
        time.sleep(0.05)
    alive = Path(f"/proc/{child}").exists() and Path(f"/proc/{child}/stat").read_text().split()[2] != "Z"
    assert not alive
    if alive:
        os.kill(child, signal.SIGKILL)


def test_every_command_names_the_bad_notebook_without_a_traceback(good, capsys):
    path = good / "_notebooks/2020-01-02-b.ipynb"
    path.write_bytes(b"{not json")
    for command in ("lint", "check", "execute", "handouts"):
        assert main([command, "--root", str(good)]) == 1, command
        err = capsys.readouterr().err
        assert "2020-01-02-b.ipynb" in err and "Traceback" not in err, (command, err)
    assert nbformat  # imported for notebooks built in other tests


def test_a_site_with_no_posts_builds_again_from_its_cache(tmp_path, capsys):
    root = site(tmp_path)
    for _ in range(2):
        assert main(["build", "--root", str(root), "--no-search"]) == 0
    assert (root / "_site/feed.xml").read_text().startswith("<?xml")
