"Self-checking exercises: checks written once in the key, run by students without the answer, and grading."

import csv
import gzip
import json
import re
import shutil
from pathlib import Path

import nbformat
import numpy as np
import pytest
from helpers import built, notebook, site
from nbformat.v4 import new_code_cell, new_markdown_cell

from lib.blog.audit import notebook_text, page_text
from lib.blog.errors import BuildError
from lib.blog.execute import execute, run_fresh
from lib.blog.grade import Settings, grade, teacher_folder
from lib.blog.handout import is_solution, solution_lines, student_bytes, student_notebook, write_handouts
from lib.check import expectation, verdict

FIXTURES = Path(__file__).parent / "fixtures" / "grading"
quiet = dict(log=lambda _: None)
ANSWER = new_code_cell("#| solution: true\n# Exercise 1: the mean of 1, 2 and 4, as `mean`.\nmean = np.mean([1, 2, 4])")
CHECKS = new_code_cell('#| checks: true\ncheck("mean", tol=1e-3, mistakes={"that is the median": 2.0})')
IMPORTS = "import numpy as np\nfrom lib.check import check"


def expect(value, tol=1e-4, mistakes=None) -> dict:
    return expectation("answer", value, tol, mistakes) | {"label": "Exercise 1"}


def said(value, expected: dict) -> str:
    return verdict("Exercise 1", "answer", value, expected).message


def test_a_right_answer_passes():
    assert said(np.float32(0.9511), expect(0.9511)) == "Exercise 1: correct, well done."


def test_a_right_answer_written_differently_passes():
    assert said((1 + 2 + 4) / 3, expect(np.mean([1, 2, 4]))) == "Exercise 1: correct, well done."
    assert said([2, 1, 447], expect((2, 1, 447))) == "Exercise 1: correct, well done."


def test_numbers_are_compared_with_a_tolerance():
    assert said(0.95114, expect(0.95106)).endswith("correct, well done.")
    assert "not the value (compared to within 0.0001)" in said(0.9525, expect(0.9511))


def test_a_wrong_shape_is_named():
    assert "expected a shape of (2038,), got (2038, 2)" in said(np.zeros((2038, 2)), expect(np.zeros(2038)))


def test_a_wrong_dtype_is_named():
    assert "expected integers, got floating-point numbers" in said(np.arange(5) + 0.5, expect(np.arange(5)))


def test_whole_floats_are_the_integers_they_equal_and_integers_the_floats():
    assert said(np.arange(5.0), expect(np.arange(5))).endswith("correct, well done.")
    assert said(3.0, expect(3)).endswith("correct, well done.")
    assert said(2, expect(2.0)).endswith("correct, well done.")


def test_a_known_mistake_gets_the_authors_hint():
    hint = "close, but positions are 0/1, not digits"
    assert said(0.0, expect(0.9511, mistakes={hint: 0.0})) == f"Exercise 1: not yet. `answer`: {hint}."


def test_an_unanswered_exercise_says_so():
    assert said(..., expect(1.0)) == "Exercise 1: not answered yet: `answer` is still `...`."


def test_the_expectation_does_not_hold_the_answer():
    stored = json.dumps(expect(0.9511, mistakes={"hint": 0.0}))
    assert "9511" not in stored and "0.95" not in stored


def key_site(tmp_path, *cells) -> Path:
    "A site whose one notebook, an answer key, has run through `make execute`."
    root = site(tmp_path)
    path = notebook(root, IMPORTS, *(cells or (ANSWER, CHECKS)))
    execute([path], root, **quiet)
    return path


def test_the_key_records_its_answers_for_the_student_notebook(tmp_path):
    key = nbformat.read(key_site(tmp_path), 4)
    check = student_notebook(key).cells[3].source
    assert check.startswith("#| checks: true") and "check('mean', expect={'label': 'Exercise 1'" in check
    assert "np.mean" not in check and "2.333" not in check


def test_the_stub_leaves_each_checked_name_open(tmp_path):
    key = nbformat.read(key_site(tmp_path), 4)
    assert student_notebook(key).cells[2].source.endswith("\nmean = ...  # your answer")


def test_an_exercise_without_checks_says_it_is_open():
    key = nbformat.v4.new_notebook(cells=[new_markdown_cell("# T"), ANSWER])
    stub = 'print("Exercise 1: not answered yet")  # replace this line with your answer'
    assert student_notebook(key).cells[1].source.endswith(stub)


