"""Execute notebooks, with a cache key that covers everything their outputs depend on.

The key is computed with the standard library only, before anything heavy is imported:
the code cells, the source of every `lib` module the notebook imports (and what those
import), the data it read last time (file names, sizes and mtimes), and the versions of
Python, torch, torchvision, fastai, numpy and matplotlib. A notebook whose key matches
the one stored in its metadata is not run: no kernel, no shell, not even an import of torch.

The engine is execnb's `CaptureShell`, the shell `nbdev-test` uses, so `make execute`
and the tests run cells the same way. It runs in-process, which lets the executor ask
`lib.digits` which data folders the notebook read. Each notebook gets its own worker
process (a fresh interpreter, cwd = the notebook's folder), two at a time.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import json
import os
import platform
import re
import stat
import sys
import warnings
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from lib.blog.errors import BuildError
from lib.blog.flags import first_code_line

PACKAGES = ("torch", "torchvision", "fastai", "numpy", "matplotlib")
INLINE = re.compile(r"`\{python\}\s+([^`]+?)`")
META = "blog"  # notebook and cell metadata key for everything this module stores


def code_cells(nb: dict) -> list[dict]:
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


def source(cell: dict) -> str:
    s = cell["source"]
    return "".join(s) if isinstance(s, list) else s


def lib_modules(sources: list[str], root: Path) -> set[Path]:
    "Files of the `lib` modules that the code `sources` import, and the `lib` modules those import in turn."
    found: set[Path] = set()
    todo = list(sources)
    while todo:
        for name in imported_names(todo.pop()):
            if name == "lib" or name.startswith("lib."):
                for path in _module_files(root, name) - found:
                    found.add(path)
                    todo.append(path.read_text(encoding="utf-8"))
    return found


@functools.lru_cache(maxsize=512)
def imported_names(code: str) -> tuple[str, ...]:
    "Modules (and `module.name`s) that `code` imports; cached, since every notebook imports the same lib."
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return ()  # IPython magics and the like; their imports are not lib's
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names += [node.module] + [f"{node.module}.{a.name}" for a in node.names]
    return tuple(names)


def _module_files(root: Path, name: str) -> set[Path]:
    parts = name.split(".")
    files = {root.joinpath(*parts[:i], "__init__.py") for i in range(1, len(parts) + 1)}
    files.add(root.joinpath(*parts).with_suffix(".py"))
    if name == "lib":  # `from lib import x` loads x's module lazily (lib/__init__.py)
        files |= set((root / "lib").glob("*.py"))
    return {f for f in files if f.is_file()}


def tree_fingerprint(folder: Path) -> str:
    "Names, sizes and mtimes of every file under `folder`: cheap, and changes with any edit."
    h = hashlib.sha256()
    todo = [(str(folder), "")]
    while todo:
        path, rel = todo.pop()
        # stat relative to an open folder: over three times quicker than os.walk plus os.stat
        fd = os.open(path, os.O_RDONLY)
        try:
            entries = [(name, os.stat(name, dir_fd=fd, follow_symlinks=False)) for name in sorted(os.listdir(fd))]
        finally:
            os.close(fd)
        h.update("".join(f"{rel}{n}\0{st.st_size}\0{st.st_mtime_ns}\n" for n, st in entries).encode())
        todo += [(os.path.join(path, n), f"{rel}{n}/") for n, st in reversed(entries) if stat.S_ISDIR(st.st_mode)]
    return h.hexdigest()[:16]


def _fingerprint_or_none(folder: Path, memo: Path | None) -> str | None:
    if not folder.exists():
        return None
    return remembered_fingerprint(folder, memo) if memo else tree_fingerprint(folder)


def remembered_fingerprint(folder: Path, memo: Path) -> str:
    """`tree_fingerprint`, reused while no directory under `folder` changed.

    A directory's mtime changes when a file in it is added, removed or renamed (which is how
    most tools replace a file), and a new subdirectory changes its parent's. So checking the
    remembered directories' mtimes is enough to reuse the fingerprint: a few stats instead of
    one per file (70,000 MNIST files take a second). It misses a file rewritten in place under
    its old name, which is why `make execute` always uses the exact fingerprint; the build
    uses this one only for its staleness warning.
    """
    known = json.loads(memo.read_text()) if memo.exists() else {}
    entry = known.get(str(folder))
    if entry and all(_mtime(folder / rel) == mtime for rel, mtime in entry["dirs"].items()):
        return entry["fingerprint"]
    dirs = {os.path.relpath(d, folder): _mtime(Path(d)) for d, _, _ in os.walk(folder)}
    known[str(folder)] = {"dirs": dirs, "fingerprint": tree_fingerprint(folder)}
    memo.parent.mkdir(parents=True, exist_ok=True)
    memo.write_text(json.dumps(known, indent=1, sort_keys=True))
    return known[str(folder)]["fingerprint"]


def _mtime(path: Path) -> int | None:
    return path.stat().st_mtime_ns if path.exists() else None


def _home(folder: str) -> str:
    "Data folders are stored relative to the home folder, so stamps read the same for every user."
    home = str(Path.home())
    return "~" + folder[len(home) :] if folder.startswith(home + os.sep) else folder


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found


def key_parts(nb: dict, nb_path: Path, root: Path, memo: Path | None = None) -> dict[str, str]:
    "The four parts of the cache key, each a short hash, so a mismatch can say what changed."
    code = "\n\0".join(source(c) for c in code_cells(nb))
    markdown = "\n\0".join(source(c) for c in nb["cells"] if c["cell_type"] == "markdown" and INLINE.search(source(c)))
    libs = sorted(lib_modules([source(c) for c in code_cells(nb)], root))
    data = nb.get("metadata", {}).get(META, {}).get("stamp", {}).get("data", {})
    h = lambda text: hashlib.sha256(text.encode()).hexdigest()[:16]  # noqa: E731
    return {
        "code": h(code + "\0" + markdown),
        "lib": h("".join(f"{p.relative_to(root)}\0{p.read_text(encoding='utf-8')}" for p in libs)),
        "data": h(json.dumps({p: _fingerprint_or_none(Path(p).expanduser(), memo) for p in sorted(data)})),
        "environment": h(json.dumps(versions(), sort_keys=True)),
    }


def stored_key(nb: dict) -> dict[str, str]:
    return nb.get("metadata", {}).get(META, {}).get("key", {})


def changed(nb: dict, nb_path: Path, root: Path, memo: Path | None = None) -> list[str]:
    "Which key parts differ from the stored ones: [] when they match. `memo`: see `remembered_fingerprint`."
    stored, now = stored_key(nb), key_parts(nb, nb_path, root, memo)
    why = [part for part in now if stored.get(part) != now[part]]
    folders = nb.get("metadata", {}).get(META, {}).get("stamp", {}).get("data", {})
    if missing := [f for f in folders if not Path(f).expanduser().exists()]:
        why = [f"data (not on this machine: {', '.join(missing)})" if w == "data" else w for w in why]
    return why


def declares(cell, tag: str, key: str, value: str) -> bool:
    "Whether a cell carries `tag`, or a `#| key: value` directive line anywhere in its source."
    if tag in cell.get("metadata", {}).get("tags", []):
        return True
    return bool(re.search(rf"^#\|\s*{key}:\s*{value}\s*$", source(cell), re.M | re.I))


def intended_error(cell) -> bool:
    "A cell may declare that it raises: `#| error: true`, or the `raises-exception` tag."
    return declares(cell, "raises-exception", "error", "true")


def run_notebook(path: str, root: str, timeout: int | None) -> dict:
    """Worker: execute `path` top to bottom and return it, as a dict, with fresh outputs.

    Markdown cells' inline expressions (`{python} expr`) are evaluated where they stand,
    with the values of the cells above. Raises BuildError naming the cell that failed.
    """
    import nbformat
    from execnb.shell import CaptureShell

    os.chdir(Path(path).parent)
    warnings.filterwarnings("ignore", message=".*torch.jit.script.*")  # fastai 2.8 on torch 2.14, at import
    nb = nbformat.read(path, as_version=4)
    shell, count = CaptureShell(mpl_format="png"), 0
    for number, cell in enumerate(nb.cells, 1):
        if cell.cell_type == "markdown" and (exprs := INLINE.findall(cell.source)):
            cell.metadata.setdefault(META, {})["inline"] = {e: _evaluate(shell, e, path, number) for e in exprs}
        if cell.cell_type != "code":
            continue
        count += 1
        outputs = shell.run(cell.source, timeout=timeout)
        if shell.exc is not None and not intended_error(cell):
            error = f"{type(shell.exc).__name__}: {shell.exc}".strip().splitlines()[0]
            raise BuildError(path, f"{first_code_line(cell.source) or '(empty)'!r} raised {error}", number)
        cell.outputs = [nbformat.from_dict(o) for o in outputs]
        cell.execution_count = count
        for o in cell.outputs:
            if "execution_count" in o:
                o.execution_count = count
        cell.metadata.pop("execution", None)
    nb.metadata.setdefault(META, {})["stamp"] = stamp(shell)
    return json.loads(nbformat.writes(nb))


def _evaluate(shell, expr: str, path: str, number: int) -> str:
    try:
        return str(eval(expr, shell.user_ns))
    except Exception as e:
        raise BuildError(path, f"inline expression {expr!r} raised {type(e).__name__}: {e}", number) from None


def stamp(shell) -> dict:
    "What a reader may want to know about the run: when, with what, on which data."
    digits = sys.modules.get("lib.digits")
    read = sorted(getattr(digits, "READ", set()))
    folders = [f for f in read if not any(f.startswith(other + os.sep) for other in read)]  # top-most only
    return {
        "executed": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "versions": versions(),
        "data": {_home(f): tree_fingerprint(Path(f)) for f in folders},
    }


def execute(paths: list[Path], root: Path, force: bool = False, timeout: int | None = 600, log=print) -> list[Path]:
    "Run each notebook whose key changed and write its outputs back. Returns the notebooks run."
    todo = []
    for path in paths:
        nb = json.loads(path.read_text(encoding="utf-8"))
        why = changed(nb, path, root)
        if force or why:
            todo.append(path)
            log(f"  run    {path} ({', '.join(why) or 'forced'} changed)")
        else:
            log(f"  fresh  {path}")
    results = run_fresh(todo, root, timeout)  # a failure raises here, before anything is written
    for path, nb in results.items():
        write_back(path, nb, root)
    return todo


def write_back(path: Path, fresh: dict, root: Path) -> None:
    "Store fresh outputs, inline values and the stamp; sources stay byte for byte as they were."
    import nbformat

    old = nbformat.read(path, as_version=4)
    fresh = nbformat.from_dict(fresh)
    for cell, new in zip(old.cells, fresh.cells, strict=True):
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = new.outputs, new.execution_count
        if META in new.metadata:
            cell.metadata[META] = new.metadata[META]
    old.metadata[META] = fresh.metadata[META]
    old.metadata[META]["key"] = key_parts(json.loads(nbformat.writes(old)), path, root)
    tmp = path.with_name(f".{path.name}.tmp")
    nbformat.write(old, tmp)
    os.replace(tmp, path)


def run_fresh(paths: list[Path], root: Path, timeout: int | None = 600) -> dict[Path, dict]:
    """`run_notebook` on each path, two at a time, each in a fresh worker process (so the caller's
    working folder and modules stay as they were). The first failure raises its BuildError."""
    with ProcessPoolExecutor(max_workers=min(2, len(paths) or 1), max_tasks_per_child=1) as pool:
        jobs = {p: pool.submit(run_notebook, str(p.resolve()), str(root.resolve()), timeout) for p in paths}
        return {p: job.result() for p, job in jobs.items()}


def notebooks(root: Path, paths: list[Path] | None = None) -> list[Path]:
    return sorted(paths) if paths else sorted((root / "_notebooks").glob("*.ipynb"))
