"""Executing posts, their cache key, the gate (fresh outputs = published outputs) and the lint.

Small notebooks are built in memory and run for real in execnb's shell.
"""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest
from helpers import built, children, die_with, notebook, site, text_output, wait_until
from nbformat.v4 import new_code_cell, new_markdown_cell, new_output
from PIL import Image

from lib.blog.build import build
from lib.blog.cache import write_atomic
from lib.blog.errors import BuildError
from lib.blog.execute import (
    changed,
    execute,
    key_parts,
    remembered_fingerprint,
    run_loaded,
    tree_fingerprint,
)
from lib.blog.gate import check
from lib.blog.handout import write_handouts
from lib.blog.lint import lint

# The post as it was first written (a public notebook), kept as a fixture so that these tests run in any clone.
SEED = Path(__file__).parent / "fixtures" / "seed" / "pytorch-broadcasting.original.ipynb"
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


def stamped_with_lazy_lib(tmp_path: Path) -> tuple[Path, Path, dict]:
    """A notebook stamped with its key, in a site whose lib is as this blog's: `from lib import f` loads f
    lazily from lib/helpers.py (lib/__init__'s `_HOME`), and lib/tools.py is not imported."""
    root = site(tmp_path)
    (root / "lib").mkdir()
    (root / "lib" / "__init__.py").write_text('_HOME = {"f": "lib.helpers"}\n')
    (root / "lib" / "helpers.py").write_text("def f(): return 1\n")
    (root / "lib" / "tools.py").write_text("BUILDER = 1\n")
    path = notebook(root, "from lib import f\nf()")
    nb = json.loads(path.read_text())
    nb["metadata"]["blog"] = {"key": key_parts(nb, path, root)}
    return root, path, nb


def test_a_name_lib_loads_lazily_keys_on_its_own_module(tmp_path):
    root, path, nb = stamped_with_lazy_lib(tmp_path)
    (root / "lib" / "helpers.py").write_text("def f(): return 2\n")
    assert changed(nb, path, root) == ["lib"]


def test_a_lib_module_the_notebook_does_not_import_leaves_its_key_alone(tmp_path):
    "Editing the builder (here lib/tools.py) must not mark every post stale."
    root, path, nb = stamped_with_lazy_lib(tmp_path)
    (root / "lib" / "tools.py").write_text("BUILDER = 2\n")
    assert changed(nb, path, root) == []


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


def test_the_gate_compares_the_stored_inline_values_of_a_cell_still_in_quarto_form(tmp_path):
    "Values written into the cell, which readers see, are compared in test_inline.py."
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
    assert nb["cells"][2]["source"] == "The answer is <span><!--{python} f'{answer:.1f}'-->42.0</span>."
    assert 'The answer is <span class="inline-value">42.0</span>.' in (built(root) / "2020/01/01/post.html").read_text()


def test_an_inline_expression_in_quarto_form_without_a_stored_value_fails_the_build(tmp_path):
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
    stale = "warning: stored outputs of 1 notebook(s) are stale: _notebooks/2020-01-01-post.ipynb (code changed)"
    assert f"{stale}; run `make execute`" in logs


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


# Bad notebooks: every tool says which file (and cell) is at fault, as a BuildError, and writes nothing.

NB4 = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}}
TITLE = {"cell_type": "markdown", "id": "title", "metadata": {}, "source": "# Title"}
NO_SOURCE = {"cell_type": "code", "id": "code", "metadata": {}, "outputs": [], "execution_count": None}
BAD_OUTPUT = NO_SOURCE | {"source": "print(1)", "outputs": [{"output_type": "stream", "name": "stdout"}]}
BAD = {  # what the file holds, the cell at fault, the start of the message
    "not UTF-8": (b'{"cells": "\xff"}', None, "is not UTF-8"),
    "invalid JSON": (b'{"cells": [', None, "is not valid JSON: Expecting value: line 1 column 12 (char 11)"),
    "not a notebook": (b"[1, 2]", None, "is not a Jupyter notebook: its JSON is not an object"),
    "no cells": (json.dumps(NB4).encode(), None, "is not a Jupyter notebook: it has no list of cells"),
    "cell without source": (json.dumps(NB4 | {"cells": [TITLE, NO_SOURCE]}).encode(), 2, "cell has no source text"),
    "fails validation": (
        json.dumps(NB4 | {"cells": [TITLE, BAD_OUTPUT]}).encode(),
        2,
        "does not follow the notebook format: outputs/0: 'text' is a required property",
    ),
    "folder": (None, None, "is a folder"),
    "dangling symlink": (None, None, "is a broken symbolic link"),
}
TOOLS = {
    "execute": lambda root, path: execute([path], root, **quiet),
    "lint": lambda root, path: lint(path),
    "check": lambda root, path: check([path], root),
    "handouts": lambda root, path: write_handouts(root, [path], **quiet),
}