def test_a_check_cell_that_never_ran_is_an_error_naming_it():
    key = nbformat.v4.new_notebook(cells=[new_markdown_cell("# T"), ANSWER, CHECKS])
    with pytest.raises(BuildError, match=r"cell 3: check cell has no recorded answers: run `make execute`"):
        student_notebook(key, Path("key.ipynb"))


def student_outputs(tmp_path, key: Path, answer: str | None = None) -> str:
    "Run the student notebook (with `answer` in the exercise cell) and return what its check cells said."
    student = nbformat.reads(student_bytes(nbformat.read(key, 4)).decode(), 4)
    if answer:
        student.cells[2].source += f"\n{answer}"
    path = tmp_path / "student.ipynb"
    nbformat.write(student, path)
    return "".join(texts(run_fresh([path], tmp_path, 60)[path]))


def texts(nb: dict) -> list[str]:
    "Each output's text, printed or displayed."
    found = [
        o.get("text") or o.get("data", {}).get("text/plain", "") for c in nb["cells"] for o in c.get("outputs", [])
    ]
    return ["".join(t) for t in found]


def test_run_all_goes_past_an_open_exercise(tmp_path):
    key = key_site(tmp_path, ANSWER, CHECKS, new_code_cell("print('after the exercise')"))
    student = nbformat.reads(student_bytes(nbformat.read(key, 4)).decode(), 4)
    path = tmp_path / "student.ipynb"
    nbformat.write(student, path)
    said = texts(run_fresh([path], tmp_path, 60)[path])  # raises if any cell raises
    assert "Exercise 1: not answered yet: `mean` is still `...`." in said
    assert "after the exercise\n" in said


def test_a_student_answer_is_checked_against_the_key(tmp_path):
    key = key_site(tmp_path)
    assert student_outputs(tmp_path, key, "mean = 7 / 3") == "Exercise 1: correct, well done."
    assert student_outputs(tmp_path, key, "mean = 2.0") == "Exercise 1: not yet. `mean`: that is the median."


@pytest.fixture(scope="module")
def gradebook(tmp_path_factory) -> Path:
    "The fixture submissions graded against the fixture key (run through `make execute` first)."
    root = tmp_path_factory.mktemp("grading")
    (root / "_notebooks").mkdir()
    key = root / "_notebooks" / "2020-01-01-key.ipynb"
    shutil.copy(FIXTURES / key.name, key)
    execute([key], root, **quiet)
    settings = Settings(timeout=5, sandboxed=shutil.which("bwrap") is not None)
    grade(FIXTURES / "submissions", key, root / "grades", settings, **quiet)
    return root / "grades" / key.stem


def test_grading_writes_one_row_per_submission(gradebook):
    rows = [row[:5] for row in csv.reader((gradebook / "gradebook.csv").open())]
    assert rows == [
        ["student", "file", "Exercise 1: mean (of 1)", "Exercise 2: squares (of 1)", "total"],
        ["all-correct", "all-correct.ipynb", "1", "1", "2"],
        ["correct-but-different", "correct-but-different.ipynb", "1", "1", "2"],
        ["edits-the-checks", "edits-the-checks.ipynb", "0", "1", "1"],
        ["empty", "empty.ipynb", "0", "0", "0"],
        ["loops-forever", "loops-forever.ipynb", "1", "0", "1"],
        ["not-json", "not-json.ipynb", "0", "0", "0"],
        ["partly-wrong", "partly-wrong.ipynb", "0", "1", "1"],
        ["raises", "raises.ipynb", "0", "1", "1"],
    ]


def test_grading_gives_each_student_feedback(gradebook):
    assert (
        "Exercise 1: not yet. `mean`: that is the median, not the mean."
        in (gradebook / "feedback" / "partly-wrong.md").read_text()
    )
    assert "cell 7 ran longer than 5 s" in (gradebook / "feedback" / "loops-forever.md").read_text()
    assert "ZeroDivisionError: division by zero" in (gradebook / "feedback" / "raises.md").read_text()
    assert "is not valid JSON" in (gradebook / "feedback" / "not-json.md").read_text()


def solid(data: bytes) -> str:
    "A page's text without spaces: highlighted code has spaces between its tokens."
    return page_text(data).replace(" ", "")


def test_the_site_publishes_the_student_notebook_and_not_the_key(tmp_path):
    root = key_site(tmp_path).parents[1]
    out = built(root)
    assert (out / "notebooks/post-student.ipynb").is_file()
    assert not (out / "notebooks/post.ipynb").exists()
    assert "np.mean" not in "".join(solid(p.read_bytes()) for p in out.rglob("*") if p.is_file())


