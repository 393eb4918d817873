"""`make classroom KEY=...`: an assignment's template repository for GitHub Classroom, graded on each push.

A class of 300 should not queue on the teacher's laptop. GitHub Classroom copies the template repository
for each student; each push runs `.github/workflows/classroom.yml` in that student's own Actions runner.
The workflow grades the notebook with the same sandboxed grader as `make grade` and reports one test per
check through GitHub Classroom's autograding actions (`autograding-command-grader`, then
`autograding-grading-reporter`), so the points appear in the Classroom's assignment view.

The template holds what the student notebook already holds, and nothing of the key beyond it: the
student notebook, this blog's public `lib/`, `requirements.txt`, and `.github/grading/assignment.json`
with the exercises and the expectations the key recorded (hashes, as in the student notebook). A student
owns their repository and can edit any of it, the workflow included: the teacher's `make grade` on the
collected notebooks stays the grade to trust (README, "Teaching with it").
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import sys
from dataclasses import asdict
from pathlib import Path

from lib.blog.cache import write_atomic
from lib.blog.errors import BuildError
from lib.blog.grade import Assignment, Exercise, Settings, assignment, run_submission, score
from lib.blog.handout import student_bytes
from lib.blog.nbfile import load
from lib.blog.sandbox import check_bwrap

ASSIGNMENT = Path(".github") / "grading" / "assignment.json"
RESULTS = "grading-results.json"
GRADE_COMMAND = ["python", "-m", "lib.blog", "classroom-grade"]
GRADER = "classroom-resources/autograding-command-grader@v1"
REPORTER = "classroom-resources/autograding-grading-reporter@v1"


def check_ids(work: Assignment) -> list[tuple[str, str, Exercise]]:
    "(step id, test name, exercise) of each check: ids GitHub Actions accepts, unique, stable across runs."
    found = []
    for e in (e for e in work.exercises if e.checks):
        for c in e.checks:
            slug = re.sub(r"[^a-z0-9]+", "-", c["name"].lower()).strip("-")[:40] or "check"
            found.append((f"ex{e.number}-{slug}", f"{e.label}: {c['name']}", e))
    return found


def workflow(work: Assignment, notebook: str) -> str:
    "The Classroom workflow: install, grade once in the sandbox, one command-grader step per check, report."
    steps = [
        "      - uses: actions/checkout@v6",
        "      - uses: actions/setup-python@v6",
        "        with:",
        '          python-version: "3.11"',
        "          cache: pip",
        "      - name: Install the grader, its sandbox and the data",
        "        run: |",
        "          sudo apt-get update -q && sudo apt-get install -y -q bubblewrap",
        "          # Ubuntu 24.04 keeps unprivileged user namespaces from programs it does not know; bwrap needs one.",
        "          sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0 || true",
        "          python -m pip install -q -r requirements.txt",
        '          python -c "from lib.digits import main; raise SystemExit(main())"',
        "      - name: Grade the notebook in its sandbox",
        # Quoted for the shell, then as a YAML string: a notebook's name may hold `$`, `:` or `#`.
        f"        run: {json.dumps(shlex.join([*GRADE_COMMAND, notebook, '--out', RESULTS]))}",
    ]
    for step, name, _ in check_ids(work):
        steps += [
            f"      - name: {json.dumps(name)}",
            f"        id: {step}",
            f"        uses: {GRADER}",
            "        with:",
            f"          test-name: {json.dumps(name)}",
            f"          command: python -m lib.blog classroom-check {RESULTS} {step}",
            "          timeout: 1",
            "          max-score: 1",
        ]
    ids = [step for step, _, _ in check_ids(work)]
    steps += ["      - name: Autograding Reporter", f"        uses: {REPORTER}", "        env:"]
    steps += [f'          {step.upper()}_RESULTS: "${{{{ steps.{step}.outputs.result }}}}"' for step in ids]
    steps += ["        with:", f"          runners: {','.join(ids)}"]
    head = [
        f"# Grades {notebook} on every push: written by `make classroom` (lib/blog/classroom.py).",
        "name: Autograding Tests",
        '"on":',
        "  - push",
        "  - repository_dispatch",
        "permissions:",
        "  checks: write",
        "  actions: read",
        "  contents: read",
        "jobs:",
        "  run-autograding-tests:",
        "    runs-on: ubuntu-latest",
        "    timeout-minutes: 60",
        "    if: github.actor != 'github-classroom[bot]'",
        "    steps:",
    ]
    return "\n".join(head + steps) + "\n"


def assignment_data(work: Assignment) -> dict:
    "What the runner's grader needs of the key: no more than the student notebook holds."
    return asdict(work) | {"key": work.key.name, "markdown": sorted(work.markdown)}


def assignment_from(data: dict) -> Assignment:
    exercises = [Exercise(**e) for e in data["exercises"]]
    markdown = set(data["markdown"])
    return Assignment(Path(data["key"]), data["name"], data["title"], exercises, markdown, data["code_cells"])


STUDENT_README = """# {title}

