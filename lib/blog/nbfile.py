"""Loading a notebook file for every tool: the build, `make execute`, the lint, the gate and handouts.

What they all rely on is checked with the standard library first (nbformat is slow to import), so
that any file that is not a usable notebook is a BuildError naming it, and the cell at fault."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from lib.blog.errors import BuildError, read_text


def check_cells(path: Path, nb: dict) -> None:
    "What the cache key and every tool here rely on, with a message a person can act on."
    if not isinstance(nb.get("cells"), list):
        raise BuildError(path, "is not a Jupyter notebook: it has no list of cells")
    for number, cell in enumerate(nb["cells"], 1):
        if not isinstance(cell, dict) or cell.get("cell_type") not in ("code", "markdown", "raw"):
            raise BuildError(path, "cell has no cell_type of code, markdown or raw", number)
        text = cell.get("source")
        if not (isinstance(text, str) or isinstance(text, list) and all(isinstance(s, str) for s in text)):
            raise BuildError(path, "cell has no source text", number)
        if not isinstance(cell.setdefault("metadata", {}), dict):
            raise BuildError(path, "cell metadata is not a map", number)


def load(path: Path, validate: bool = True) -> tuple[bytes, dict]:
    """A notebook's exact bytes and the notebook they hold, for execute, lint, the gate and handouts.

    Any file that is not a notebook is a BuildError naming it (and the cell at fault). With
    `validate`, the notebook is an nbformat NotebookNode checked against the notebook schema;
    without, it is the plain JSON, checked only as far as the cache key needs, because importing
    nbformat takes seconds and `make execute` must stay quick when every notebook is fresh.
    """
    text = read_text(Path(path))
    return text.encode("utf-8"), parse(path, text, validate)


def parse(path: Path, text: str, validate: bool = True) -> dict:
    "The notebook in `text` (read from `path`); see `load`."
    try:
        nb = json.loads(text)
    except (ValueError, RecursionError) as e:
        raise BuildError(path, f"is not valid JSON: {e}") from None
    if not isinstance(nb, dict):
        raise BuildError(path, "is not a Jupyter notebook: its JSON is not an object")
    if nb.get("nbformat") == 4:
        check_cells(path, nb)  # first, for plainer messages than nbformat's
    if validate or nb.get("nbformat") != 4:  # older versions are converted by nbformat
        nb = _notebook_node(path, text)
    return nb


def _notebook_node(path: Path, text: str):
    import nbformat

    try:
        # what nbformat.reads does, except that an invalid notebook raises instead of being logged
        nb = nbformat.convert(nbformat.reader.reads(text), 4)
        check_cells(path, nb)
        nbformat.validate(nb)
    except nbformat.ValidationError as e:
        raise _invalid(path, e) from None
    except BuildError:
        raise
    except Exception as e:  # nbformat's readers and upgrades fail in assorted ways on what is not a notebook
        raise BuildError(path, f"is not a Jupyter notebook: {type(e).__name__}: {e}") from None
    return nb


def _invalid(path: Path, error) -> BuildError:
    "A schema error as a BuildError naming the cell and the part of it at fault."
    where = list(getattr(error, "absolute_path", []))
    cell = where[1] + 1 if len(where) > 1 and where[0] == "cells" and isinstance(where[1], int) else None
    part = "/".join(map(str, where[2:] if cell else where))
    message = error.message.splitlines()[0] if error.message else type(error).__name__
    message = message if len(message) <= 160 else message[:157] + "..."  # a failed oneOf prints the whole cell
    return BuildError(path, f"does not follow the notebook format: {part + ': ' if part else ''}{message}", cell)


class Node(dict):
    """A notebook, or a part of one, with keys as attributes, as nbformat's NotebookNode has them. The build
    reads every notebook on every run; nbformat takes a third of a second to import, so reading does without
    it, and the render stage turns a Node into a NotebookNode (`nbformat.from_dict`) when it needs one."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name, value):
        self[name] = value

    def __deepcopy__(self, memo):
        return node(json.loads(json.dumps(self)))


def node(value, kind: type | None = None):
    "A deep copy of JSON data, every dict a `kind`: a Node, or nbformat's NotebookNode (`json_copy`)."
    kind = kind or Node
    if isinstance(value, dict):
        return kind({k: node(v, kind) for k, v in value.items()})
    if isinstance(value, list):
        return [node(v, kind) for v in value]
    return value if isinstance(value, (str, int, float, type(None))) else copy.deepcopy(value)


# What nbformat joins when it reads a notebook: text stored as a list of lines.
JOINED = ("source", "text")
KEEP_LISTS = ("application/json",)


def rejoin(nb: dict) -> dict:
    "Multi-line strings stored as lists of lines, joined, as `nbformat.reads` does."
    for cell in nb.get("cells", []):
        for key in JOINED:
            if isinstance(cell.get(key), list):
                cell[key] = "".join(cell[key])
        for output in cell.get("outputs", []):
            if isinstance(output.get("text"), list):
                output["text"] = "".join(output["text"])
            for mime, data in output.get("data", {}).items():
                if isinstance(data, list) and mime not in KEEP_LISTS and not mime.endswith("+json"):
                    output["data"][mime] = "".join(data)
    return nb


def notebook_node(nb: dict):
    "nbformat's own NotebookNode of `nb`, which nbconvert works on."
    import nbformat

    return nbformat.from_dict(nb)


def json_copy(nb):
    """A deep copy of a notebook, its dicts made NotebookNodes as `nbformat.from_dict` makes them. A tenth of
    `copy.deepcopy`'s time, which calls NotebookNode's own `__deepcopy__` at every dict and keeps a memo."""
    from nbformat.notebooknode import NotebookNode

    return node(nb, NotebookNode)
