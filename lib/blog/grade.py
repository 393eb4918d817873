"""`make grade SUBMISSIONS=folder/`: run each submitted student notebook in a sandbox, grade it outside.

Every submission is hostile until proven otherwise. Its code cells run in order in a bubblewrap sandbox
(`sandbox.py`, `grade_run.py`) with a time limit on each cell and one on the whole notebook that comes
from the answer key, not from the submission, so no student can stretch it. A cell that raises or runs
too long is noted and the cells after it still run. The sandbox hands back data only: the values of the
names the key checks, as they stand after each cell from the exercise to the next exercise (an answer in
a new cell below counts) and at the end of the notebook, wherever the student computed them. The grader
compares those values with the key's
expectations in its own process. A student's own check cells never run; redefining `check`, printing a
fake result or exiting early changes nothing but that student's values.

Points: one per check (a `check(...)` call of the key), so a two-part exercise gives partial credit.
Exercises with no checks (written answers, open tasks) are marked by hand in `rubric.csv`, and their
points merge into the gradebook on the next run. Each run writes `<out>/<assignment>/` afresh (the
rubric's marks are kept): `gradebook.csv`, `canvas.csv`, `moodle.csv`, `rubric.csv` and `feedback/`.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from lib.blog.cache import write_atomic
from lib.blog.errors import BuildError
from lib.blog.execute import source
from lib.blog.gradebook import Row, student_ids, write_results
from lib.blog.handout import exercises, expectations, is_check, nbgrader_of, student_notebook, tags_of
from lib.blog.nbfile import load
from lib.blog.sandbox import Limits, check_bwrap, slot_uid, start
from lib.check import Undefined, from_wire, verdict

STARTUP = 120  # seconds a notebook may take beyond its cells: starting Python, importing torch and fastai
CHANNEL_CAP = 64 << 20  # bytes of values a sandbox may send back


@dataclass
class Exercise:
    number: int
    label: str
    checks: list[dict]  # the key's expectations, one per check; none: marked by hand (rubric.csv)

    @property
    def grade_id(self) -> str:
        return f"exercise-{self.number}"


@dataclass
class Assignment:
    key: Path
    name: str
    title: str
    exercises: list[Exercise]
    markdown: set[str]  # the student notebook's markdown cells: what tells the right notebook from another
    code_cells: int

    @property
    def max_points(self) -> int:
        return sum(len(e.checks) for e in self.exercises)


def assignment(key: Path) -> Assignment:
    "What grading needs of an answer key: its exercises and the expectations its checks recorded."
    _, nb = load(key)
    student, found = student_notebook(nb, key), []
    for k, (_, j) in enumerate(exercises(nb), 1):
        checks = expectations(nb.cells[j], key, j + 1) if j is not None else []
        found.append(Exercise(k, f"Exercise {k}", checks))
    if not found:
        raise BuildError(key, "has no exercises to grade")
    texts = {c.source.strip() for c in student.cells if c.cell_type == "markdown" and c.source.strip()}
    heading = next((t.splitlines()[0] for t in sorted(texts) if t.startswith("# ")), "")
    title = heading.lstrip("# ").strip().strip("\"'") or key.stem  # a fastpages title may be quoted YAML
    code = sum(c.cell_type == "code" for c in student.cells)
    return Assignment(key, key.stem, title, found, texts, code)


@dataclass
class Outcome:
    "What one submission's run gave: values per exercise, problems, written answers."

    values: dict[int, dict[str, object]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    written: dict[int, str] = field(default_factory=dict)
    wrong_notebook: bool = False


def exercise_cells(cells: list[dict], work: Assignment) -> dict[int, int]:
    "Index of each exercise's cell in a submission: by nbgrader's grade_id, else the k-th `exercise` tag."
    by_id = {}
    for i, cell in enumerate(cells):
        if isinstance(grade_id := nbgrader_of(cell).get("grade_id"), str):
            by_id.setdefault(grade_id, i)
    tagged = [i for i, c in enumerate(cells) if "exercise" in tags_of(c)]
    found = {}
    for k, e in enumerate(work.exercises):
        at = by_id.get(e.grade_id, tagged[k] if k < len(tagged) else None)
        if at is not None:
            found[e.number] = at
    return found


def job_of(cells: list[dict], spots: dict[int, int], work: Assignment, timeout: float) -> dict:
    """The harness's job: the code cells to run (the student's check cells left out: the key's checks are
    compared outside), and each checked exercise's span of them: from its cell (`spots`) to the next exercise's."""
    run = [i for i, c in enumerate(cells) if c["cell_type"] == "code" and not is_check(c)]
    position = lambda at: next((n for n, i in enumerate(run) if i >= at), len(run))  # noqa: E731
    spans = []
    for e in (e for e in work.exercises if e.checks):
        first = position(spots[e.number]) if e.number in spots else 0
        later = [spots[x.number] for x in work.exercises if x.number > e.number and x.number in spots]
        stop = position(min(later)) if later else len(run)
        spans.append([e.number, first, max(stop, first + 1), [c["name"] for c in e.checks]])
    cells_out = [{"number": i + 1, "source": source(cells[i])} for i in run]
    return {"cells": cells_out, "spans": spans, "timeout": timeout}


def looks_wrong(cells: list[dict], spots: dict[int, int], work: Assignment) -> bool:
    "A notebook with none of the exercise cells and few of the assignment's texts is another notebook."
    texts = {source(c).strip() for c in cells if c["cell_type"] == "markdown"}
    shared = len(texts & work.markdown) / max(1, len(work.markdown))
    return not spots and shared < 0.25


def written_answers(cells: list[dict], spots: dict[int, int], work: Assignment) -> dict[int, str]:
    return {e.number: source(cells[spots[e.number]]) for e in work.exercises if not e.checks and e.number in spots}


def read_channel(proc, fd: int, deadline: float) -> tuple[bytes, str | None]:
    "What the sandbox sent until it ended, the deadline passed or the cap was reached; and why it stopped early."
    chunks, size = [], 0
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return b"".join(chunks), "ran past the time limit for the whole notebook and was stopped"
        ready, _, _ = select.select([fd], [], [], min(left, 1.0))
        if not ready:
            continue
        data = os.read(fd, 1 << 16)
        if not data:
            return b"".join(chunks), None
        size += len(data)
        if size > CHANNEL_CAP:
            return b"".join(chunks), "sent back more data than a grade needs and was stopped"
        chunks.append(data)


def parse_lines(data: bytes, work: Assignment, outcome: Outcome) -> bool:
    "Read the harness's lines into `outcome`, trusting none of them; whether the run reached its end."
    done, by_number = False, {e.number: e for e in work.exercises}
    end_values: dict[int, dict] = {}
    for line in data.splitlines():
        try:
            message = json.loads(line)
        except (ValueError, RecursionError):
            continue
        if not isinstance(message, dict):
            continue
        if isinstance(message.get("problem"), str) and len(outcome.problems) < 50:
            outcome.problems.append(message["problem"][:500])
        done = done or message.get("done") is True
        number, values = message.get("exercise"), message.get("values")
        exercise = by_number.get(number) if type(number) is int else None  # a forged line may hold anything
        if exercise is None or not isinstance(values, dict):
            continue
        store = outcome.values if message.get("when") == "span" else end_values
        store[exercise.number] = {c["name"]: decoded(values.get(c["name"])) for c in exercise.checks}
    for number, values in end_values.items():  # the end of the notebook, for names still open where the exercise ended
        now = outcome.values.setdefault(number, {})
        for name, value in values.items():
            if any(now.get(name, Undefined) is missing for missing in (Undefined, ...)):
                now[name] = value
    return done


def decoded(data):
    try:
        return Undefined if data is None else from_wire(data)
    except (ValueError, TypeError, OverflowError, MemoryError):
        return Undefined


@dataclass
class Settings:
    timeout: float = 60  # seconds a cell may take
    jobs: int = 0  # submissions at a time; 0: one per core
    sandboxed: bool = True
    limits: Limits = field(default_factory=Limits)
    whole: float | None = None  # seconds the whole notebook may take; None: from the key

    def total(self, work: Assignment) -> float:
        "The wall-clock limit of one submission: the key's code cells at the cell limit, whatever the student adds."
        return self.whole or STARTUP + self.timeout * max(1, work.code_cells)


def feed(proc, text: str) -> None:
    try:
        proc.stdin.write(text.encode())
        proc.stdin.close()
    except OSError:  # the sandbox ended before it read its job; its exit says why
        pass


def end(proc) -> None:
    "The sandbox and all it started. bwrap's own init takes the sandbox's processes with it."
    if proc is None:
        return
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def run_submission(path: Path, work: Assignment, root: Path, settings: Settings, slot: int) -> Outcome:
    "The outcome of one submission, whatever its notebook does."
    outcome = Outcome()
    try:
        _, nb = load(path, validate=False)  # checks each cell's type, source and metadata (nbfile.check_cells)
    except BuildError as e:
        outcome.problems.append(f"not a notebook this can run: {e.message}")
        return outcome
    cells = nb["cells"]
    spots = exercise_cells(cells, work)
    outcome.wrong_notebook = looks_wrong(cells, spots, work)
    outcome.written = written_answers(cells, spots, work)
    read_end, write_end = os.pipe()
    job = job_of(cells, spots, work, settings.timeout) | {"uid": slot_uid(slot, settings.sandboxed), "fd": write_end}
    folder, proc = Path(tempfile.mkdtemp(prefix="grade-")), None
    try:
        proc = start(root, settings.limits, settings.sandboxed, write_end, folder, path)
        os.close(write_end)
        write_end = None
        feed(proc, json.dumps(job))
        data, stopped = read_channel(proc, read_end, time.monotonic() + settings.total(work))
    finally:
        os.close(read_end)
        if write_end is not None:
            os.close(write_end)
        end(proc)
        shutil.rmtree(folder, ignore_errors=True)
    done = parse_lines(data, work, outcome)
    if stopped or not done:
        why = stopped or f"ended before its last cell (exit {proc.returncode})"
        outcome.problems.append(f"the notebook {why}; the values it had computed by then were graded")
    return outcome


def score(work: Assignment, outcome: Outcome) -> list[tuple[Exercise, list[tuple[int, str]]]]:
    "(exercise, [(points, message) per check]) for the checked exercises, compared here, in the grader."
    found = []
    for e in (e for e in work.exercises if e.checks):
        values, marks = outcome.values.get(e.number, {}), []
        for expect in e.checks:
            value = values.get(expect["name"], Undefined)
            said = verdict(e.label, expect["name"], value, expect | {"label": e.label})
            marks.append((int(said.status == "pass"), said.message))
        found.append((e, marks))
    return found


def grade(
    submissions: Path, key: Path, out: Path, settings: Settings | None = None, log=print, progress=False
) -> list[Row]:
    """Grade every .ipynb under `submissions` against `key`; write `out/<assignment>/`. Returns the rows."""
    settings = settings or Settings()
    if settings.sandboxed:
        check_bwrap()
    work, root = assignment(key), Path(__file__).resolve().parents[2]
    paths = sorted(p for p in submissions.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts and p.is_file())
    if not paths:
        raise BuildError(submissions, "holds no .ipynb files to grade")
    handed_in = [p for p in paths if not is_link(p, submissions)]
    done = dict(zip(handed_in, run_all(handed_in, work, root, settings, progress), strict=True))
    outcomes = [done.get(p) or Outcome(problems=[LINKED]) for p in paths]
    ids = student_ids([p.relative_to(submissions) for p in paths])
    rows = [
        Row(s, p.relative_to(submissions).as_posix(), score(work, o), o)
        for s, p, o in zip(ids, paths, outcomes, strict=True)
    ]
    folder = write_results(out / work.name, work, rows)
    for row in rows:
        log(f"  graded {row.file}: {row.points()}/{row.max_points(work)}")
    log(f"Graded {len(rows)} notebook(s) against {key}: {folder / 'gradebook.csv'}")
    return rows


LINKED = "not graded: a link to another file, not a notebook handed in"


def is_link(path: Path, folder: Path) -> bool:
    "A link, or a path through one out of the folder: it could hand in the answer key or another student's work."
    return path.is_symlink() or not path.resolve().is_relative_to(folder.resolve())


def run_all(paths: list[Path], work: Assignment, root: Path, settings: Settings, progress: bool) -> list[Outcome]:
    "Each submission in a sandbox of its own, as many at a time as `settings.jobs` (default: one per core)."
    from tqdm import tqdm

    jobs = settings.jobs or os.cpu_count() or 1
    slots, lock = list(range(jobs)), threading.Lock()
    bar = tqdm(total=len(paths), unit="notebook", desc="Grading", disable=not progress, smoothing=0)

    def one(path: Path) -> Outcome:
        with lock:
            slot = slots.pop()
        try:
            return run_submission(path, work, root, settings, slot)
        finally:
            with lock:
                slots.append(slot)
                bar.update()

    with ThreadPoolExecutor(jobs) as pool:
        found = list(pool.map(one, paths))
    bar.close()
    return found


TEACHER_README = """# The teacher's folder

Written by `make teacher`; keep it to yourself (it is outside `_site` and ignored by git).

- `answer-keys/`: each post with exercises as written, answers and outputs included.
- `site/`: the whole blog with every answer shown, the teacher's guide with its answers too.
  Read it at its own address, under the blog's baseurl: `make serve-teacher` (or
  `python -m lib.blog serve --site {out}/site --no-build`), then open the address it prints.
- Grading: collect the students' notebooks in one folder and run
  `make grade SUBMISSIONS=that/folder/` in the repository (one key: {keys}).
  It writes `_grades/<assignment>/`: `gradebook.csv`, `canvas.csv`, `moodle.csv`, `rubric.csv`
  and `feedback/<student>.md`.
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