def bad_notebook(root: Path, bad: str) -> Path:
    path = root / "_notebooks" / "2020-01-01-post.ipynb"
    if bad == "folder":
        path.mkdir()
    elif bad == "dangling symlink":
        path.symlink_to(root / "_notebooks" / "gone.ipynb")
    else:
        path.write_bytes(BAD[bad][0])
    return path


def tree(root: Path) -> dict[Path, bytes | None]:
    "Every path under `root`, with the bytes of each file: what a tool must leave as it was."
    return {p: p.read_bytes() if p.is_file() else None for p in root.rglob("*")}


@pytest.mark.parametrize("tool", TOOLS)
@pytest.mark.parametrize("bad", BAD)
def test_a_bad_notebook_is_a_build_error_naming_it(tmp_path, bad, tool):
    root = site(tmp_path)
    path = bad_notebook(root, bad)
    before = tree(root)
    with pytest.raises(BuildError) as error:
        TOOLS[tool](root, path)
    _, cell, message = BAD[bad]
    assert (error.value.path, error.value.cell) == (path, cell)
    assert error.value.message.startswith(message), error.value.message
    assert str(error.value).startswith(f"{path}, cell {cell}: " if cell else f"{path}: ")
    assert tree(root) == before


def test_a_notebook_edited_while_it_runs_is_not_written(tmp_path):
    root = site(tmp_path)
    # The cell edits its own file (the worker runs in the notebook's folder): an edit made mid-run, without a race.
    path = notebook(root, "with open('2020-01-01-post.ipynb', 'a') as f:\n    f.write('\\n')")
    edited = path.read_bytes() + b"\n"
    with pytest.raises(BuildError) as error:
        execute([path], root, **quiet)
    assert (error.value.path, error.value.cell) == (path, None)
    assert error.value.message == "changed while it ran; run `make execute` again"
    assert path.read_bytes() == edited


def test_the_worker_runs_the_bytes_it_is_given_not_the_file(tmp_path):
    root = site(tmp_path)
    path = notebook(root, "print('read before the run')")
    read = path.read_bytes()
    notebook(root, "print('saved since')")
    fresh = run_loaded({path: read})[path]
    assert fresh["cells"][1]["outputs"][0]["text"] == ["read before the run\n"]


def test_a_worker_that_dies_is_a_build_error_naming_its_notebook(tmp_path):
    root = site(tmp_path)
    path = notebook(root, "import os\nos._exit(3)")
    before = path.read_bytes()
    with pytest.raises(BuildError) as error:
        execute([path], root, **quiet)
    assert (error.value.path, error.value.cell) == (path, None)
    assert error.value.message == "its worker process died (killed, out of memory, or ended by a cell)"
    assert path.read_bytes() == before


def test_a_failure_kills_the_other_worker_instead_of_waiting_for_it(tmp_path):
    root = site(tmp_path)
    slow = notebook(root, "import time\ntime.sleep(60)", name="2020-01-01-slow.ipynb")
    failing = notebook(root, "1 / 0", name="2020-01-02-failing.ipynb")
    start = time.monotonic()
    with pytest.raises(BuildError) as error:
        execute([slow, failing], root, **quiet)
    assert (error.value.path, error.value.cell) == (failing, 2)
    assert time.monotonic() - start < 30


def test_a_failure_while_another_worker_sends_its_result_ends_the_run(tmp_path):
    # The other worker's result waits while the failure's 20 MB are sent, then follows as the run stops: the pool,
    # stopped the orderly way, then waited forever for the worker it had started in place of the failed one.
    code = (
        "from pathlib import Path; from jobs import big_result_or_big_error as job; from lib.blog.workers import "
        "run_all; run_all(job, {Path('ok'): ('ok',), Path('fail'): ('fail',)})"
    )
    env = os.environ | {"PYTHONPATH": os.pathsep.join(map(str, [Path(__file__).parent, Path(__file__).parents[1]]))}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=30)
    assert "lib.blog.errors.BuildError: fail: too much!!!" in done.stderr


def workers(pid: int) -> list[int]:
    "The ProcessPoolExecutor workers among `pid`'s children (not multiprocessing's resource tracker)."
    found = []
    for child in children(pid):
        try:
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                found.append(child)
        except OSError:
            continue
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's")
def test_a_killed_execute_leaves_no_worker(tmp_path):
    root = site(tmp_path)
    path = notebook(root, "open('started', 'w').close()\nimport time\ntime.sleep(60)")
    cmd = [sys.executable, "-m", "lib.blog", "execute", str(path), "--root", str(root)]
    parent = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert wait_until(lambda: (path.parent / "started").exists(), 60), "the cell never started"
        running = workers(parent.pid)
        assert running and die_with(parent, running, 5)
    finally:
        parent.kill()


