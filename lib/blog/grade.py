"""`make grade SUBMISSIONS=folder/`: run each submitted student notebook, write a gradebook and feedback.

Each submission runs headlessly in a process of its own, with a time limit on every cell and one on the
whole notebook, so a notebook that is not JSON, raises, loops forever or kills its own process costs
that student's row and nothing else. Cells that raise do not stop the run: later exercises still count.

The checks are the answer key's, not the student's: every check cell in a submission is dropped, and
the key's check cells (with the expected answers, see handout.py) go back in after the exercises they
check. A student who edits or deletes a check cell changes nothing.

Written into the output folder (default `_grades/`): `gradebook.csv` (one row per student file, each
exercise's result, the total) and `feedback/<student>.md`, a short note per student.
"""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from lib.blog.cache import write_atomic
from lib.blog.errors import BuildError
from lib.blog.handout import is_check, student_notebook
from lib.blog.nbfile import load
from lib.check import RESULT_MIME

STARTUP = 120  # seconds a notebook may take beyond its cells' limits: starting Python, importing the kernel


def key_checks(key: Path) -> list[str]:
    "The source of each exercise's check cell in the student notebook made from the key, in order."
    _, nb = load(key)
    student = student_notebook(nb, key)
    found = [c.source for c in student.cells if is_check(c)]
    if not found:
        raise BuildError(key, "has no exercise with checks to grade")
    return found


def graded_cells(cells: list[dict], checks: list[str]) -> list[dict]:
    """The submission's cells with its check cells replaced by the key's: each goes after the k-th exercise
    cell (tagged `exercise`), or at the end when the student removed that exercise."""
    kept = [c for c in cells if not is_check(c)]
    spots = [i for i, c in enumerate(kept) if "exercise" in c.get("metadata", {}).get("tags", [])]
    for k in reversed(range(len(checks))):
        at = spots[k] + 1 if k < len(spots) else len(kept)
        cell = {"cell_type": "code", "source": checks[k], "metadata": {"grade_id": k}, "outputs": []}
        kept.insert(at, cell)
    return kept


def run_one(cells: list[dict], folder: str, timeout: int) -> dict:
    """In the grading process: run the code cells in order; a cell that raises is noted and the run goes on.
    A cell that times out ends the run, since it may still be running. Returns each check's results."""
    from execnb.shell import CaptureShell

    os.chdir(folder)
    shell, results, errors = CaptureShell(mpl_format=None), {}, []
    for number, cell in enumerate(cells, 1):
        if cell["cell_type"] != "code":
            continue
        outputs = shell.run("".join(cell["source"]), timeout=timeout)
        if isinstance(shell.exc, TimeoutError):
            errors.append(f"cell {number} ran longer than {timeout} s; the notebook was stopped there")
            break
        if shell.exc is not None:
            errors.append(f"cell {number} raised {type(shell.exc).__name__}: {first_line(shell.exc)}")
        if "grade_id" in cell["metadata"]:
            found = [o["data"][RESULT_MIME] for o in outputs if RESULT_MIME in o.get("data", {})]
            results[cell["metadata"]["grade_id"]] = found
    return {"results": results, "errors": errors}


def first_line(error: BaseException) -> str:
    return next(iter(str(error).splitlines()), "")


def child() -> None:
    "Entry point of a grading process: the job as JSON on stdin, the outcome as JSON on the last stdout line."
    job = json.loads(sys.stdin.read())
    outcome = run_one(job["cells"], job["folder"], job["timeout"])
    # Straight to the file descriptor: a cell that timed out may still hold sys.stdout captured.
    os.write(1, ("\n" + json.dumps(outcome) + "\n").encode())
    os._exit(0)  # a timed-out cell may still be running in a thread: do not wait for it


def run_submission(path: Path, checks: list[str], folder: Path, timeout: int) -> dict:
    "The outcome of one submission, whatever the notebook does."
    try:
        _, nb = load(path, validate=False)
    except BuildError as e:
        return {"results": {}, "errors": [f"not a notebook this can run: {e}"]}
    cells = graded_cells(nb["cells"], checks)
    job = json.dumps({"cells": cells, "folder": str(folder), "timeout": timeout})
    limit = timeout * sum(c["cell_type"] == "code" for c in cells) + STARTUP
    command = [sys.executable, "-c", "from lib.blog.grade import child; child()"]
    proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True, start_new_session=True)  # fmt: skip
    try:
        out, _ = proc.communicate(job, timeout=limit)
    except subprocess.TimeoutExpired:
        out = ""
    finally:
        kill_group(proc)
    try:
        return json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError):  # killed, exited early, or printed over our line
        return {"results": {}, "errors": [f"the notebook's process ended without a result (exit {proc.returncode})"]}


