"""A cache of rendered posts that holds data only: JSON entries and content-addressed files.

Nothing read back from here can run code (no pickle), every entry is written atomically, and
anything unreadable, corrupt, of the wrong shape (`shape.fits`), or tracked by git (so it came with a
clone, not from this machine's own builds) is a miss, never an error. A cache restored from elsewhere
(a CI cache, an archive) is not trusted to stay inside its folder: a blob is named by its sha256, is
never read or linked through a symbolic link, and its hash is checked before a build uses it.
A `.gitignore` inside keeps the folder out of commits.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import stat
import subprocess
from contextlib import suppress
from pathlib import Path

from lib.blog.errors import BuildError
from lib.blog.shape import fits, is_digest

# An entry as `put` writes it: the files' blobs by site path, and each blob's [size, mtime] by digest.
ENTRY = {"meta": dict, "files": dict[str, str], "stats": dict[str, tuple[int, int]]}


def write_atomic(path: Path, data: bytes, sync: bool = True) -> None:
    "Replace `path` whole: a reader, or a kill midway, sees the old file or the new one, never part of one."
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")  # unique: writers may race
    try:
        with create(tmp) as f:
            f.write(data)
            f.flush()
            if sync:  # else a crash soon after the rename can leave an empty file
                os.fsync(f.fileno())
        if path.exists():
            shutil.copymode(path, tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def create(path: Path):
    "A new file, open for writing; its folder is made only when missing (a build writes thousands into a few)."
    try:
        return open(path, "xb")
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        return open(path, "xb")


def tracked(folder: Path) -> set[Path]:
    "Files under `folder` that git tracks (empty outside a repository or without git)."
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z", "--full-name", "--", "."], cwd=folder, capture_output=True, timeout=30
        )
        top = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=folder, capture_output=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return set()
    if out.returncode or top.returncode:
        return set()
    root = Path(top.stdout.decode().strip())
    return {(root / name).resolve() for name in out.stdout.decode().split("\0") if name}


def read_json(path: Path, ignore: set[Path] = frozenset()):
    "The JSON in `path`, or None when it is missing, unreadable, corrupt or in `ignore`."
    if ignore and path.resolve() in ignore:  # resolving costs a syscall per path part: only when needed
        return None
    try:
        return json.loads(_read(path) or b"null")
    except (ValueError, RecursionError):  # RecursionError: JSON nested deeper than Python's stack
        return None


class Cache:
    """entries.jsonl: a line per entry, {key, meta, files: {site path: sha256}, stats}; blobs/<sha256> hold the bytes.

    Entries are appended to one file as posts are rendered, rather than written one file each: creating a file is
    the slowest step of storing a page, and a cold build stores a thousand. A killed build keeps what it appended;
    a torn last line is not JSON, and is skipped. A build that ends writes the file anew with only its own entries.
    """

    LOG = "entries.jsonl"

    def __init__(self, folder: Path):
        self.folder, self._entries, self._log, self._torn = folder, None, None, False
        folder.mkdir(parents=True, exist_ok=True)
        if not (folder / ".gitignore").exists():
            write_atomic(folder / ".gitignore", b"# Built by the site builder; never commit it.\n*\n")
        real_folder(folder / "blobs")
        self.ignore = tracked(folder)
        self.used: set[str] = set()
        self.kept: set[str] = set()  # digests of the blobs the used entries name, for `prune`
        self.blobs: dict[str, Path] = {}  # sha256 digest -> blob file, for the writer to link instead of copy
        self.checked: set[str] = set()  # digests of the blobs whose bytes this build wrote or hashed (`check`)
        self.digests: dict[int, tuple[bytes, str]] = {}  # id -> (bytes, digest) of what `put` hashed; holding the
        # bytes keeps the id from being reused, so the writer need not hash a fresh page a second time

    def get(self, key: str) -> tuple[dict, dict[str, Stored]] | None:
        """(meta, files) stored under `key`, or None for a miss. Each blob must be a regular file (never a link)
        that still has the size and mtime it had when it was stored (a blob edited through a hard link into the
        site fails this) and the hash it is named by: no other file's bytes are ever linked into the site."""
        self.used.add(key)
        entry = self.entries().get(key)
        if not fits(entry, ENTRY) or not all(map(is_digest, entry["files"].values())):
            return None
        files = {}
        for rel, digest in entry["files"].items():
            size = self.check(digest, entry["stats"].get(digest))
            if size is None:
                return None
            files[rel] = Stored(self.folder / "blobs" / digest, digest, size)
            self.blobs[digest] = files[rel].path
        self.kept |= set(entry["files"].values())
        return entry["meta"], files

    def check(self, digest: str, stats: list[int] | None) -> int | None:
        """The size of the blob `digest`, or None unless it is a regular file with those [size, mtime] and that
        hash. Hashed once a build: 23 MB of blobs, a 1,100-post site's, take 30 ms."""
        blob = self.folder / "blobs" / digest
        if self.ignore and blob.resolve() in self.ignore:
            return None
        try:
            st = os.lstat(blob)
        except OSError:
            return None
        if not stat.S_ISREG(st.st_mode) or stats != [st.st_size, st.st_mtime_ns]:
            return None
        if digest not in self.checked:
            data = _read(blob)
            if data is None or hashlib.sha256(data).hexdigest() != digest:
                return None
            self.checked.add(digest)
        return st.st_size

    def put(self, key: str, meta: dict, files: dict[str, bytes]) -> None:
        "Store blobs first and the entry last, so a killed build leaves no entry without its files."
        digests, stats = {}, {}
        for rel, data in files.items():
            kept = store(self.folder / "blobs", data)
            st = os.stat(kept.path)
            digests[rel], stats[kept.digest] = kept.digest, [st.st_size, st.st_mtime_ns]
            self.blobs[kept.digest] = kept.path
            self.checked.add(kept.digest)  # written, or compared with what it holds, by `store`
            if not isinstance(data, Stored):
                self.digests[id(data)] = data, kept.digest
        self.entries()[key] = entry = {"meta": meta, "files": digests, "stats": stats}
        self.append(key, entry)
        self.used.add(key)
        self.kept |= set(digests.values())

    def entries(self) -> dict[str, dict]:
        "Every entry in the log, the last line for a key winning; none when git tracks the log (it came with a clone)."
        if self._entries is None:
            log, self._entries = self.folder / self.LOG, {}
            text = None if self.ignore and log.resolve() in self.ignore else _read(log)
            self._torn = bool(text) and not text.endswith(b"\n")
            for line in (text or b"").splitlines():
                try:
                    found = json.loads(line)
                except ValueError:
                    continue  # torn by a killed build, or mixed by two builds at once: a miss
                if isinstance(found, dict) and isinstance(found.get("key"), str):
                    self._entries[found.pop("key")] = found
        return self._entries

    def append(self, key: str, entry: dict) -> None:
        """One line, in one unbuffered write, which O_APPEND puts at the end whole. No fsync: after a crash an
        entry whose blob was lost fails its checks, a miss; syncing a thousand entries would double a cold build."""
        if self._log is None:
            self._log = self.open_log()
        self._log.write(log_line(key, entry))

    def open_log(self):
        """The log, open for appending. Never through a link, and never the one git tracks: that one is replaced
        by an empty file first, as it would be by the build's end."""
        log = self.folder / self.LOG
        self.entries()  # read first, to know whether its last line was torn
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
        fd = None
        if not (self.ignore and log.resolve() in self.ignore):
            with suppress(OSError):  # a link (ELOOP)
                fd = os.open(log, flags, 0o644)
        if fd is None:
            write_atomic(log, b"", sync=False)
            fd, self._torn = os.open(log, flags, 0o644), False
        f = os.fdopen(fd, "ab", buffering=0)
        if self._torn:
            f.write(b"\n")  # so the next line does not run on from it
        return f

    def blob(self, data: bytes | Stored) -> Path | None:
        "The blob holding `data`, if this build read or wrote one (and so checked its hash)."
        if isinstance(data, Stored):
            return data.path
        known = self.digests.get(id(data))
        if known and known[0] is data:
            return self.blobs.get(known[1])
        return self.blobs.get(hashlib.sha256(data).hexdigest()) if len(data) > 4096 else None

    def prune(self) -> None:
        "Drop entries this build did not use, and blobs no used entry names, so the cache stays the site's size."
        if self._log:
            self._log.close()
        kept = {k: e for k, e in self.entries().items() if k in self.used}
        write_atomic(self.folder / self.LOG, b"".join(log_line(k, e) for k, e in sorted(kept.items())), sync=False)
        self._log = None
        shutil.rmtree(self.folder / "entries", ignore_errors=True)  # one file per entry, as older builds kept them
        for blob in (self.folder / "blobs").glob("*"):
            if blob.name not in self.kept:
                blob.unlink(missing_ok=True)


