"""Exercises: one notebook, two versions. The answer key is the notebook as written; the
student notebook replaces each solution cell with its task and a stub, and has no outputs.

A solution cell is flagged `#solution` or `#| solution: true` (or tagged `solution`). Its first
comment lines after the flag are the task, and stay in the student notebook. A markdown cell
flagged the same way on its first line is a written answer; students get a place to write theirs.
"""

from __future__ import annotations

import copy
from pathlib import Path

from lib.blog.cache import write_atomic
from lib.blog.flags import markdown_solution, parse_flags
from lib.blog.nbfile import load

STUDENT_DIR = Path("_notebooks") / "_student"  # nbdev-test and the site skip folders starting with _
STUB = 'raise NotImplementedError("Exercise: replace this line with your answer")'
WRITTEN_STUB = "**Your answer:** _write it here._"


def is_solution(cell) -> bool:
    if cell.cell_type == "markdown":
        return markdown_solution(cell)
    return cell.cell_type == "code" and (
        "solution" in cell.metadata.get("tags", []) or "solution" in parse_flags(cell.source)[0]
    )


def task(cell) -> str:
    "The comment lines at the top of a solution cell, after its flags."
    body = parse_flags(cell.source)[3].splitlines()
    comments = []
    for line in body:
        if not line.startswith("#"):
            break
        comments.append(line)
    return "\n".join(comments)


def solution_lines(cell) -> list[str]:
    "The answer's code lines: what must never reach a student or a page that hides solutions."
    return [
        line.strip() for line in parse_flags(cell.source)[3].splitlines() if line.strip() and not line.startswith("#")
    ]


def student_notebook(nb):
    "Solutions become task + stub; every output, count and stored run detail is cleared."
    student = copy.deepcopy(nb)
    student.metadata.pop("blog", None)
    for cell in student.cells:
        cell.metadata.pop("blog", None)
        if is_solution(cell) and cell.cell_type == "markdown":
            cell.source, cell.metadata["tags"] = WRITTEN_STUB, ["exercise"]
        if cell.cell_type != "code":
            continue
        if is_solution(cell):
            cell.source = "\n".join(filter(None, [task(cell), STUB]))
            cell.metadata["tags"] = [t for t in cell.metadata.get("tags", []) if t != "solution"] + ["exercise"]
        cell.outputs, cell.execution_count = [], None
        cell.metadata.pop("execution", None)
    return student


def has_exercises(nb) -> bool:
    return any(is_solution(c) for c in nb.cells)


def student_path(root: Path, notebook: Path) -> Path:
    return root / STUDENT_DIR / notebook.name


def student_bytes(nb) -> bytes:
    import nbformat  # slow to import, and a warm build writes no student notebook

    return (nbformat.writes(nbformat.from_dict(student_notebook(nb))) + "\n").encode()


def write_handouts(root: Path, notebooks: list[Path], log=print) -> list[Path]:
    "`make handouts`: write the student notebook of each post with exercises into _notebooks/_student/."
    written = []
    for path in notebooks:
        _, nb = load(path)
        if not has_exercises(nb):
            continue
        dest = student_path(root, path)
        dest.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(dest, student_bytes(nb))
        written.append(dest)
        log(f"  wrote  {dest}")
    return written