def kill_group(proc) -> None:
    "The process and anything it started (a kernel, a child a student's cell spawned)."
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def verdicts(outcome: dict, n: int) -> list[tuple[str, list[str]]]:
    "(status, messages) of each of `n` exercises."
    found = []
    for k in range(n):
        results = outcome["results"].get(str(k), outcome["results"].get(k))
        if results is None:
            found.append(("not run", [f"Exercise {k + 1}: its checks did not run (see the problems below)."]))
        elif not results:
            found.append(("error", [f"Exercise {k + 1}: its checks raised an error before they could say anything."]))
        else:
            statuses = [r["status"] for r in results]
            status = "pass" if set(statuses) == {"pass"} else "unanswered" if "unanswered" in statuses else "fail"
            found.append((status, [r["message"] for r in results]))
    return found


def feedback(name: str, rows: list[tuple[str, list[str]]], errors: list[str]) -> str:
    lines = [f"# Feedback: {name}", "", f"{sum(s == 'pass' for s, _ in rows)} of {len(rows)} exercises correct.", ""]
    lines += [f"- {' '.join(messages)}" for _, messages in rows]
    lines += ["", "Problems while running your notebook:", *[f"- {e}" for e in errors]] if errors else []
    return "\n".join(lines) + "\n"


def student_name(path: Path, folder: Path) -> str:
    return path.relative_to(folder).with_suffix("").as_posix().replace("/", "__")


def grade(submissions: Path, key: Path, out: Path, timeout: int = 60, log=print) -> list[list[str]]:
    "Grade every .ipynb under `submissions` against `key`; write the gradebook and feedback into `out`."
    checks = key_checks(key)
    paths = sorted(p for p in submissions.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
    if not paths:
        raise BuildError(submissions, "holds no .ipynb files to grade")
    with ThreadPoolExecutor(2) as pool:
        outcomes = list(pool.map(lambda p: run_submission(p, checks, key.parent.resolve(), timeout), paths))
    header = ["student file", *[f"exercise {k}" for k in range(1, len(checks) + 1)], "total", "out of"]
    rows = []
    for path, outcome in zip(paths, outcomes, strict=True):
        name, found = student_name(path, submissions), verdicts(outcome, len(checks))
        write_atomic(out / "feedback" / f"{name}.md", feedback(name, found, outcome["errors"]).encode())
        rows.append(
            [
                path.relative_to(submissions).as_posix(),
                *[s for s, _ in found],
                str(sum(s == "pass" for s, _ in found)),
                str(len(checks)),
            ]
        )
        log(f"  graded {path}: {rows[-1][-2]}/{len(checks)}")
    table = io.StringIO()
    csv.writer(table).writerows([header, *rows])
    write_atomic(out / "gradebook.csv", table.getvalue().encode())
    return rows


TEACHER_README = """# The teacher's folder

Written by `make teacher`; keep it to yourself (it is outside `_site` and ignored by git).

- `answer-keys/`: each post with exercises as written, answers and outputs included.
- `site/`: the whole blog with every answer shown, the teacher's guide with its answers too.
  Open `site/index.html`, or serve it: `python -m http.server -d {out}/site 8000`.
- Grading: collect the students' notebooks in one folder and run
  `make grade SUBMISSIONS=that/folder/` in the repository (one key: {keys}).
  It writes `_grades/gradebook.csv` and `_grades/feedback/<student>.md`.
"""


def teacher_folder(root: Path, out: Path, log=print) -> list[Path]:
    "`make teacher`: the answer keys, the site with answers shown, and how to grade, in `out`."
    from lib.blog.build import build
    from lib.blog.execute import notebooks
    from lib.blog.handout import has_exercises

    keys = [p for p in notebooks(root) if has_exercises(load(p)[1])]
    for path in keys:
        write_atomic(out / "answer-keys" / path.name, path.read_bytes())
    build(root, out / "site", answers=True, log=lambda line: None)
    names = ", ".join(f"`KEY={p.relative_to(root).as_posix()}`" for p in keys) or "none yet"
    write_atomic(out / "README.md", TEACHER_README.format(out=out, keys=names).encode())
    log(f"Wrote {out}: {len(keys)} answer key(s), the site with answers, README.md")
    return keys
