"""One error type for every bad input, so the CLI can print it as one line and exit non-zero.

`blame` is the one place that turns any other failure while handling a file into a BuildError
naming that file, and `read_text` the one place that reads a source file, so that a directory, a
broken link or a file that is not UTF-8 gets the same clear message from every command.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class BuildError(Exception):
    "A source file the site cannot be built from. The message names the file, and the cell (from 1)."

    def __init__(self, path: Path | str, message: str, cell: int | None = None):
        self.path, self.cell, self.message = Path(path), cell, message
        where = f"{path}, cell {cell}" if cell is not None else f"{path}"
        super().__init__(f"{where}: {message}")

    def __reduce__(self):
        # Notebooks run in worker processes; their errors cross back by pickle.
        return (BuildError, (self.path, self.message, self.cell))


@contextmanager
def blame(path: Path | str, cell: int | None = None) -> Iterator[None]:
    "Any exception raised inside becomes a BuildError naming `path`; a BuildError passes through."
    try:
        yield
    except BuildError:
        raise
    except Exception as e:
        raise BuildError(path, f"{type(e).__name__}: {e}", cell) from e


def read_bytes(path: Path) -> bytes:
    "A source file's bytes, or a BuildError that says what is wrong with the path."
    if path.is_symlink() and not path.exists():
        raise BuildError(path, f"is a broken symbolic link (to {path.readlink()})")
    if path.is_dir():
        raise BuildError(path, "is a folder, not a file")
    if path.exists() and not path.is_file():
        raise BuildError(path, "is not a regular file (a pipe, socket or device)")
    try:
        return path.read_bytes()
    except OSError as e:
        raise BuildError(path, f"cannot be read: {e.strerror or e}") from None


def read_text(path: Path) -> str:
    "A source file as UTF-8 text; any other encoding is an error naming the file and the byte."
    data = read_bytes(path)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise BuildError(path, f"is not UTF-8 (byte {data[e.start]:#x} on line {line}); save it as UTF-8") from None


def odd(strict: bool, path: Path | str, message: str, cell: int | None = None) -> str:
    """An odd source that Jekyll and fastpages published all the same: a warning naming the file, to build on
    with, or with `strict` the error it would otherwise be."""
    error = BuildError(path, message, cell)
    if strict:
        raise error
    return str(error)
