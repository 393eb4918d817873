"One error type for every bad input, so the CLI can print it as one line and exit non-zero."

from __future__ import annotations

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
