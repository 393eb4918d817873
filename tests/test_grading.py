"""Grading a class: each submission runs in a bubblewrap sandbox and is graded outside it, by the key.

The submissions here are real notebooks, made from the student notebook of a small answer key as a
student would: answers written in, in new cells, wrong, or hostile. Each attack is one a student could
try; each test checks that it is contained and that the grades stay right.
"""

import csv
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest
from helpers import notebook, site
from nbformat.v4 import new_code_cell, new_markdown_cell

from lib.blog.errors import BuildError
from lib.blog.execute import execute
from lib.blog.grade import Settings, grade
from lib.blog.gradebook import file_name, safe_cell
from lib.blog.handout import student_notebook

needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap (bwrap) is not installed")
pytestmark = needs_bwrap

KEY_CELLS = [
    "import numpy as np\nfrom lib.check import check",
    new_markdown_cell("**Exercise 1.** A mean."),
    new_code_cell("#| solution: true\n# Exercise 1: the mean of 1, 2 and 4, as `mean`.\nmean = np.mean([1, 2, 4])"),
    new_code_cell('#| checks: true\ncheck("mean", tol=1e-3, mistakes={"that is the median": 2.0})'),
    new_markdown_cell("**Exercise 2.** Two parts."),
    new_code_cell(
        "#| solution: true\n# Exercise 2: how many numbers, as `count`, and the word, as `word`.\n"
        'count = 3\nword = "three"'
    ),
    new_code_cell('#| checks: true\ncheck("count")\ncheck("word")'),
    new_markdown_cell("#| solution: true\nWhy is the mean not the median here? Because 4 pulls it up."),
    new_code_cell("#| solution: true\n# Exercise 4: the squares of 0 to 4, as `squares`.\nsquares = np.arange(5) ** 2"),
    new_code_cell('#| checks: true\ncheck("squares")'),
    new_code_cell('print("the end")'),
]
RIGHT = {1: "mean = 7 / 3", 2: 'count = 3\nword = "three"', 4: "squares = np.arange(5) ** 2"}
FAST = Settings(timeout=10, jobs=2)


@pytest.fixture(scope="module")
def key(tmp_path_factory) -> Path:
    "An answer key with four exercises (one written, one in two parts), run through `make execute`."
    root = site(tmp_path_factory.mktemp("key"))
    path = notebook(root, *KEY_CELLS, front_matter='# "Means and squares"\n> A small assignment')
    execute([path], root, log=lambda _: None)
    return path


def submission(key: Path, answers: dict[int, str], after: dict[int, str] | None = None, at_end: str = ""):
    """The student notebook with `answers` written into exercise k's cell, `after` in a new cell below it,
    and `at_end` in a last cell: a notebook as a student hands it in."""
    nb = student_notebook(nbformat.read(key, 4), key)
    for k, text in answers.items():
        cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == f"exercise-{k}")
        cell.source = text
    for k, text in (after or {}).items():
        at = next(
            i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == f"exercise-{k}"
        )
        nb.cells.insert(at + 1, new_code_cell(text))
    if at_end:
        nb.cells.append(new_code_cell(at_end))
    return nb


def hand_in(folder: Path, name: str, nb) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def graded(tmp_path: Path, key: Path, notebooks: dict, settings: Settings = FAST) -> dict[str, dict]:
    "Grade `notebooks` (name: notebook) against `key`; each student's gradebook row by file name."
    for name, nb in notebooks.items():
        hand_in(tmp_path / "in", name, nb)
    grade(tmp_path / "in", key, tmp_path / "out", settings, log=lambda _: None)
    return {row["file"]: row for row in gradebook_rows(tmp_path / "out" / key.stem)}


def gradebook_rows(folder: Path) -> list[dict]:
    return list(csv.DictReader((folder / "gradebook.csv").open(encoding="utf-8")))


def feedback_of(tmp_path: Path, key: Path, student: str) -> str:
    return (tmp_path / "out" / key.stem / "feedback" / file_name(student)).read_text()


# Right grades


def test_right_answers_get_every_point(tmp_path, key):
    row = graded(tmp_path, key, {"alice.ipynb": submission(key, RIGHT)})["alice.ipynb"]
    assert (row["total"], row["out of"]) == ("4", "5")  # 4 checks; the written answer waits for the rubric
    assert "1 to mark in rubric.csv" in row["notes"]