MEMOS = {
    "not JSON": lambda folder: b"{not json",
    "not UTF-8": lambda folder: b"\xff\xfe",
    "not a map": lambda folder: b"[1, 2]",
    "entry not a map": lambda folder: json.dumps({str(folder): "junk"}).encode(),
    "entry without dirs": lambda folder: json.dumps({str(folder): {"fingerprint": "x", "dirs": 1}}).encode(),
}


@pytest.mark.parametrize("memo_bytes", MEMOS.values(), ids=MEMOS)
def test_a_corrupt_fingerprint_memo_is_a_miss(tmp_path, memo_bytes):
    folder, memo = tmp_path / "data", tmp_path / "data-fingerprints.json"
    folder.mkdir()
    (folder / "0.png").write_bytes(b"0")
    memo.write_bytes(memo_bytes(folder))
    assert remembered_fingerprint(folder, memo) == tree_fingerprint(folder)
    assert json.loads(memo.read_bytes())[str(folder)]["fingerprint"] == tree_fingerprint(folder)


def test_an_unreadable_fingerprint_memo_is_a_miss(tmp_path):
    folder, memo = tmp_path / "data", tmp_path / "data-fingerprints.json"
    folder.mkdir()
    memo.mkdir()  # a folder where the memo should be: it can be neither read nor replaced
    assert remembered_fingerprint(folder, memo) == tree_fingerprint(folder)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "data-fingerprints.json"]


def fail_replace(src, dst):
    raise OSError("disk full")


def test_write_atomic_leaves_the_old_file_when_the_write_fails(tmp_path, monkeypatch):
    path = tmp_path / "post.ipynb"
    path.write_bytes(b"old")
    monkeypatch.setattr(os, "replace", fail_replace)
    with pytest.raises(OSError, match="disk full"):
        write_atomic(path, b"new")
    assert path.read_bytes() == b"old" and list(tmp_path.iterdir()) == [path]


def test_a_student_notebook_is_replaced_whole(tmp_path, monkeypatch):
    root = site(tmp_path)
    path = notebook(root, "#solution\n# Add one\nx = 1 + 1")
    [student] = write_handouts(root, [path], **quiet)
    before = student.read_bytes()
    notebook(root, "#solution\n# Add two\nx = 1 + 2")
    monkeypatch.setattr(os, "replace", fail_replace)
    with pytest.raises(OSError, match="disk full"):
        write_handouts(root, [path], **quiet)
    assert student.read_bytes() == before and list(student.parent.iterdir()) == [student]


def test_hand_edited_blog_metadata_is_no_stored_key(tmp_path):
    root = site(tmp_path)
    path = notebook(root, "x = 1")
    nb = json.loads(path.read_text())
    nb["metadata"]["blog"] = "junk"
    assert changed(nb, path, root) == ["code", "lib", "data", "environment"]
    nb["metadata"]["blog"] = {"key": [], "stamp": {"data": "junk"}}
    assert changed(nb, path, root) == ["code", "lib", "data", "environment"]


def test_lint_reports_a_cell_ruff_cannot_parse(tmp_path):
    root = site(tmp_path)
    path = notebook(root, new_code_cell("x = (1", execution_count=1))
    assert [str(f) for f in lint(path)] == [f"{path}, cell 2: ruff cannot parse the cell: unexpected EOF while parsing"]


def test_lint_reports_a_star_import_that_fails(tmp_path):
    root = site(tmp_path)
    path = notebook(root, new_code_cell("from no_such_module_here import *", execution_count=1))
    assert [str(f) for f in lint(path)] == [
        f"{path}, cell 2: `from no_such_module_here import *` fails: "
        "ModuleNotFoundError: No module named 'no_such_module_here'"
    ]


def test_the_gate_reports_a_stored_image_it_cannot_read(tmp_path):
    root = site(tmp_path)
    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABSK+kcQAAAABJRU5ErkJggg=="
    stored = new_output("display_data", data={"image/png": "AAAA"})
    code = f"from IPython.display import display\ndisplay({{'image/png': {png!r}}}, raw=True)"
    path = notebook(root, new_code_cell(code, outputs=[stored], execution_count=1))
    [finding] = check([path], root)
    assert finding.cell == 2 and finding.message.startswith("an image cannot be read: UnidentifiedImageError")
