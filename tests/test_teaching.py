"Teaching: slides, student notebooks and answer keys, and the checks on the real posts with exercises."

import json
import re
import shutil
from pathlib import Path

import nbformat
import pytest
from helpers import CONFIG, built, notebook, page, site, text_output
from nbformat.v4 import new_code_cell, new_markdown_cell

from lib.blog.build import build
from lib.blog.errors import BuildError
from lib.blog.execute import run_fresh
from lib.blog.handout import has_exercises, solution_lines, student_bytes, student_notebook, student_path

ROOT = Path(__file__).parents[1]
SOLUTION = new_code_cell(
    "#solution\n# Task: add one and two.\nanswer = 1 + 2  # SECRET-ANSWER", outputs=[text_output("3")]
)
EXERCISE_POSTS = [p for p in sorted((ROOT / "_notebooks").glob("*.ipynb")) if has_exercises(nbformat.read(p, 4))]


def deck(root: Path, slug: str = "post") -> str:
    return (root / "_site" / "slides" / f"{slug}.html").read_text()


def test_each_heading_starts_a_slide(tmp_path):
    root = site(tmp_path)
    notebook(root, new_markdown_cell("# First\n\ntext"), "x = 1", new_markdown_cell("## Second"), "y = 2")
    built(root)
    sections = re.findall(r"<section[^>]*>", deck(root))
    assert len(sections) == 2 * 3  # title, First, Second; each slide is an outer and an inner section


def test_hidden_cells_stay_hidden_in_slides(tmp_path):
    root = site(tmp_path)
    notebook(root, "#hide\nx = 'HIDDEN-MARK'", "#| echo: false\ny = 'ECHO-MARK'", "z = 'SHOWN-MARK'")
    built(root)
    html = deck(root)
    assert "HIDDEN-MARK" not in html and "ECHO-MARK" not in html and "SHOWN-MARK" in html


def test_long_outputs_are_cut_to_fit_a_slide(tmp_path):
    root = site(tmp_path)
    lines = "\n".join(f"line {i}" for i in range(30))
    notebook(root, new_code_cell("print(lines)", outputs=[nbformat.v4.new_output("stream", name="stdout", text=lines)]))
    built(root)
    html = deck(root)
    assert "line 24" in html and "line 25" not in html and "… (5 more lines)" in html  # 25 lines fit a slide


def test_slides_use_the_vendored_reveal_js_and_nothing_from_outside(tmp_path):
    root = site(tmp_path)
    notebook(root, "x = 1")
    built(root)
    refs = re.findall(r'(?:src|href)="([^"]+)"', deck(root))
    assert "/assets/reveal/dist/reveal.js" in refs
    assert [r for r in refs if not r.startswith(("/", "#", "data:"))] == []
    assert (root / "_site/assets/reveal/dist/reveal.js").is_file()


def test_a_post_links_its_slides_and_notebooks(tmp_path):
    root = site(tmp_path)
    notebook(root, "x = 1")
    html = page(built(root).parent)
    for href in ("/slides/post.html", "/notebooks/post.ipynb"):
        assert f'href="{href}"' in html and (root / "_site" / href.lstrip("/")).is_file()


def test_a_post_with_exercises_links_the_student_notebook_and_not_the_key(tmp_path):
    root = site(tmp_path)
    notebook(root, "x = 1", SOLUTION)
    html = page(built(root).parent)
    assert 'href="/notebooks/post-student.ipynb"' in html and (root / "_site/notebooks/post-student.ipynb").is_file()
    assert "/notebooks/post.ipynb" not in html and not (root / "_site/notebooks/post.ipynb").exists()


def test_the_student_notebook_keeps_the_task_and_stubs_the_answer():
    ran = new_code_cell("x = 1", outputs=[text_output("1")], execution_count=1)
    nb = nbformat.v4.new_notebook(cells=[new_markdown_cell("# Title"), ran, SOLUTION])
    student = student_notebook(nb)
    assert student.cells[2].source == (
        '# Task: add one and two.\nprint("Exercise 1: not answered yet")  # replace this line with your answer'
    )
    assert all(c.outputs == [] and c.execution_count is None for c in student.cells if c.cell_type == "code")
    assert "SECRET-ANSWER" not in nbformat.writes(student)


