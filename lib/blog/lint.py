"""Lint what a notebook post publishes: stored errors, names used before they exist, execution counts,
inline values that `make execute` did not write.

ruff finds undefined names in notebooks (F821). After a star import it can only say a
name *may* be undefined (F405); resolving that needs the star-imported modules' real
exports in the project's environment, which is the one part written here by hand.
"""

from __future__ import annotations

import ast
import importlib
import json
import re
import subprocess
import sys
import warnings
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from lib.blog.errors import BuildError
from lib.blog.execute import blog_meta, intended_error, source
from lib.blog.inline import differs, problems, quarto, unescape, written
from lib.blog.nbfile import load


@dataclass(frozen=True)
class Finding:
    path: Path
    cell: int  # counted from 1, as in Jupyter
    message: str

    def __str__(self) -> str:
        return f"{self.path}, cell {self.cell}: {self.message}"


def numbered_code_cells(nb: dict) -> list[tuple[int, dict]]:
    return [(i, c) for i, c in enumerate(nb["cells"], 1) if c["cell_type"] == "code"]


def error_outputs(path: Path, nb: dict) -> list[Finding]:
    "A traceback stored in a published post is a finding, unless the cell declares the error."
    found = []
    for number, cell in numbered_code_cells(nb):
        for out in cell.get("outputs", []):
            if out["output_type"] == "error" and not intended_error(cell):
                found.append(Finding(path, number, f"stored error output: {out['ename']}: {out['evalue']}"))
    return found


def execution_counts(path: Path, nb: dict) -> list[Finding]:
    "A top-to-bottom run numbers its code cells 1, 2, 3, ...; anything else means stale or reordered outputs."
    expected = 1
    for number, cell in numbered_code_cells(nb):
        if not source(cell).strip():
            continue
        count = cell.get("execution_count")
        if count is None:
            return [Finding(path, number, "missing execution count: the cell was not run")]
        if count != expected:
            return [Finding(path, number, f"execution count {count}, expected {expected} in a top-to-bottom run")]
        expected += 1
    return []


def ruff_names(path: Path) -> list[dict]:
    "ruff's F821 (undefined) and F405 (maybe from a star import) findings, with their cells."
    cmd = [sys.executable, "-m", "ruff", "check", "--isolated", "--select", "F821,F405", "--output-format", "json"]
    result = subprocess.run([*cmd, str(path)], capture_output=True, text=True)
    if result.returncode not in (0, 1):  # 1 means findings; anything else, that ruff itself failed
        raise BuildError(path, f"ruff failed: {(result.stderr.strip().splitlines() or ['no message'])[-1]}")
    return json.loads(result.stdout or "[]")


def star_modules(nb: dict) -> list[tuple[int, str]]:
    "The modules star-imported, each with the cell that imports it."
    modules = []
    for number, cell in numbered_code_cells(nb):
        try:
            tree = ast.parse(source(cell))
        except (SyntaxError, ValueError, RecursionError):
            continue  # ruff reports the cell
        modules += [
            (number, n.module)
            for n in ast.walk(tree)
            if isinstance(n, ast.ImportFrom) and n.module and n.level == 0 and n.names[0].name == "*"
        ]
    return modules


@cache
def star_exports(module: str) -> frozenset[str]:
    "The names `from module import *` binds: `__all__`, else every public name."
    with warnings.catch_warnings():  # importing only to list names; its warnings are not findings
        warnings.simplefilter("ignore")
        mod = importlib.import_module(module)
    names = getattr(mod, "__all__", None) or [n for n in dir(mod) if not n.startswith("_")]
    return frozenset(names)


def undefined_names(path: Path, nb: dict) -> list[Finding]:
    exported, found = set(), []
    for number, module in star_modules(nb):
        try:
            exported |= star_exports(module)
        except (Exception, SystemExit) as e:  # importing runs the module; whatever it raises is a finding
            found.append(Finding(path, number, f"`from {module} import *` fails: {type(e).__name__}: {e}"))
    for d in ruff_names(path):
        if d["code"] not in ("F821", "F405"):  # a cell ruff cannot parse, so none of its names are checked
            if d.get("cell") is None:
                raise BuildError(path, f"ruff cannot read it: {d['message']}")
            found.append(Finding(path, d["cell"], f"ruff cannot parse the cell: {d['message']}"))
            continue
        name = m[1] if (m := re.search(r"`([^`]+)`", d["message"])) else d["message"]
        if d["code"] == "F821" or name not in exported:
            found.append(Finding(path, d["cell"], f"name {name!r} is used but never defined before this cell"))
    return found


def inline_values(path: Path, nb: dict) -> list[Finding]:
    """Every value written into a markdown cell must be the one `make execute` evaluated and stored in the
    cell's metadata; markup it cannot read, and Quarto's form (readers of the notebook see its code), are findings."""
    found = []
    for number, cell in enumerate(nb["cells"], 1):
        if cell["cell_type"] != "markdown":
            continue
        text, stored = source(cell), blog_meta(cell, "inline")
        messages = problems(text)
        for expr, shown in written(text):
            if expr not in stored:
                messages.append(
                    f"inline `{{python}} {expr}` shows {unescape(shown)!r}, but was never evaluated; run `make execute`"
                )
            elif why := differs(expr, shown, stored[expr], "but `make execute` stored"):
                messages.append(f"{why}; run `make execute`")
        messages += [
            f"inline `{{python}} {expr}` shows its code in Jupyter; run `make execute`" for expr in quarto(text)
        ]
        found += [Finding(path, number, m) for m in messages]
    return found


def lint(path: Path) -> list[Finding]:
    "Findings of one notebook; a file that is not a notebook is a BuildError naming it."
    _, nb = load(path)
    return error_outputs(path, nb) + undefined_names(path, nb) + execution_counts(path, nb) + inline_values(path, nb)