Open `{notebook}` (in Jupyter, or in Colab), answer the exercises, and push. Every push grades the
notebook again: the Actions tab shows each check, and GitHub Classroom keeps the points. The checks in the
notebook tell you the same thing while you work.
"""


def template(root: Path, key: Path, out: Path, log=print) -> Path:
    "Write the template repository of the assignment `key` into `out` (made anew)."
    work, (_, nb) = assignment(key), load(key)
    notebook = f"{work.name}.ipynb"
    if out.exists():
        shutil.rmtree(out)
    write_atomic(out / notebook, student_bytes(nb, key))
    shutil.copytree(root / "lib", out / "lib", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy(root / "requirements.txt", out / "requirements.txt")
    write_atomic(out / ASSIGNMENT, json.dumps(assignment_data(work), indent=1).encode())
    write_atomic(out / ".github" / "workflows" / "classroom.yml", workflow(work, notebook).encode())
    write_atomic(out / "README.md", STUDENT_README.format(title=work.title, notebook=notebook).encode())
    write_atomic(out / ".gitignore", b"__pycache__/\n" + RESULTS.encode() + b"\n")
    log(f"Wrote {out}: push it as the assignment's template repository ({len(check_ids(work))} checks)")
    return out


def classroom_grade(notebook: Path, out: Path, settings: Settings | None = None, data: Path = ASSIGNMENT) -> dict:
    "On the runner: grade the student's notebook in the sandbox; each check's points and message, as JSON."
    settings = settings or Settings()
    if settings.sandboxed:
        check_bwrap()  # a runner without a working bwrap says so, instead of failing every check
    work = assignment_from(json.loads(data.read_text(encoding="utf-8")))
    root = Path(__file__).resolve().parents[2]
    outcome = run_submission(notebook, work, root, settings, 0)
    marks = [mark for _, checks in score(work, outcome) for mark in checks]
    results = {}
    for (step, _, exercise), (points, message) in zip(check_ids(work), marks, strict=True):
        results[step] = {"points": points, "message": message, "exercise": exercise.number}
    report = {"checks": results, "problems": outcome.problems, "wrong_notebook": outcome.wrong_notebook}
    write_atomic(out, json.dumps(report, indent=1).encode())
    return report


def classroom_check(results: Path, step: str) -> int:
    "One autograding test: say the check's message (and the run's problems); exit 0 when it passed."
    try:
        report = json.loads(results.read_text(encoding="utf-8"))
        found = report["checks"][step]
    except (OSError, ValueError, KeyError) as e:
        raise BuildError(results, f"has no result for {step}: did the grading step run? ({type(e).__name__})") from e
    print(found["message"])
    for problem in report.get("problems", []):
        print(f"  problem while running the notebook: {problem}", file=sys.stderr)
    return 0 if found["points"] else 1