def test_the_answer_key_is_the_notebook_as_written_when_the_post_shows_its_answers(tmp_path):
    root = site(tmp_path)
    path = notebook(root, "x = 1", SOLUTION, front_matter='# "T"\n- solutions: shown')
    assert (built(root) / "notebooks/post.ipynb").read_bytes() == path.read_bytes()


@pytest.mark.parametrize("setting", ["hidden", "collapsed", "shown"])
def test_the_post_shows_solutions_as_its_front_matter_says(tmp_path, setting):
    root = site(tmp_path)
    notebook(root, "x = 1", SOLUTION, front_matter=f'# "T"\n- solutions: {setting}')
    html = page(built(root).parent)
    content = html.split('<div class="post-content">')[1]
    if setting == "hidden":
        assert "SECRET-ANSWER" not in html and "Task: add one" not in content
    elif setting == "collapsed":
        assert '<details class="fold code-fold"><summary>Code</summary>' in content
        assert '<details class="fold output-fold"><summary>Output</summary>' in content
        assert content.index("<details") < content.index("SECRET-ANSWER")
    else:
        assert "SECRET-ANSWER" in content and "<details" not in content


def test_an_unknown_solutions_setting_is_an_error(tmp_path):
    root = site(tmp_path)
    notebook(root, "x = 1", front_matter='# "T"\n- solutions: maybe')
    with pytest.raises(BuildError, match=r"cell 1: solutions: 'maybe' is not one of hidden, collapsed, shown"):
        built(root)


def test_colab_can_open_the_student_notebook(tmp_path):
    root = site(tmp_path, CONFIG + "branch: main\n")
    notebook(root, "x = 1", SOLUTION, front_matter='# "T"\n- colab_student: true')
    html = page(built(root).parent)
    assert 'href="https://colab.research.google.com/github/someone/blog/blob/main/_notebooks/_student/' in html
    assert 'href="https://github.com/someone/blog/blob/main/_notebooks/_student/2020-01-01-post.ipynb"' in html


def test_a_post_that_shows_its_answers_links_its_own_notebook_on_github(tmp_path):
    root = site(tmp_path, CONFIG + "branch: main\n")
    notebook(root, "x = 1", SOLUTION, front_matter='# "T"\n- solutions: shown')
    assert 'href="https://github.com/someone/blog/blob/main/_notebooks/2020-01-01-post.ipynb"' in page(
        built(root).parent
    )


@pytest.fixture(scope="module")
def real_site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("real") / "_site"
    build(ROOT, out, search=False, log=lambda _: None)
    return out


def test_both_posts_have_exercises():
    assert [p.name for p in EXERCISE_POSTS] == [
        "2021-08-20-pytorch-broadcasting.ipynb",
        "2021-09-03-ten-digit-baseline.ipynb",
    ]


@pytest.mark.parametrize("path", EXERCISE_POSTS, ids=lambda p: p.stem)
def test_every_exercise_of_the_posts_has_checks(path):
    from lib.blog.handout import exercises

    assert all(check is not None for _, check in exercises(nbformat.read(path, 4)))


@pytest.mark.parametrize("path", EXERCISE_POSTS, ids=lambda p: p.stem)
def test_no_solution_text_leaks_into_the_student_notebook_or_the_post(path, real_site):
    nb = nbformat.read(path, 4)
    secrets = [line for cell in nb.cells if cell.cell_type == "code" for line in solution_lines(cell)]
    answers = [line for c in nb.cells if "solution" in c.source.split("\n")[0] for line in solution_lines(c)]
    assert answers and set(answers) <= set(secrets)
    student = student_bytes(nb).decode()
    slug = path.stem[11:]
    post = (real_site / f"{path.stem[:10].replace('-', '/')}/{slug}.html").read_text()
    assert [line for line in answers if line in student] == []
    assert [line for line in answers if json.dumps(line)[1:-1] in post or line in post] == []


@pytest.mark.parametrize("path", EXERCISE_POSTS, ids=lambda p: p.stem)
def test_the_committed_student_notebook_is_current(path):
    assert student_path(ROOT, path).read_bytes() == student_bytes(nbformat.read(path, 4)), "run `make handouts`"


