"""The kernel of `make class-lab`: ipykernel inside the grading sandbox (`sandbox.py`).

A class's JupyterLab runs on the teacher's machine, and its file browser shows only the student notebooks
(`_class/`). Code a student types runs in this kernel, which sees what a graded notebook sees (the
system, this project's Python and `lib/`, the datasets, read-only; a private home) and nothing of the
teacher's: not the answer keys, not the repository, not the home folder. Unlike grading it shares the
host's network, since JupyterLab talks to its kernels over local TCP ports. The limits on memory,
processes and files are grading's. Interrupts travel as messages (`interrupt_mode`), because a signal
to the sandbox's launcher would not reach the kernel inside.

`install(root)` writes the kernel spec where `make class-lab` points JUPYTER_PATH; JupyterLab starts
`python -m lib.blog.class_kernel {connection_file}`, which execs bwrap.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from lib.blog.sandbox import HOME, Limits, bwrap_command, environment, set_limits

NAME = "blog-class"
SPECS = Path(".cache") / "class-kernels"  # JUPYTER_PATH for `make class-lab`: kernels/<NAME>/kernel.json
CONNECTION = f"{HOME}/.kernel.json"
# Runs first in the sandbox: as root, become the kernel's own unprivileged user, then start ipykernel.
START = (
    "import os, sys\n"
    "uid = sys.argv[1]\n"
    "if uid and os.getuid() == 0:\n"
    "    os.setgroups([]); os.setgid(int(uid)); os.setuid(int(uid))\n"
    "os.execv(sys.executable, [sys.executable, '-m', 'ipykernel_launcher', '-f', sys.argv[2]])\n"
)


def install(root: Path) -> Path:
    "Write the class kernel's spec under root/.cache/class-kernels; returns that folder (for JUPYTER_PATH)."
    folder = root / SPECS / "kernels" / NAME
    folder.mkdir(parents=True, exist_ok=True)
    spec = {
        "argv": [sys.executable, "-m", "lib.blog.class_kernel", "{connection_file}"],
        "display_name": "Python 3 (class sandbox)",
        "language": "python",
        "interrupt_mode": "message",
        "env": {"PYTHONPATH": str(root.resolve())},
    }
    (folder / "kernel.json").write_text(json.dumps(spec, indent=1))
    return root / SPECS


def command(root: Path, limits: Limits, connection_fd: int) -> list[str]:
    uid = str(62000 + os.getpid() % 30000) if os.getuid() == 0 else ""  # one user per kernel: its own process cap
    sandbox = bwrap_command(root, limits, os.getuid() == 0, network=True)
    sandbox += ["--perms", "0444", "--ro-bind-data", str(connection_fd), CONNECTION]
    return [*sandbox, sys.executable, "-c", START, uid, CONNECTION]


def main(connection_file: str) -> None:
    root, limits = Path(__file__).resolve().parents[2], Limits()
    read, write = os.pipe()
    os.write(write, Path(connection_file).read_bytes())  # a few hundred bytes: the pipe holds them
    os.close(write)
    os.set_inheritable(read, True)
    set_limits(limits)()
    env = environment(root, HOME, "/fastai")
    for name in ("MPLBACKEND", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):  # a lab kernel plots inline, on every core
        env.pop(name)
    os.execvpe("bwrap", command(root, limits, read), env)


if __name__ == "__main__":
    main(sys.argv[1])
