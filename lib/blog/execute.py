"""Execute notebooks, with a cache key that covers everything their outputs depend on.

The key is computed with the standard library only, before anything heavy is imported:
the code cells, the source of every `lib` module the notebook imports (and what those
import), the data it read last time (file names, sizes and mtimes), and the versions of
Python, torch, torchvision, fastai, numpy and matplotlib. A notebook whose key matches
the one stored in its metadata is not run: no kernel, no shell, not even an import of torch.

The engine is execnb's `CaptureShell`, the shell `nbdev-test` uses, so `make execute`
and the tests run cells the same way. It runs in-process, which lets the executor ask
`lib.digits` which data folders the notebook read. Each notebook gets its own worker
process (a fresh interpreter, cwd = the notebook's folder), two at a time. A worker runs
the bytes the parent read and keyed, not the file, and the outputs are written back only
if the file still holds those bytes. Workers die with the parent, even one killed by SIGKILL.
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
from datetime import datetime, timezone
from pathlib import Path

from lib.blog.cache import write_atomic
from lib.blog.errors import BuildError
from lib.blog.flags import first_code_line
from lib.blog.inline import check_value, expressions, fill, has_inline, problems, quarto
from lib.blog.nbfile import load, parse
from lib.blog.workers import run_all

PACKAGES = ("torch", "torchvision", "fastai", "numpy", "matplotlib")
META = "blog"  # notebook and cell metadata key for everything this module stores


def blog_meta(node: dict, *keys: str) -> dict:
    "A map under a notebook's or cell's `blog` metadata, or {} where a hand edit left something else there."
    found = node.get("metadata", {})
    for key in (META, *keys):
        found = found.get(key) if isinstance(found, dict) else None
    return found if isinstance(found, dict) else {}


def code_cells(nb: dict) -> list[dict]:
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


def markdown_cells(nb: dict) -> list[dict]:
    return [c for c in nb["cells"] if c["cell_type"] == "markdown"]


def source(cell: dict) -> str:
    s = cell["source"]
    return "".join(s) if isinstance(s, list) else s


def lib_modules(sources: list[str], root: Path, seen: dict | None = None) -> set[Path]:
    """Files of the `lib` modules that the code `sources` import, and the `lib` modules those import in turn.
    `seen`: lookups and file texts of this build so far, shared by its notebooks (most import the same lib)."""
    found: set[Path] = set()
    todo, seen = list(sources), {} if seen is None else seen
    while todo:
        for name in imported_names(todo.pop()):
            if name == "lib" or name.startswith("lib."):
                if name not in seen:
                    seen[name] = _module_files(root, name)
                for path in seen[name] - found:
                    found.add(path)
                    if path not in seen:
                        seen[path] = path.read_text(encoding="utf-8")
                    todo.append(seen[path])
    return found


@functools.lru_cache(maxsize=512)
def imported_names(code: str) -> tuple[str, ...]:
    "Modules (and `module.name`s) that `code` imports; cached, since every notebook imports the same lib."
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError):
        return ()  # IPython magics, null bytes, absurd nesting; their imports are not lib's
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
    module = root.joinpath(*parts)
    if len(parts) > 1 and not module.with_suffix(".py").is_file() and not (module / "__init__.py").is_file():
        # `from lib import x`: x may be a name that lib/__init__.py loads lazily from one of its modules.
        init = module.parent / "__init__.py"
        home = lazy_homes(init.read_text(encoding="utf-8"), init.parent.name).get(parts[-1]) if init.is_file() else None
        files |= _module_files(root, home) if home else set()
    return {f for f in files if f.is_file()}


@functools.lru_cache(maxsize=64)
def lazy_homes(init: str, package: str) -> dict[str, str]:
    """A package's lazily loaded names and their modules: a module-level dict literal of its __init__.py (the
    text `init`) whose values all name its own modules (lib's `_HOME`). So a notebook's key holds the modules
    it uses, not every module of the package."""
    try:
        tree = ast.parse(init)
    except (SyntaxError, ValueError, RecursionError):
        return {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict):
            try:
                found = ast.literal_eval(node.value)
            except ValueError:
                continue
            if found and all(isinstance(v, str) and v.startswith(f"{package}.") for v in found.values()):
                return found
    return {}


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
    known = _read_memo(memo)
    entry = known.get(str(folder))
    if _usable(entry) and all(_mtime(folder / rel) == mtime for rel, mtime in entry["dirs"].items()):
        return entry["fingerprint"]
    dirs = {os.path.relpath(d, folder): _mtime(Path(d)) for d, _, _ in os.walk(folder)}
    known[str(folder)] = {"dirs": dirs, "fingerprint": tree_fingerprint(folder)}
    try:
        memo.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(memo, json.dumps(known, indent=1, sort_keys=True).encode())
    except OSError:
        pass  # the memo only saves time; a build must not fail because the cache folder is read-only
    return known[str(folder)]["fingerprint"]


def _read_memo(memo: Path) -> dict:
    "The remembered fingerprints; a memo that is missing, unreadable or corrupt remembers nothing."
    try:
        known = json.loads(memo.read_bytes())
    except (OSError, ValueError, RecursionError):
        return {}
    return known if isinstance(known, dict) else {}


def _usable(entry) -> bool:
    return (
        isinstance(entry, dict)
        and isinstance(entry.get("fingerprint"), str)
        and isinstance(entry.get("dirs"), dict)
        and all(isinstance(rel, str) for rel in entry["dirs"])
    )


def _mtime(path: Path) -> int | None:
    return path.stat().st_mtime_ns if path.exists() else None


def _home(folder: str) -> str:
    "Data folders are stored relative to the home folder, so stamps read the same for every user."
    home = str(Path.home())
    return "~" + folder[len(home) :] if folder.startswith(home + os.sep) else folder


def versions() -> dict[str, str]:
    return dict(_versions())


@functools.cache
def _versions() -> tuple[tuple[str, str], ...]:
    "Looked up once a process: reading package metadata takes milliseconds a package, and builds ask per notebook."
    from importlib.metadata import PackageNotFoundError, version  # a build whose notebooks are unchanged needs none

    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return tuple(found.items())


def key_parts(
    nb: dict, nb_path: Path, root: Path, memo: Path | None = None, seen: dict | None = None
) -> dict[str, str]:
    "The four parts of the cache key, each a short hash, so a mismatch can say what changed. `seen`: see lib_modules."
    code = "\n\0".join(source(c) for c in code_cells(nb))
    markdown = "\n\0".join(source(c) for c in markdown_cells(nb) if has_inline(source(c)))
    seen = {} if seen is None else seen
    libs = sorted(lib_modules([source(c) for c in code_cells(nb)], root, seen))
    data = blog_meta(nb, "stamp", "data")
    h = lambda text: hashlib.sha256(text.encode()).hexdigest()[:16]  # noqa: E731
    return {
        "code": h(code + "\0" + markdown),
        "lib": h("".join(f"{p.relative_to(root)}\0{seen[p]}" for p in libs)),
        "data": h(json.dumps({p: _fingerprint_or_none(Path(p).expanduser(), memo) for p in sorted(data)})),
        "environment": h(json.dumps(versions(), sort_keys=True)),
    }


def stored_key(nb: dict) -> dict[str, str]:
    return blog_meta(nb, "key")


def changed(nb: dict, nb_path: Path, root: Path, memo: Path | None = None, seen: dict | None = None) -> list[str]:
    "Which key parts differ from the stored ones: [] when they match. `memo`: see `remembered_fingerprint`."
    stored, now = stored_key(nb), key_parts(nb, nb_path, root, memo, seen)
    why = [part for part in now if stored.get(part) != now[part]]
    folders = blog_meta(nb, "stamp", "data")
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


def run_notebook(path: str, text: str, timeout: int | None) -> dict:
    """Worker: execute the notebook `text`, read from `path` by the parent, top to bottom, and return it,
    as a dict, with fresh outputs. It runs the text it is given rather than the file, which may change meanwhile.

    Markdown cells' inline expressions (`{python} expr`) are evaluated where they stand, with the
    values of the cells above, and written into the cell (see `inline`); the values are kept in the
    cell's metadata too. Raises BuildError naming the cell that failed.
    """
    import nbformat
    from execnb.shell import CaptureShell

    os.chdir(Path(path).parent)
    warnings.filterwarnings("ignore", message=".*torch.jit.script.*")  # fastai 2.8 on torch 2.14, at import
    nb = parse(Path(path), text)
    shell, count = CaptureShell(mpl_format="png"), 0
    for number, cell in enumerate(nb.cells, 1):
        if cell.cell_type == "markdown" and has_inline(cell.source):
            values = {e: _evaluate(shell, e, path, number) for e in expressions(cell.source)}
            own_meta(cell)["inline"] = values
            cell.source = fill(cell.source, values)
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
    own_meta(nb)["stamp"] = stamp(shell)
    return json.loads(nbformat.writes(nb))


def own_meta(node) -> dict:
    "A notebook's or cell's `blog` metadata, to write into; made a map if a hand edit left something else there."
    if not isinstance(node.metadata.get(META), dict):
        node.metadata[META] = {}
    return node.metadata[META]


def _evaluate(shell, expr: str, path: str, number: int) -> str:
    try:
        value = str(eval(expr, shell.user_ns))
    except Exception as e:
        raise BuildError(path, f"inline expression {expr!r} raised {type(e).__name__}: {e}", number) from None
    if why := check_value(expr, value):
        raise BuildError(path, why, number)
    return value


def inline_problems(path: Path, nb: dict) -> None:
    "Inline markup that `make execute` could not evaluate or write back is an error naming the cell, before any run."
    for number, cell in enumerate(nb["cells"], 1):
        if cell["cell_type"] == "markdown" and (found := problems(source(cell))):
            raise BuildError(path, found[0], number)


def unconverted(nb: dict) -> bool:
    "Whether a markdown cell still has Quarto's inline syntax, whose code readers of the notebook would see."
    return any(quarto(source(c)) for c in markdown_cells(nb))


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
    todo: dict[Path, bytes] = {}
    for path in paths:
        data, nb = load(path, validate=False)  # a notebook that runs is validated in its worker
        inline_problems(path, nb)
        why = [f"{', '.join(part)} changed" for part in [changed(nb, path, root)] if part]
        why += ["inline values to write"] if not why and unconverted(nb) else []
        if force or why:
            todo[path] = data
            log(f"  run    {path} ({', '.join(why) or 'forced'})")
        else:
            log(f"  fresh  {path}")
    results = run_loaded(todo, timeout)  # a failure raises here, before anything is written
    for path in results:  # all checked first, so that a refusal, too, leaves every file as it was
        refuse_if_changed(path, todo[path])
    for path, fresh in results.items():
        write_back(path, fresh, root, todo[path])
    return list(todo)


def write_back(path: Path, fresh: dict, root: Path, ran: bytes) -> None:
    """Store fresh outputs, inline values, the stamp and the key of the notebook that ran, whose bytes
    were `ran`. Sources stay byte for byte as they were, but for the inline values written into markdown
    cells. Refuses if the file no longer holds those bytes."""
    import nbformat

    old = parse(path, ran.decode("utf-8"))
    fresh = nbformat.from_dict(fresh)
    for cell, new in zip(old.cells, fresh.cells, strict=True):
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = new.outputs, new.execution_count
        elif cell.cell_type == "markdown" and has_inline(cell.source):
            cell.source = source(new)
        if META in new.metadata:
            cell.metadata[META] = new.metadata[META]
    old.metadata[META] = fresh.metadata[META]
    old.metadata[META]["key"] = key_parts(old, path, root)
    data = (nbformat.writes(old) + "\n").encode()
    refuse_if_changed(path, ran)
    write_atomic(path, data)


def refuse_if_changed(path: Path, ran: bytes) -> None:
    "Outputs of the code that ran must not be stored over code edited meanwhile, under a key for the new code."
    try:
        unchanged = path.read_bytes() == ran
    except OSError:
        unchanged = False
    if not unchanged:
        raise BuildError(path, "changed while it ran; run `make execute` again")


def run_fresh(paths: list[Path], root: Path, timeout: int | None = 600) -> dict[Path, dict]:
    "`run_loaded` on the notebooks at `paths` as they are now (`root` is not needed; kept for callers)."
    return run_loaded({p: load(p)[0] for p in paths}, timeout)


def run_loaded(notebooks: dict[Path, bytes], timeout: int | None = 600) -> dict[Path, dict]:
    """`run_notebook` on each notebook's bytes, two at a time, each in a fresh worker process (so the
    caller's working folder and modules stay as they were). See `workers.run_all`."""
    jobs = {path: (str(path.resolve()), data.decode(), timeout) for path, data in notebooks.items()}
    return run_all(run_notebook, jobs)


def notebooks(root: Path, paths: list[Path] | None = None) -> list[Path]:
    return sorted(paths) if paths else sorted((root / "_notebooks").glob("*.ipynb"))
