"Small builders for test sites: a folder with _config.yml, a notebook or a markdown post, built for real."

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from lib.blog.build import build

CONFIG = (
    "title: Test Blog\nurl: https://example.org\ngithub_username: someone\ngithub_repo: blog\n"
    "permalink: /:year/:month/:day/:title.html\n"
)
FRONT_MATTER = '# "A Post"\n> About something\n\n- categories: [test]'


def site(tmp_path: Path, config: str = CONFIG) -> Path:
    root = tmp_path / "site"
    (root / "_notebooks").mkdir(parents=True, exist_ok=True)
    (root / "_posts").mkdir(exist_ok=True)
    (root / "_config.yml").write_text(config)
    return root


def text_output(text: str):
    return new_output("execute_result", data={"text/plain": text}, execution_count=1)


def notebook(root: Path, *cells, front_matter=FRONT_MATTER, name: str = "2020-01-01-post.ipynb") -> Path:
    "Write a notebook whose first cell is `front_matter` (markdown text, or a cell); strings become code cells."
    first = new_markdown_cell(front_matter) if isinstance(front_matter, str) else front_matter
    cells = [new_code_cell(c) if isinstance(c, str) else c for c in cells]
    nb = new_notebook(cells=[first, *cells])
    path = root / "_notebooks" / name
    nbformat.write(nb, path)
    return path


def markdown_post(root: Path, text: str, name: str = "2020-01-02-note.md") -> Path:
    path = root / "_posts" / name
    path.write_text(text)
    return path


def built(root: Path, **kw) -> Path:
    "Build `root` into root/_site without the search index (pagefind is tested in the browser test)."
    kw.setdefault("search", False)
    build(root, root / "_site", log=lambda _: None, **kw)
    return root / "_site"


def page(root: Path, url: str = "2020/01/01/post.html") -> str:
    return (root / "_site" / url).read_text()


def children(pid: int) -> list[int]:
    "Processes whose parent is `pid`, from /proc (psutil is not a dependency)."
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile
    return found


def in_session(sid: int) -> list[int]:
    "Running processes of session `sid`: one started with `start_new_session=True`, and all it started since."
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            state, _, _, session = stat.read_text().rsplit(")", 1)[1].split()[:4]
        except (OSError, ValueError):
            continue  # gone meanwhile
        if int(session) == sid and state not in ("Z", "X"):
            found.append(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    "Running: a zombie is dead, only not yet reaped by whichever process adopted it."
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def wait_until(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def die_with(process, running: list[int], seconds: float) -> bool:
    "SIGKILL `process`, which no handler sees, and whether the `running` pids all die within `seconds`."
    process.kill()
    process.wait()
    try:
        return wait_until(lambda: not any(alive(pid) for pid in running), seconds)
    finally:
        for pid in running:
            if alive(pid):
                os.kill(pid, 9)


# Runs the command it is given and writes that command's peak memory (KiB) to the file named first. Linux counts a
# process's peak from the memory of the process it was forked from: this small one, not the test run's gigabyte.
PEAK_OF = (
    "import os, subprocess, sys\n"
    "process = subprocess.Popen(sys.argv[2:])\n"
    "_, status, usage = os.wait4(process.pid, 0)\n"
    "open(sys.argv[1], 'w').write(str(usage.ru_maxrss))\n"
    "sys.exit(os.waitstatus_to_exitcode(status))\n"
)


def measured(cmd: list[str], seconds: float, log: Path) -> tuple[int | None, float, int]:
    """Run `cmd` (its output to `log`) for at most `seconds`: (exit status, or None when it was killed for running
    too long, seconds taken, its peak memory in bytes), the memory from the kernel's own count (`wait4`)."""
    start, peak = time.monotonic(), log.with_suffix(".peak")
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-c", PEAK_OF, str(peak), *cmd],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        code = process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, 9)
        process.wait()
        return None, time.monotonic() - start, 0
    memory = int(peak.read_text()) * 1024 if peak.exists() else 0
    return (None if code == -9 else code), time.monotonic() - start, memory