def log_line(key: str, entry: dict) -> bytes:
    return json.dumps({"key": key, **entry}, sort_keys=True).encode() + b"\n"


def store(blobs: Path, data: bytes | Stored) -> Stored:
    """`data` as a blob in the folder `blobs`, written unless it is there already. Worker processes store what they
    render themselves, so that the build's main process, which keeps the entries, does not write every page."""
    if isinstance(data, Stored) and data.path.parent == blobs:
        return data
    digest = digest_of(data)
    blob = blobs / digest
    if not put_blob(blob, data):
        write_atomic(blob, content(data), sync=False)  # edited through a hard link into the site
    return Stored(blob, digest, len(data))  # the blob holds `data` now


def put_blob(blob: Path, data: bytes | Stored) -> bool:
    """Whether `blob` now holds `data`: written when missing, or found already there. A new blob is written in
    place, not renamed into place, as no reader trusts it before an entry records its size and mtime, and every
    read checks its hash: a torn one is a miss. One that exists is never written in place, since the site's
    pages are hard links to blobs."""
    try:
        f = create(blob)
    except FileExistsError:
        return _read(blob) == content(data)
    try:
        with f:
            f.write(content(data))
    except BaseException:
        blob.unlink(missing_ok=True)
        raise
    return True


class Stored:
    "A file the render cache holds, read only when its bytes are needed: a warm build links it into the site unread."

    __slots__ = ("path", "digest", "size")

    def __init__(self, path: Path, digest: str, size: int):
        self.path, self.digest, self.size = path, digest, size

    def __len__(self) -> int:
        return self.size

    def read(self) -> bytes:
        data = _read(self.path)
        if data is None or hashlib.sha256(data).hexdigest() != self.digest:
            with suppress(OSError):
                self.path.unlink()  # so the next build misses it, rather than fail on it again
            raise BuildError(self.path, "changed in the render cache during the build; build again")
        return data