def test_an_answer_in_a_new_cell_below_the_exercise_counts(tmp_path, key):
    nb = submission(key, {}, after={1: "mean = (1 + 2 + 4) / 3", 4: "squares = [0, 1, 4, 9, 16]"})
    row = graded(tmp_path, key, {"bob.ipynb": nb})["bob.ipynb"]
    assert (row["Exercise 1: mean (of 1)"], row["Exercise 4: squares (of 1)"]) == ("1", "1")


def test_a_float_with_a_whole_value_counts_where_an_integer_is_expected(tmp_path, key):
    nb = submission(key, {2: 'count = 3.0\nword = "three"', 4: "squares = np.arange(5.0) ** 2"})
    row = graded(tmp_path, key, {"carol.ipynb": nb})["carol.ipynb"]
    assert (row["Exercise 2: count (of 1)"], row["Exercise 4: squares (of 1)"]) == ("1", "1")


def test_each_part_of_an_exercise_earns_its_own_point(tmp_path, key):
    row = graded(tmp_path, key, {"dan.ipynb": submission(key, {2: 'count = 3\nword = "four"'})})["dan.ipynb"]
    assert (row["Exercise 2: count (of 1)"], row["Exercise 2: word (of 1)"]) == ("1", "0")
    assert "Exercise 2, 1 of 2" in feedback_of(tmp_path, key, "dan")


def test_a_cell_that_loops_or_raises_does_not_stop_the_exercises_after_it(tmp_path, key):
    nb = submission(key, {1: "while True:\n    pass", 2: "count = 1 / 0", 4: RIGHT[4]})
    row = graded(tmp_path, key, {"erin.ipynb": nb}, Settings(timeout=2, jobs=1))["erin.ipynb"]
    assert (row["Exercise 1: mean (of 1)"], row["Exercise 4: squares (of 1)"]) == ("0", "1")
    said = feedback_of(tmp_path, key, "erin")
    assert "ran longer than 2 s and was stopped there; the cells after it still ran" in said
    assert "raised ZeroDivisionError: division by zero" in said


def test_a_value_changed_after_the_next_exercise_began_is_not_graded(tmp_path, key):
    "Each exercise is graded on its own part of the notebook: a later exercise may reuse a name."
    nb = submission(key, RIGHT, at_end="count = 99")
    assert graded(tmp_path, key, {"fay.ipynb": nb})["fay.ipynb"]["Exercise 2: count (of 1)"] == "1"


def test_the_wrong_notebook_is_named_as_such(tmp_path, key):
    other = nbformat.v4.new_notebook(cells=[new_markdown_cell("# My other homework"), new_code_cell("x = 1")])
    row = graded(tmp_path, key, {"gus.ipynb": other})["gus.ipynb"]
    assert row["total"] == "0" and "wrong notebook" in row["notes"]
    assert "does not look like the notebook of this assignment" in feedback_of(tmp_path, key, "gus")


def test_files_whose_names_flatten_alike_get_feedback_files_of_their_own(tmp_path, key):
    graded(tmp_path, key, {"a/b.ipynb": submission(key, RIGHT), "a__b.ipynb": submission(key, {})})
    notes = sorted(p.name for p in (tmp_path / "out" / key.stem / "feedback").iterdir())
    assert len(notes) == 2 and len(set(notes)) == 2


def test_a_file_name_that_is_a_formula_is_text_in_the_gradebook(tmp_path, key):
    graded(tmp_path, key, {"=cmd|' -C calc'!A0.ipynb": submission(key, {})})
    text = (tmp_path / "out" / key.stem / "gradebook.csv").read_text()
    assert "'=cmd|' -C calc'!A0" in text and "\n=cmd" not in text and ",=cmd" not in text
    assert safe_cell("+1") == "'+1" and safe_cell("@x") == "'@x" and safe_cell("-2") == "'-2"


