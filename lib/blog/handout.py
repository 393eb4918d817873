"""Exercises: one notebook, two versions. The answer key is the notebook as written; the
student notebook replaces each solution cell with its task and a stub, and has no outputs.

A solution cell is flagged `#solution` or `#| solution: true` (or tagged `solution`). Its first
comment lines after the flag are the task, and stay in the student notebook. A markdown cell
flagged the same way on its first line is a written answer; students get a place to write theirs.

A code cell flagged `#| checks: true` after a solution cell holds that exercise's checks
(`lib.check.check`). In the key they record the key's answers (`make execute` stores them as
outputs); in the student notebook each becomes `check(name, expect={...})`, which compares the
student's value with the recorded one without revealing it, and the stub sets each checked name
to `...`, so that an open exercise says so and "Run All" goes on. Cells carry nbgrader's metadata
too (solution and autograded cells), so a class that grades with nbgrader can take the notebook.
"""

from __future__ import annotations

from pathlib import Path

from lib.blog.cache import write_atomic
from lib.blog.errors import BuildError
from lib.blog.execute import source
from lib.blog.flags import is_notes, markdown_solution, parse_flags
from lib.blog.nbfile import json_copy, load
from lib.check import EXPECT_MIME

STUDENT_DIR = Path("_notebooks") / "_student"  # nbdev-test and the site skip folders starting with _
STUB = "{name} = ...  # your answer"
UNCHECKED_STUB = 'print("{label}: not answered yet")  # replace this line with your answer'
CHECK_NOTE = "# Checks your answer without revealing it: the expected value is stored only as a hash."
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
    """The answer's code lines: what must never reach a student or a page that hides solutions. A bare name,
    showing the result, is not one: the stub and the checks name it too."""
    lines = [line.strip() for line in parse_flags(cell.source)[3].splitlines()]
    return [line for line in lines if line and not line.startswith("#") and not line.isidentifier()]


def nbgrader_of(cell) -> dict:
    "A cell's nbgrader metadata; {} where a submission holds anything else there."
    found = cell.get("metadata", {}).get("nbgrader")
    return found if isinstance(found, dict) else {}


def tags_of(cell) -> list:
    "A cell's tags; [] where a submission holds anything else there."
    found = cell.get("metadata", {}).get("tags")
    return found if isinstance(found, list) else []


def is_check(cell) -> bool:
    """A cell of checks: flagged `#| checks: true` (in the key), or marked autograded by nbgrader's metadata
    (in a student notebook). A cell may be a notebook node or the plain JSON of a submission."""
    flagged = cell["cell_type"] == "code" and parse_flags(source(cell))[1].get("checks", "").lower() == "true"
    return flagged or nbgrader_of(cell).get("grade") is True


def expectations(cell, path, number: int) -> list[dict]:
    "The answers the key's check cell recorded when it ran (`make execute` stores them)."
    found = [o["data"][EXPECT_MIME] for o in cell.get("outputs", []) if EXPECT_MIME in o.get("data", {})]
    if not found:
        raise BuildError(path, "check cell has no recorded answers: run `make execute` on the answer key", number)
    return found


def exercises(nb) -> list[tuple[int, int | None]]:
    "(solution cell, its check cell or None) of each exercise, by index: a check cell checks the solution above it."
    found = []
    for i, cell in enumerate(nb.cells):
        if is_solution(cell):
            found.append((i, None))
        elif is_check(cell) and found and found[-1][1] is None:
            found[-1] = (found[-1][0], i)
    return found


def check_source(expects: list[dict], label: str) -> str:
    calls = [f"check({e['name']!r}, expect={ ({'label': label} | e)!r})" for e in expects]
    return "\n".join(["#| checks: true", CHECK_NOTE, *calls])


def stub(cell, expects: list[dict], label: str) -> str:
    lines = [STUB.format(name=e["name"]) for e in expects] or [UNCHECKED_STUB.format(label=label)]
    return "\n".join(filter(None, [task(cell), *dict.fromkeys(lines)]))


def nbgrader(cell, grade_id: str, solution: bool) -> None:
    meta = {"grade": not solution, "grade_id": grade_id, "locked": not solution, "schema_version": 3}
    cell.metadata["nbgrader"] = meta | {"solution": solution, "task": False} | ({} if solution else {"points": 1})


def student_notebook(nb, path=None):
    """Solutions become task + stub, checks compare with the key's answers; speaker notes are left out, outputs
    and run details cleared."""
    student = json_copy(nb)
    for k, (i, j) in enumerate(exercises(student), 1):
        label, cell = f"Exercise {k}", student.cells[i]
        expects = expectations(student.cells[j], path, j + 1) if j is not None else []
        if cell.cell_type == "markdown":
            cell.source = WRITTEN_STUB
        else:
            cell.source = stub(cell, expects, label)
        cell.metadata["tags"] = [t for t in cell.metadata.get("tags", []) if t != "solution"] + ["exercise"]
        nbgrader(cell, f"exercise-{k}", True)
        if j is not None:
            student.cells[j].source = check_source(expects, label)
            nbgrader(student.cells[j], f"exercise-{k}-check", False)
    return cleared(student)


def cleared(nb):
    nb.metadata.pop("blog", None)
    nb.cells = [cell for cell in nb.cells if not is_notes(cell)]
    for cell in nb.cells:
        cell.metadata.pop("blog", None)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            cell.metadata.pop("execution", None)
    return nb


def has_exercises(nb) -> bool:
    return any(is_solution(c) for c in nb.cells)


def student_path(root: Path, notebook: Path) -> Path:
    return root / STUDENT_DIR / notebook.name


def student_bytes(nb, path=None) -> bytes:
    import nbformat  # slow to import, and a warm build writes no student notebook

    # v4.writes, as nbformat.writes calls after a validation whose failure it only logs: the same bytes, sooner.
    return (nbformat.v4.writes(student_notebook(nb, path)) + "\n").encode()


def write_handouts(root: Path, notebooks: list[Path], log=print) -> list[Path]:
    "`make handouts`: write the student notebook of each post with exercises into _notebooks/_student/."
    written = []
    for path in notebooks:
        _, nb = load(path)
        if not has_exercises(nb):
            continue
        dest = student_path(root, path)
        dest.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(dest, student_bytes(nb, path))
        written.append(dest)
        log(f"  wrote  {dest}")
    return written


def class_folder(root: Path, out: Path, kernel: str | None = None, log=print) -> list[Path]:
    """`make class-lab`: the folder a class's JupyterLab serves, holding the student notebooks only (never the
    keys). A notebook already there is the class's work and stays as it is; new ones are copied in, set to
    open with `kernel` (the class's sandboxed kernel) when one is named."""
    import json

    out.mkdir(parents=True, exist_ok=True)
    added = []
    for path in sorted((root / STUDENT_DIR).glob("*.ipynb")):
        if not (out / path.name).exists():
            nb = json.loads(path.read_text(encoding="utf-8"))
            if kernel:
                nb.setdefault("metadata", {})["kernelspec"] = {
                    "name": kernel,
                    "display_name": "Python 3 (class sandbox)",
                    "language": "python",
                }
            write_atomic(out / path.name, (json.dumps(nb, indent=1, ensure_ascii=False) + "\n").encode())
            added.append(out / path.name)
    log(f"{out}: {len(list(out.glob('*.ipynb')))} student notebook(s), {len(added)} new")
    return added