@pytest.mark.parametrize("path", EXERCISE_POSTS, ids=lambda p: p.stem)
def test_the_student_notebook_runs_to_the_end_and_says_which_exercises_are_open(path):
    student = student_path(ROOT, path)
    ran = run_fresh([student], ROOT, 300)[student]  # raises at the first cell that raises
    said = "".join("".join(o.get("data", {}).get("text/plain", "")) for c in ran["cells"] for o in c.get("outputs", []))
    assert said.count("not answered yet") >= len(
        [c for c in ran["cells"] if "exercise" in c["metadata"].get("tags", [])]
    )


@pytest.mark.parametrize("path", EXERCISE_POSTS, ids=lambda p: p.stem)
def test_the_keys_own_answers_pass_every_check_of_the_student_notebook(path):
    from lib.blog.handout import exercises

    key = nbformat.read(path, 4)
    student = nbformat.reads(student_bytes(key).decode(), 4)
    answers = [key.cells[i].source for i, _ in exercises(key)]
    open_ones = [c for c in student.cells if "exercise" in c.metadata.get("tags", [])]
    for cell, answer in zip(open_ones, answers, strict=True):
        cell.source = answer  # the key's answer written back in
    copy = path.parent / f".answered-{path.name}"  # beside the key: the same relative paths and imports
    try:
        nbformat.write(student, copy)
        ran = run_fresh([copy], ROOT, 300)[copy]
    finally:
        copy.unlink(missing_ok=True)
    said = ["".join(o.get("data", {}).get("text/plain", "")) for c in ran["cells"] for o in c.get("outputs", [])]
    verdicts = [s for s in said if s.startswith("Exercise ")]
    assert verdicts and all(s.endswith("correct, well done.") for s in verdicts), verdicts


def test_grading_a_real_student_notebook_names_the_positions_mistake(tmp_path):
    "The mistake from class: comparing `nearest_mean`'s positions 0/1 with the digits 3 and 7."
    from lib.blog.grade import Settings, grade

    key = ROOT / "_notebooks" / "2021-09-03-ten-digit-baseline.ipynb"
    student = nbformat.read(student_path(ROOT, key), 4)
    first = next(c for c in student.cells if "exercise" in c.metadata.get("tags", []))
    first.source = first.source.replace(
        "acc_pair = ...  # your answer",
        "pair = means[[3, 7]]\nacc_pair = ((nearest_mean(test[3], pair) == 3).float().mean()"
        " + (nearest_mean(test[7], pair) == 7).float().mean()) / 2",
    )
    (tmp_path / "in").mkdir()
    nbformat.write(student, tmp_path / "in" / "alice.ipynb")
    settings = Settings(timeout=300, sandboxed=shutil.which("bwrap") is not None)
    [row] = grade(tmp_path / "in", key, tmp_path / "out", settings, log=lambda _: None)
    assert [points for _, checks in row.marks for points, _ in checks] == [0, 0, 0]
    said = (tmp_path / "out" / key.stem / "feedback" / "alice.md").read_text()
    assert "returns positions in `pair` (0 for the 3, 1 for the 7), not the digits" in said


@pytest.mark.parametrize("path", EXERCISE_POSTS, ids=lambda p: p.stem)
def test_grading_the_keys_own_answers_in_the_sandbox_gives_every_point(path, tmp_path):
    from lib.blog.grade import Settings, grade
    from lib.blog.handout import exercises

    key = nbformat.read(path, 4)
    student = nbformat.reads(student_bytes(key).decode(), 4)
    open_ones = [c for c in student.cells if "exercise" in c.metadata.get("tags", [])]
    for cell, (i, _) in zip(open_ones, exercises(key), strict=True):
        cell.source = key.cells[i].source
    (tmp_path / "in").mkdir()
    nbformat.write(student, tmp_path / "in" / "right.ipynb")
    settings = Settings(timeout=300, sandboxed=shutil.which("bwrap") is not None)
    [row] = grade(tmp_path / "in", path, tmp_path / "out", settings, log=lambda _: None)
    points = [p for _, checks in row.marks for p, _ in checks]
    assert points and points == [1] * len(points)
