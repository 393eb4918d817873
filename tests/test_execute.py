"""Executing posts, their cache key, the gate (fresh outputs = published outputs) and the lint.

Small notebooks are built in memory and run for real in execnb's shell.
"""

import json
import shutil
from pathlib import Path

import nbformat
import numpy as np
import pytest
from helpers import built, notebook, site, text_output
from nbformat.v4 import new_code_cell, new_markdown_cell
from PIL import Image

from lib.blog.build import build
from lib.blog.errors import BuildError
from lib.blog.execute import changed, execute, key_parts
from lib.blog.gate import check
from lib.blog.lint import lint

SEED = Path(__file__).parents[2] / "shared" / "seed" / "pytorch-broadcasting.original.ipynb"
quiet = dict(log=lambda _: None)


def run(root: Path, path: Path) -> dict:
    execute([path], root, **quiet)
    return nbformat.read(path, 4)


def cell_outputs(nb: dict, number: int) -> list:
    return nb["cells"][number - 1]["outputs"]


def test_execute_stores_outputs_counts_and_a_stamp(tmp_path):
    root = site(tmp_path)
    path = notebook(root, "x = 6 * 7\nx", "print('hi')")
    nb = run(root, path)
    assert cell_outputs(nb, 2)[0]["data"]["text/plain"] == "42"
    assert cell_outputs(nb, 3)[0]["text"] == "hi\n"
    assert [c.get("execution_count") for c in nb["cells"][1:]] == [1, 2]
    stamp = nb["metadata"]["blog"]["stamp"]
    assert set(stamp) == {"executed", "versions", "data"} and "torch" in stamp["versions"]
    assert set(nb["metadata"]["blog"]["key"]) == {"code", "lib", "data", "environment"}


def test_execute_leaves_sources_as_they_were(tmp_path):
    root = site(tmp_path)
    path = notebook(root, "#hide\nx = 1", new_markdown_cell("Some *prose*"))
    before = [c.source for c in nbformat.read(path, 4).cells]
    assert [c.source for c in run(root, path).cells] == before


def test_an_unchanged_notebook_is_not_run_again(tmp_path):
    root = site(tmp_path)
    path = notebook(root, "x = 1")
    run(root, path)
    before = path.read_bytes()
    logs = []
    assert execute([path], root, log=logs.append) == []
    assert path.read_bytes() == before and logs == [f"  fresh  {path}"]


def test_editing_code_makes_the_key_change(tmp_path):
    root = site(tmp_path)
    path = notebook(root, "x = 1")
    nb = run(root, path)
    nb["cells"][1]["source"] = "x = 2"
    assert changed(nb, path, root) == ["code"]


def test_a_changed_lib_function_invalidates_the_key(tmp_path):
    root = site(tmp_path)
    (root / "lib").mkdir()
    (root / "lib" / "__init__.py").write_text("")
    (root / "lib" / "helpers.py").write_text("def f(): return 1\n")
    path = notebook(root, "from lib.helpers import f\nf()")
    nb = json.loads(path.read_text())
    nb["metadata"]["blog"] = {"key": key_parts(nb, path, root)}
    assert changed(nb, path, root) == []
    (root / "lib" / "helpers.py").write_text("def f(): return 2\n")
    assert changed(nb, path, root) == ["lib"]


def test_a_changed_data_file_invalidates_the_key(tmp_path):
    root = site(tmp_path)
    digits = tmp_path / "digits"
    digits.mkdir()
    Image.fromarray(np.zeros((2, 2), np.uint8)).save(digits / "0.png")
    path = notebook(root, f"from lib import load_tensors\nload_tensors({str(digits)!r}).shape")
    nb = run(root, path)
    assert list(nb["metadata"]["blog"]["stamp"]["data"]) == [str(digits)]
    assert changed(nb, path, root) == []
    Image.fromarray(np.full((2, 2), 255, np.uint8)).save(digits / "0.png")
    assert changed(nb, path, root) == ["data"]


def test_a_failing_cell_is_named_and_nothing_is_written(tmp_path):
    root = site(tmp_path)
    path = notebook(root, "x = 1", "# divide\ny = x / 0")
    before = path.read_bytes()
    with pytest.raises(
        BuildError, match=r"2020-01-01-post.ipynb, cell 3: 'y = x / 0' raised ZeroDivisionError: division"
    ):
        execute([path], root, **quiet)
    assert path.read_bytes() == before


@pytest.mark.parametrize("declare", ["#| error: true\n", "tag"])
def test_an_intended_error_is_allowed(tmp_path, declare):
    root = site(tmp_path)
    cell = new_code_cell(("" if declare == "tag" else declare) + "1 / 0")
    if declare == "tag":
        cell.metadata["tags"] = ["raises-exception"]
    path = notebook(root, cell, "print('after')")
    nb = run(root, path)
    assert cell_outputs(nb, 2)[0]["ename"] == "ZeroDivisionError"
    assert cell_outputs(nb, 3)[0]["text"] == "after\n"
    assert lint(path) == []


def test_the_gate_catches_a_stale_output(tmp_path):
    root = site(tmp_path)
    path = notebook(root, new_code_cell("1 + 1", outputs=[text_output("3")], execution_count=1))
    [finding] = check([path], root)
    assert (finding.cell, finding.message) == (2, "output differs:\n-3\n+2")


def test_the_gate_ignores_memory_addresses(tmp_path):
    root = site(tmp_path)
    stored = text_output("<__main__.Thing at 0x7f00deadbeef>")
    path = notebook(root, new_code_cell("class Thing: pass\nThing()", outputs=[stored], execution_count=1))
    assert check([path], root) == []