def content(data: bytes | Stored) -> bytes:
    "The bytes of a site file, read from the cache if it is a `Stored` one."
    return data.read() if isinstance(data, Stored) else data


def digest_of(data: bytes | Stored) -> str:
    return data.digest if isinstance(data, Stored) else hashlib.sha256(data).hexdigest()


def _read(path: Path) -> bytes | None:
    """The bytes of the regular file `path`, or None. Never through a symbolic link, and never from a pipe or a
    device, which could block the build or never end: a cache's files are plain files the builder wrote."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    with open(fd, "rb") as f:
        try:
            return f.read() if stat.S_ISREG(os.fstat(fd).st_mode) else None
        except OSError:
            return None


def real_folder(path: Path) -> None:
    "Make `path` a folder of its own: a link or a file there (from a restored archive, say) is removed first."
    with suppress(FileNotFoundError):
        if not stat.S_ISDIR(os.lstat(path).st_mode):
            path.unlink()
    path.mkdir(exist_ok=True)


class ReadCache:
    """What the readers made of each source file, kept while the file's size and mtime stay the same: parsing
    front matter (YAML) and notebooks (JSON) is most of a warm build. One JSON file, keyed on `salt` too (the
    builder's code and anything else the readers depend on), so a changed reader never sees old results.
    Also keeps each notebook's stale-outputs verdict with what it depended on (build.stale)."""

    NAME = "reads.json"

    def __init__(self, folder: Path, salt: str, ignore: set[Path] = frozenset()):
        self.path, self.salt = folder / self.NAME, salt
        data = read_json(self.path, ignore)
        ok = isinstance(data, dict) and data.get("salt") == salt and isinstance(data.get("files"), dict)
        self.old: dict = data["files"] if ok else {}
        self.new: dict = {}
        self.old_memos: dict = data.get("memos", {}) if ok and isinstance(data.get("memos"), dict) else {}
        self.memos: dict = {}
        self.stats: dict[str, list[int]] = {}

    def stat(self, path: Path) -> list[int] | None:
        "Taken before the file is read: a file that changes while it is read is read again next time."
        if str(path) not in self.stats:
            try:
                st = path.stat()
            except OSError:  # a broken link, say: the reader will name the fault
                return None
            self.stats[str(path)] = [st.st_size, st.st_mtime_ns]
        return self.stats[str(path)]

    def entry(self, path: Path) -> dict:
        "This build's entry for `path`: last build's, while the file is unchanged, else a new one."
        key = str(path)
        if self.stat(path) is None:
            return {}  # kept nowhere
        if key not in self.new:
            old = self.old.get(key)
            same = isinstance(old, dict) and old.get("stat") == self.stat(path)
            self.new[key] = dict(old) if same else {"stat": self.stat(path)}
        return self.new[key]

    def get(self, path: Path, part: str, kind):
        "What was kept of `path` under `part`, if it has the shape `kind` (see `shape.fits`), else None."
        found = self.entry(path).get(part)
        return found if fits(found, kind) else None

    def put(self, path: Path, part: str, value) -> None:
        self.entry(path)[part] = value

    def remembered(self, name: str, stamp, make, kind):
        """`make()`, or what it gave last time for the same `stamp` (JSON data: what `make` depends on), if that
        has the shape `kind`."""
        old = self.old_memos.get(name)
        same = fits(old, {"stamp": list, "value": kind}) and old["stamp"] == json.loads(json.dumps(stamp))
        self.memos[name] = {"stamp": stamp, "value": old["value"] if same else make()}
        return self.memos[name]["value"]

    def save(self) -> None:
        "Entries of the files this build read; files gone since are dropped."
        if self.new != self.old or self.memos != self.old_memos:
            data = {"salt": self.salt, "files": self.new, "memos": self.memos}
            write_atomic(self.path, json.dumps(data).encode(), sync=False)
