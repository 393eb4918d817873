"""The setup cell notebook posts start with: on Colab it installs `lib`; where `lib` is importable, nothing.

The cell runs as a script, with the Python of the environment it sets up, as Colab's kernel would run it.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lib.blog.colab import setup_cell, starts_with_setup_cell
from lib.blog.config import load_config

ROOT = Path(__file__).parents[1]
SITE = load_config(ROOT)
# Neither Colab nor a source of our own, whatever the machine running the tests says; pip stays offline.
CLEAN = {k: v for k, v in os.environ.items() if k not in ("COLAB_RELEASE_TAG", "BLOG_LIB_SOURCE", "PYTHONPATH")}
OFFLINE = CLEAN | {"PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}


def run_cell(python: Path | str, folder: Path, **env: str) -> subprocess.CompletedProcess:
    "The cell as a script in `folder` (not the repository, whose `lib` would be found from the working folder)."
    script = folder / "setup_cell.py"
    script.write_text(setup_cell(SITE))
    return subprocess.run([str(python), str(script)], cwd=folder, env=OFFLINE | env, capture_output=True, text=True)


def lib_wheel(folder: Path) -> Path:
    "A wheel of this checkout's `lib`, built offline with this environment's setuptools."
    copy = folder / "checkout"
    shutil.copytree(ROOT / "lib", copy / "lib", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, copy)
    pip = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(folder)]
    subprocess.run([*pip, str(copy)], env=OFFLINE, check=True, capture_output=True)
    return next(folder.glob("broadcasting_blog-*.whl"))


def test_the_cell_points_pip_at_the_published_branch():
    assert '"https://github.com/notebook-blog/notebook-blog/archive/refs/heads/main.zip"' in setup_cell(SITE)


def test_the_cell_is_hidden_on_the_site():
    assert setup_cell(SITE).splitlines()[0] == "#hide"


def test_a_notebook_starting_with_the_cell_is_recognised():
    other = {"cell_type": "code", "source": "x = 1"}
    nb = {"cells": [{"cell_type": "markdown", "source": "# Title"}, {"cell_type": "code", "source": setup_cell(SITE)}]}
    assert starts_with_setup_cell(nb, SITE) and not starts_with_setup_cell({"cells": [other, *nb["cells"]]}, SITE)


@pytest.mark.parametrize("path", sorted((ROOT / "_notebooks").rglob("*.ipynb")), ids=lambda p: p.stem)
def test_every_post_and_student_notebook_starts_with_the_setup_cell(path):
    import json

    assert starts_with_setup_cell(json.loads(path.read_text()), SITE), "insert `python -m lib.blog.colab`'s cell"


def test_where_lib_is_importable_the_cell_installs_nothing(tmp_path):
    "A source that does not exist: pip would fail on it, so a clean exit means pip never ran."
    done = run_cell(sys.executable, tmp_path, BLOG_LIB_SOURCE=str(tmp_path / "no-such-source"))
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


@pytest.mark.slow
def test_on_colab_the_cell_installs_lib(tmp_path):
    "A fresh environment without `lib`, pretending to be Colab; afterwards `lib` imports from its site-packages."
    subprocess.run([sys.executable, "-m", "venv", str(tmp_path / "venv")], check=True)
    python = tmp_path / "venv" / "bin" / "python"
    done = run_cell(python, tmp_path, COLAB_RELEASE_TAG="release-colab-test", BLOG_LIB_SOURCE=str(lib_wheel(tmp_path)))
    assert done.returncode == 0, done.stderr
    where = subprocess.run([str(python), "-c", "import lib, lib.blog; print(lib.__file__)"], cwd=tmp_path, env=CLEAN,
                           capture_output=True, text=True, check=True)  # fmt: skip
    assert Path(where.stdout.strip()).is_relative_to(tmp_path / "venv")


def test_on_colab_where_lib_is_installed_the_cell_installs_nothing_again(tmp_path):
    "Run All a second time on Colab: lib is there from the first run, and pip does not run (its source is gone)."
    done = run_cell(sys.executable, tmp_path, COLAB_RELEASE_TAG="release-colab-test", BLOG_LIB_SOURCE="/no-such-source")
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


@pytest.mark.slow
def test_when_pip_fails_the_cell_says_why(tmp_path):
    subprocess.run([sys.executable, "-m", "venv", str(tmp_path / "venv")], check=True)
    done = run_cell(tmp_path / "venv" / "bin" / "python", tmp_path, BLOG_LIB_SOURCE=str(tmp_path / "no-such-source"))
    assert done.returncode != 0
    assert "pip could not install this blog's lib from" in done.stderr and "no-such-source" in done.stderr
    assert "does not exist" in done.stderr  # pip's own reason, shown