def test_the_teachers_folder_holds_the_key_and_the_site_with_answers(tmp_path):
    root = key_site(tmp_path).parents[1]
    teacher_folder(root, tmp_path / "teacher", **quiet)
    assert (tmp_path / "teacher/answer-keys/2020-01-01-post.ipynb").read_bytes() == (
        root / "_notebooks/2020-01-01-post.ipynb"
    ).read_bytes()
    assert "np.mean([1,2,4])" in solid((tmp_path / "teacher/site/2020/01/01/post.html").read_bytes())
    assert (tmp_path / "teacher/site/notebooks/post.ipynb").is_file()
    assert "make grade SUBMISSIONS=" in (tmp_path / "teacher/README.md").read_text()


def test_speaker_notes_stay_out_of_the_student_notebook():
    notes = new_markdown_cell("#| notes\nTell them the story of the 1010 threes.")
    key = nbformat.v4.new_notebook(cells=[new_markdown_cell("# T"), notes, ANSWER])
    assert "1010 threes" not in nbformat.writes(student_notebook(key))


def test_the_student_notebook_leaves_out_what_the_slides_take_as_notes():
    code_notes = new_code_cell("#| echo: false\n#| notes\nprint('only the presenter runs this')")
    overruled = new_markdown_cell("#| slide: true\nShown as a slide, not notes.")
    overruled.metadata.slideshow = {"slide_type": "notes"}
    key = nbformat.v4.new_notebook(cells=[new_markdown_cell("# T"), code_notes, overruled, ANSWER])
    text = nbformat.writes(student_notebook(key))
    assert "only the presenter" not in text and "Shown as a slide" in text


ROOT = Path(__file__).parents[1]
GUIDE = ROOT / "_posts" / "2021-09-04-teachers-guide.md"


def guide_answers() -> list[str]:
    "The lines of the guide that only the teacher's copy shows, without markdown's marks."
    block = GUIDE.read_text().split('{% if page.solutions == "shown" %}')[1].split("{% else %}")[0]
    lines = [re.sub(r"^\d+\.\s+|[*`]", "", line.strip()) for line in block.splitlines()]
    return [line for line in lines if len(line) > 30]


def answer_lines() -> list[str]:
    "Every answer line of both posts' exercises."
    posts = sorted((ROOT / "_notebooks").glob("*.ipynb"))
    return [line for p in posts for c in nbformat.read(p, 4).cells if is_solution(c) for line in solution_lines(c)]


def texts_of(folder: Path):
    "(file, its text as a reader or an index sees it) for every file of a built site."
    for path in (p for p in folder.rglob("*") if p.is_file()):
        data = path.read_bytes()
        if path.suffix == ".html":
            yield path, page_text(data)
        elif path.suffix == ".ipynb":
            yield path, notebook_text(data)
        elif path.suffix == ".pf_fragment":  # pagefind's record of a page, gzipped
            yield path, gzip.decompress(data).decode("utf-8", "replace")
        else:
            yield path, data.decode("utf-8", "replace")


@pytest.fixture(scope="module")
def public_site(tmp_path_factory) -> Path:
    "This blog, built with the search index and the default settings."
    from lib.blog.build import build

    out = tmp_path_factory.mktemp("public") / "_site"
    build(ROOT, out, **quiet)
    return out


def test_no_answer_appears_anywhere_in_the_public_site(public_site):
    secrets = [line.replace(" ", "") for line in answer_lines()] + guide_answers()
    assert len(secrets) > 10
    found = [(str(p.relative_to(public_site)), s) for p, text in texts_of(public_site) for s in secrets if s in text]
    found += [(str(p), s) for p, text in texts_of(public_site) for s in secrets if s in text.replace(" ", "")]
    assert found == []


def test_the_public_site_has_no_answer_key(public_site):
    assert sorted(p.name for p in (public_site / "notebooks").iterdir()) == [
        "pytorch-broadcasting-student.ipynb",
        "ten-digit-baseline-student.ipynb",
    ]


def test_the_class_lab_folder_holds_the_student_notebooks_and_keeps_the_class_work(tmp_path):
    from lib.blog.handout import class_folder

    root = key_site(tmp_path).parents[1]
    write_handouts(root, [root / "_notebooks/2020-01-01-post.ipynb"], **quiet)
    [copy] = class_folder(root, tmp_path / "class", **quiet)
    assert nbformat.read(copy, 4).cells == nbformat.read(root / "_notebooks/_student/2020-01-01-post.ipynb", 4).cells
    assert "np.mean" not in copy.read_text()
    copy.write_text("the class's own work")
    assert class_folder(root, tmp_path / "class", **quiet) == [] and copy.read_text() == "the class's own work"
