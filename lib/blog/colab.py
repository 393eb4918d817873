"""The first cell of every notebook post: it installs this blog's `lib` on Colab, or on any machine without it.

The cell's source lives here, once. `setup_cell(site)` fills in the repository and branch the site is built
from; `starts_with_setup_cell` tells whether a notebook begins with that cell as it is written today.
`python -m lib.blog.colab` prints the cell for the blog in the current folder.
"""

from __future__ import annotations

from pathlib import Path

from lib.blog.config import Site, load_config
from lib.blog.errors import BuildError

# Plain Python (no `%pip`, no `lib`), so that nbdev-test and `python cell.py` run it as Colab does.
CELL = """\
#hide
# On Colab, or wherever this blog's `lib` is not installed, install it from the blog's repository so that
# `from lib import ...` below works. Under `make lab`, or once it is installed, this cell does nothing.
import importlib.util, os, subprocess, sys

lib_url = "{source}"  # the site's branch
if importlib.util.find_spec("lib") is None or importlib.util.find_spec("lib.check") is None:
    # --no-deps: lib lists no dependencies of its own, and Colab already has torch, fastai and OpenCV,
    # built for its GPU, which pip must not replace. BLOG_LIB_SOURCE installs from elsewhere (the tests).
    source = os.environ.get("BLOG_LIB_SOURCE", lib_url)
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", source], capture_output=True,
                         text=True)
    if pip.returncode != 0:  # say why: no network, a wrong address, a proxy
        raise RuntimeError(f"pip could not install this blog's lib from {{source}}:\\n{{pip.stderr or pip.stdout}}")
    importlib.invalidate_caches()  # so that this kernel finds the new package without a restart"""


def lib_source(site: Site) -> str:
    "pip's address of the branch the site is built from, as GitHub's zip of it: the machine needs no git."
    if not (site.github_username and site.github_repo):
        raise BuildError(site.root / "_config.yml", "the setup cell needs github_username and github_repo")
    return f"https://github.com/{site.github_username}/{site.github_repo}/archive/refs/heads/{site.branch}.zip"


def setup_cell(site: Site) -> str:
    "The source of the setup cell for `site`."
    return CELL.format(source=lib_source(site))


def starts_with_setup_cell(nb: dict, site: Site) -> bool:
    "Whether the notebook's first code cell is the setup cell of `site`, as `setup_cell` writes it now."
    first = next((c for c in nb["cells"] if c["cell_type"] == "code"), None)
    text = first and first["source"]
    return isinstance(text, (str, list)) and "".join(text) == setup_cell(site)


if __name__ == "__main__":
    print(setup_cell(load_config(Path("."))))