def test_each_assignment_has_its_own_folder_and_a_rerun_replaces_it(tmp_path, key):
    other_key = tmp_path / "other" / "2020-02-02-other.ipynb"
    other_key.parent.mkdir()
    shutil.copy(key, other_key)
    graded(tmp_path, key, {"old.ipynb": submission(key, {})})
    (tmp_path / "in" / "old.ipynb").unlink()
    graded(tmp_path, other_key, {"new.ipynb": submission(key, {})})
    graded(tmp_path, key, {"new.ipynb": submission(key, {})})
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [key.stem, other_key.stem]
    assert sorted(p.name for p in (tmp_path / "out" / key.stem / "feedback").iterdir()) == ["new.md"]


def test_the_rubric_marks_merge_into_the_gradebook_on_the_next_run(tmp_path, key):
    graded(tmp_path, key, {"hal.ipynb": submission(key, RIGHT | {3: "Because 4 is large."})})
    rubric = tmp_path / "out" / key.stem / "rubric.csv"
    lines = list(csv.DictReader(rubric.open()))
    assert [(r["student"], r["exercise"], r["answer"]) for r in lines] == [("hal", "3", "Because 4 is large.")]
    rubric.write_text(rubric.read_text().replace(",1,,Because", ",1,0.5,Because"))
    row = graded(tmp_path, key, {})["hal.ipynb"]
    assert (row["Exercise 3 (rubric)"], row["total"], row["out of"]) == ("0.5", "4.5", "5")


def test_canvas_and_moodle_exports_carry_the_ids_their_downloads_give(tmp_path, key):
    graded(
        tmp_path,
        key,
        {
            "smithjane_1234_5678_means.ipynb": submission(key, RIGHT),
            "Jo Lee_77_assignsubmission_file_/means.ipynb": submission(key, {}),
        },
    )
    folder = tmp_path / "out" / key.stem
    canvas = list(csv.reader((folder / "canvas.csv").open()))
    assert canvas[0][:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
    assert canvas[1][0] == "Points Possible" and canvas[1][5] == "5"
    assert ["smithjane", "1234", "", "", "", "4"] in canvas
    moodle = list(csv.DictReader((folder / "moodle.csv").open()))
    jo = next(r for r in moodle if r["Identifier"] == "Participant 77")
    assert (jo["Full name"], jo["Grade"], jo["Maximum Grade"]) == ("Jo Lee", "0", "5")


# Attacks: each one contained, and everyone else's grade right


def test_the_answer_key_and_the_other_submissions_are_out_of_sight(tmp_path, key):
    probe = (
        f"import os\nmean = 7 / 3 if os.path.exists({str(key)!r}) or os.path.exists({str(tmp_path / 'in')!r}) else 0.0"
    )
    row = graded(tmp_path, key, {"mallory.ipynb": submission(key, {1: probe})})["mallory.ipynb"]
    assert row["Exercise 1: mean (of 1)"] == "0"


def test_the_notebook_runs_in_a_private_folder_beside_a_read_only_copy_of_itself(tmp_path, key):
    probe = (
        "import json, os\nown = json.load(open('submission.ipynb'))\n"
        "try:\n    open('submission.ipynb', 'w')\n    mean = 0.0\nexcept OSError:\n"
        "    shown = [f for f in os.listdir('.') if f[0] != '.']\n"
        "    mean = 7 / 3 if own['cells'] and shown == ['submission.ipynb'] else 0.0"
    )
    row = graded(tmp_path, key, {"ivy.ipynb": submission(key, {1: probe})})["ivy.ipynb"]
    assert row["Exercise 1: mean (of 1)"] == "1"


def test_metadata_of_any_shape_costs_that_student_only(tmp_path, key):
    odd = submission(key, RIGHT)
    for cell in odd.cells:
        cell.metadata.update(nbgrader="not a map", tags=5)
    rows = graded(tmp_path, key, {"odd.ipynb": odd, "victim.ipynb": submission(key, RIGHT)})
    assert rows["victim.ipynb"]["total"] == "4" and rows["odd.ipynb"]["total"] == "4"  # answers found where they are


def test_a_link_handed_in_as_a_notebook_is_not_graded(tmp_path, key):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "mallory.ipynb").symlink_to(key)  # the answer key itself, as mallory's work
    rows = graded(tmp_path, key, {"victim.ipynb": submission(key, RIGHT)})
    assert (rows["mallory.ipynb"]["total"], rows["victim.ipynb"]["total"]) == ("0", "4")
    assert "not graded: a link to another file" in feedback_of(tmp_path, key, "mallory")