def test_a_declared_timing_cell_is_not_compared(tmp_path):
    root = site(tmp_path)
    cell = new_code_cell("#| check: false\nimport time\ntime.time()", outputs=[text_output("0.0")], execution_count=1)
    assert check([notebook(root, cell)], root) == []


def test_the_gate_compares_inline_values(tmp_path):
    root = site(tmp_path)
    prose = new_markdown_cell("The answer is `{python} answer`.")
    prose.metadata["blog"] = {"inline": {"answer": "41"}}
    path = notebook(root, "answer = 6 * 7", prose)
    [finding] = check([path], root)
    assert (finding.cell, finding.message) == (3, "inline `{python} answer` shows '41', a fresh run gives '42'")


def test_inline_values_are_stored_and_rendered(tmp_path):
    root = site(tmp_path)
    path = notebook(root, "answer = 6 * 7", new_markdown_cell("The answer is `{python} f'{answer:.1f}'`."))
    nb = run(root, path)
    assert nb["cells"][2]["metadata"]["blog"]["inline"] == {"f'{answer:.1f}'": "42.0"}
    assert 'The answer is <span class="inline-value">42.0</span>.' in (built(root) / "2020/01/01/post.html").read_text()


def test_an_inline_expression_without_a_stored_value_fails_the_build(tmp_path):
    root = site(tmp_path)
    notebook(root, "answer = 42", new_markdown_cell("The answer is `{python} answer`."))
    with pytest.raises(BuildError, match=r"cell 3: inline `\{python\} answer` has no stored value; run `make execute`"):
        built(root)


def test_the_stamp_is_shown_and_a_stale_key_is_a_warning(tmp_path):
    root = site(tmp_path)
    path = notebook(root, "x = 1")
    run(root, path)
    assert "Outputs from a run on" in (built(root) / "2020/01/01/post.html").read_text()
    nb = nbformat.read(path, 4)
    nb.cells[1].source = "x = 2"
    nbformat.write(nb, path)
    logs = []
    build(root, root / "_site", search=False, log=logs.append)
    assert f"warning: {path}: stored outputs are stale (code changed); run `make execute`" in logs


def test_lint_finds_a_stored_traceback(tmp_path):
    root = site(tmp_path)
    error = nbformat.v4.new_output("error", ename="ZeroDivisionError", evalue="division by zero", traceback=[])
    path = notebook(root, new_code_cell("1 / 0", outputs=[error], execution_count=1))
    assert [str(f) for f in lint(path)] == [f"{path}, cell 2: stored error output: ZeroDivisionError: division by zero"]


def test_lint_resolves_star_imports_to_find_undefined_names(tmp_path):
    root = site(tmp_path)
    path = notebook(root, new_code_cell("from math import *\nprint(pi, tau_x)", execution_count=1))
    assert [str(f) for f in lint(path)] == [f"{path}, cell 2: name 'tau_x' is used but never defined before this cell"]


def test_lint_finds_out_of_order_and_missing_counts(tmp_path):
    root = site(tmp_path)
    path = notebook(root, new_code_cell("a = 1", execution_count=1), new_code_cell("b = 2", execution_count=3))
    assert [str(f) for f in lint(path)] == [f"{path}, cell 3: execution count 3, expected 2 in a top-to-bottom run"]
    path = notebook(root, new_code_cell("a = 1"), name="2020-01-02-never-run.ipynb")
    assert [str(f) for f in lint(path)] == [f"{path}, cell 2: missing execution count: the cell was not run"]


def test_the_original_seed_notebook_fails_the_lint(tmp_path):
    path = tmp_path / "seed.ipynb"
    shutil.copy(SEED, path)
    assert [str(f).split(", ", 1)[1] for f in lint(path)] == [
        "cell 13: name 'stacked_threes' is used but never defined before this cell",
        "cell 13: name 'stacked_sevens' is used but never defined before this cell",
        "cell 16: name 'stacked_threes' is used but never defined before this cell",
        "cell 16: name 'stacked_sevens' is used but never defined before this cell",
        "cell 32: name 'valid_3_tens' is used but never defined before this cell",
        "cell 32: name 'valid_7_tens' is used but never defined before this cell",
        "cell 2: execution count 77, expected 1 in a top-to-bottom run",
    ]


RENAMES = [
    ("stacked_threes", "threes_train_stacked"),
    ("stacked_sevens", "sevens_train_stacked"),
    ("valid_3_tens", "threes_valid_stacked"),
    ("valid_7_tens", "sevens_valid_stacked"),
]


def test_the_gate_catches_the_seed_notebooks_stale_outputs(tmp_path):
    "With its undefined names fixed the seed runs, and the gate finds the outputs its code no longer gives."
    nb = nbformat.read(SEED, 4)
    for cell in nb.cells:
        for old, new in RENAMES:
            cell.source = cell.source.replace(old, new)
        cell.source = cell.source.replace("untar_data(URLs.MNIST_SAMPLE)", "__import__('lib').mnist_sample()")
    path = tmp_path / "seed.ipynb"
    nbformat.write(nb, path)
    messages = {f.cell: f.message for f in check([path], tmp_path)}
    assert "-(, )" in messages[16]  # the broken tuple of two images
    assert "-(tensor([0.1634, 0.1145, 0.1363, ..., 0.1105, 0.1111, 0.1640])," in messages[25]
    assert 18 not in messages  # (tensor(0.1114), tensor(0.1586)) still holds


def test_data_missing_on_this_machine_is_named(tmp_path):
    root = site(tmp_path)
    path = notebook(root, "x = 1")
    nb = json.loads(path.read_text())
    nb["metadata"]["blog"] = {"stamp": {"data": {"~/no-such-data": "0"}}}
    nb["metadata"]["blog"]["key"] = key_parts(nb, path, root) | {"data": "stale"}
    assert changed(nb, path, root) == ["data (not on this machine: ~/no-such-data)"]