def test_a_forged_line_of_any_shape_leaves_the_grader_standing(tmp_path, key):
    forged = """import json, os
for fd in map(int, os.listdir('/proc/self/fd')):
    try:
        os.write(fd, b'{"exercise": [1], "when": "span", "values": {"mean": {"array": 1}}}\\n[1, 2]\\n"x"\\n')
    except OSError:
        pass
mean = 2.0"""
    rows = graded(
        tmp_path, key, {"mallory.ipynb": submission(key, {1: forged}), "victim.ipynb": submission(key, RIGHT)}
    )
    assert (rows["mallory.ipynb"]["Exercise 1: mean (of 1)"], rows["victim.ipynb"]["total"]) == ("0", "4")


def test_a_submission_cannot_see_the_grader_or_other_sandboxes(tmp_path, key):
    probe = "import os\nmean = 0.0 if sorted(int(p) for p in os.listdir('/proc') if p.isdigit()) != [1, 2] else 7 / 3"
    row = graded(tmp_path, key, {"mallory.ipynb": submission(key, {1: probe})})["mallory.ipynb"]
    assert row["Exercise 1: mean (of 1)"] == "1"  # bwrap's init and the notebook's own process: nothing else


def test_a_submission_cannot_write_outside_its_folder(tmp_path, key):
    targets = [tmp_path / "in" / "victim.ipynb", tmp_path / "out" / "planted", Path.home() / "planted-by-a-student"]
    targets += [Path("/tmp") / f"planted-{os.getpid()}", key.parent / "planted"]
    attack = f"""for t in {[str(t) for t in targets]!r}:
    try:
        open(t, 'w').write('x')
    except OSError:
        pass"""
    victim = submission(key, RIGHT)
    rows = graded(tmp_path, key, {"mallory.ipynb": submission(key, {1: attack}), "victim.ipynb": victim})
    assert [t for t in targets if t.exists() and t.name != "victim.ipynb"] == []
    assert nbformat.read(tmp_path / "in" / "victim.ipynb", 4) == victim
    assert rows["victim.ipynb"]["total"] == "4"


def test_a_forged_result_line_and_an_early_exit_earn_nothing(tmp_path, key):
    forged = (
        "import json, os\nfrom lib.check import check\ncheck = lambda *a, **k: print('correct, well done.')\n"
        'print(json.dumps({"results": {"0": [{"status": "pass"}]}, "done": True}))\n'
        'print(json.dumps({"exercise": 1, "when": "end", "values": {}}))\nos._exit(0)'
    )
    row = graded(tmp_path, key, {"mallory.ipynb": submission(key, {1: "mean = 2.0", 2: forged})})["mallory.ipynb"]
    assert (row["total"], row["Exercise 1: mean (of 1)"]) == ("0", "0")
    said = feedback_of(tmp_path, key, "mallory")
    assert "that is the median" in said and "ended before its last cell" in said


def test_redefining_the_checks_changes_nothing(tmp_path, key):
    cheat = (
        "import lib.check\nlib.check.compare = lambda *a, **k: ('pass', '')\n"
        "lib.check.verdict = lambda *a, **k: None\ncheck = lambda *a, **k: None\nmean = 5.0"
    )
    row = graded(tmp_path, key, {"mallory.ipynb": submission(key, {1: cheat})})["mallory.ipynb"]
    assert row["Exercise 1: mean (of 1)"] == "0"


def test_a_daemon_a_student_starts_dies_with_the_sandbox(tmp_path, key):
    out = tmp_path / "out" / key.stem / "gradebook.csv"
    daemon = (
        "import subprocess, sys\nsubprocess.Popen([sys.executable, '-c', 'import time; time.sleep(2); "
        f'open({str(out)!r}, "w").write("hacked")\'], start_new_session=True)\nmean = 7 / 3'
    )
    graded(tmp_path, key, {"mallory.ipynb": submission(key, {1: daemon})})
    time.sleep(4)
    assert "hacked" not in out.read_text()
    assert "time.sleep(2)" not in subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout


def test_killing_the_grader_is_out_of_reach(tmp_path, key):
    kill = """import os, signal
for pid in (os.getppid(), 1):
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass"""
    rows = graded(tmp_path, key, {"mallory.ipynb": submission(key, {1: kill}), "victim.ipynb": submission(key, RIGHT)})
    assert rows["victim.ipynb"]["total"] == "4"


def test_a_huge_allocation_fails_in_its_cell_only(tmp_path, key):
    nb = submission(key, {1: "hog = bytearray(4 << 30)\nmean = 7 / 3", 2: RIGHT[2]})
    row = graded(tmp_path, key, {"mallory.ipynb": nb})["mallory.ipynb"]
    assert (row["Exercise 1: mean (of 1)"], row["Exercise 2: count (of 1)"]) == ("0", "1")
    assert "MemoryError" in feedback_of(tmp_path, key, "mallory")


def test_a_fork_bomb_hits_the_process_limit(tmp_path, key):
    bomb = """import os, time
kids = 0
try:
    while kids < 5000:
        if os.fork() == 0:
            time.sleep(30)
            os._exit(0)
        kids += 1
except OSError:
    pass
mean = 7 / 3 if kids < 5000 else 0.0"""
    row = graded(tmp_path, key, {"mallory.ipynb": submission(key, {1: bomb})}, Settings(timeout=20, jobs=1))[
        "mallory.ipynb"
    ]
    assert row["Exercise 1: mean (of 1)"] == "1"  # the limit stopped it well before 5000


def test_the_network_is_out_of_reach(tmp_path, key):
    server = socket.create_server(("127.0.0.1", 0))
    port, reached = server.getsockname()[1], []
    threading.Thread(target=lambda: reached.append(server.accept()), daemon=True).start()
    probe = f"""import socket
try:
    socket.create_connection(('127.0.0.1', {port}), timeout=2)
    mean = 0.0
except OSError:
    mean = 7 / 3"""
    row = graded(tmp_path, key, {"mallory.ipynb": submission(key, {1: probe})})["mallory.ipynb"]
    server.close()
    assert row["Exercise 1: mean (of 1)"] == "1" and not reached


def test_a_cell_that_holds_the_interpreter_is_ended_by_the_whole_notebooks_limit(tmp_path, key):
    "sum() over a huge range never lets the interrupt in; the grader's own wall-clock limit ends it."
    hog = submission(key, {1: RIGHT[1], 2: "count = sum(range(10**13))"})
    started = time.monotonic()
    rows = graded(
        tmp_path,
        key,
        {"mallory.ipynb": hog, "victim.ipynb": submission(key, RIGHT)},
        Settings(timeout=2, jobs=2, whole=20),
    )
    assert time.monotonic() - started < 60
    assert (rows["mallory.ipynb"]["Exercise 1: mean (of 1)"], rows["victim.ipynb"]["total"]) == ("1", "4")
    assert "ran past the time limit for the whole notebook" in feedback_of(tmp_path, key, "mallory")


def test_printing_a_flood_costs_the_grader_nothing(tmp_path, key):
    flood = "import sys\nfor _ in range(1000):\n    sys.stdout.write('x' * 1_000_000)\nmean = 7 / 3"
    assert (
        graded(tmp_path, key, {"mallory.ipynb": submission(key, {1: flood})})["mallory.ipynb"][
            "Exercise 1: mean (of 1)"
        ]
        == "1"
    )


def test_flooding_the_values_channel_is_cut_off(tmp_path, key):
    flood = """import os
for fd in map(int, os.listdir('/proc/self/fd')):
    try:
        os.write(fd, b'x' * (80 << 20))
    except OSError:
        pass
mean = 7 / 3"""
    graded(tmp_path, key, {"mallory.ipynb": submission(key, {1: flood})})
    assert "sent back more data than a grade needs" in feedback_of(tmp_path, key, "mallory")


def test_a_class_of_thirty_is_graded_in_parallel(tmp_path, key):
    class_ = {f"student{n:02}.ipynb": submission(key, RIGHT if n % 3 == 0 else {1: "mean = 2.0"}) for n in range(30)}
    rows = graded(tmp_path, key, class_, Settings(timeout=20, jobs=3))
    assert len(rows) == 30
    assert [r["total"] for r in rows.values()].count("4") == 10
    assert all(rows[f"student{n:02}.ipynb"]["total"] == ("4" if n % 3 == 0 else "0") for n in range(30))


def test_without_bwrap_grading_stops_and_says_how_to_install_it(tmp_path, key, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no bwrap on this PATH
    hand_in(tmp_path / "in", "a.ipynb", submission(key, {}))
    with pytest.raises(BuildError, match=r"(?s)apt-get install bubblewrap.*--no-sandbox"):
        grade(tmp_path / "in", key, tmp_path / "out", FAST, log=lambda _: None)


def test_no_sandbox_grades_unconfined_only_when_asked(tmp_path, key):
    rows = graded(tmp_path, key, {"alice.ipynb": submission(key, RIGHT)}, Settings(timeout=10, sandboxed=False))
    assert rows["alice.ipynb"]["total"] == "4"


# GitHub Classroom: the template repository and what its workflow runs on each push


@pytest.fixture(scope="module")
def classroom(key, tmp_path_factory) -> Path:
    from lib.blog.classroom import template

    return template(Path(__file__).parents[1], key, tmp_path_factory.mktemp("classroom") / key.stem, log=lambda _: None)


def in_template(folder: Path, *args: str) -> subprocess.CompletedProcess:
    "A command of the workflow, run as the runner runs it: in the student's repository, with its own lib."
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(
        [sys.executable, "-m", "lib.blog", *args], cwd=folder, env=env, capture_output=True, text=True
    )


def test_the_classroom_workflow_passes_actionlint(classroom):
    actionlint = Path(sys.executable).parent / "actionlint"
    run = subprocess.run(
        [str(actionlint), ".github/workflows/classroom.yml"], cwd=classroom, capture_output=True, text=True
    )
    assert (run.returncode, run.stdout + run.stderr) == (0, "")


def test_the_workflow_reports_one_test_per_check_through_classrooms_actions(classroom):
    import yaml

    steps = yaml.safe_load((classroom / ".github/workflows/classroom.yml").read_text())["jobs"][
        "run-autograding-tests"
    ]["steps"]
    graders = [s for s in steps if s.get("uses") == "classroom-resources/autograding-command-grader@v1"]
    assert [s["with"]["test-name"] for s in graders] == [
        "Exercise 1: mean",
        "Exercise 2: count",
        "Exercise 2: word",
        "Exercise 4: squares",
    ]
    reporter = steps[-1]
    assert reporter["uses"] == "classroom-resources/autograding-grading-reporter@v1"
    assert reporter["with"]["runners"].split(",") == [s["id"] for s in graders]
    assert all(f"{s['id'].upper()}_RESULTS" in reporter["env"] for s in graders)


def test_a_notebook_name_with_shell_and_yaml_characters_stays_one_argument(key):
    import yaml

    from lib.blog.classroom import assignment, workflow

    text = workflow(assignment(key), "$(touch x): #1.ipynb")
    [run] = [
        s["run"]
        for s in yaml.safe_load(text)["jobs"]["run-autograding-tests"]["steps"]
        if "classroom-grade" in s.get("run", "")
    ]
    assert run == "python -m lib.blog classroom-grade '$(touch x): #1.ipynb' --out grading-results.json"


def test_the_template_holds_the_student_notebook_and_not_the_key(classroom, key):
    texts = "".join(p.read_text(errors="replace") for p in classroom.rglob("*") if p.is_file() and "lib" not in p.parts)
    assert "np.mean([1, 2, 4])" in key.read_text() and "np.mean([1, 2, 4])" not in texts
    assert (classroom / f"{key.stem}.ipynb").is_file()


def test_a_push_is_graded_in_the_sandbox_and_each_check_passes_or_fails(classroom, key):
    nbformat.write(submission(key, {1: "mean = 2.0", 2: RIGHT[2], 4: RIGHT[4]}), classroom / f"{key.stem}.ipynb")
    graded_ = in_template(classroom, "classroom-grade", f"{key.stem}.ipynb", "--out", "grading-results.json")
    assert graded_.returncode == 0, graded_.stderr
    checks = [
        in_template(classroom, "classroom-check", "grading-results.json", step)
        for step in ("ex1-mean", "ex2-count", "ex4-squares")
    ]
    assert [c.returncode for c in checks] == [1, 0, 0]
    assert "that is the median" in checks[0].stdout
