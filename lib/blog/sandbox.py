"""The sandbox a student's notebook runs in when it is graded: bubblewrap (`bwrap`), with limits.

Inside, the notebook sees the system's programs and libraries, this project's Python and `lib/`, and the
datasets, all read-only; a private, size-capped temporary folder as its home and working folder; no
network; its own process tree (PID namespace: whatever it starts dies with it, and it cannot see or signal
the grader or another student's sandbox). It does not see the answer key, the other submissions, the
teacher's home or the grades. Limits (rlimits) cap its memory, processes, file sizes and open files.
When the grader runs as root, the notebook runs as an unprivileged user of its own (one per parallel slot),
so the process cap counts its processes only.

Written by hand on bubblewrap's options: no Python library wraps bwrap, and the set of mounts is the
part that needs care. `unconfined` runs the same harness without bwrap, for `--no-sandbox`.
"""

from __future__ import annotations

import configparser
import os
import resource
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from lib.blog.errors import BuildError

INSTALL = (
    "bubblewrap (`bwrap`) is needed to grade: each student's notebook runs in its sandbox.\n"
    "Install it (Debian, Ubuntu: `sudo apt-get install bubblewrap`; Fedora: `sudo dnf install bubblewrap`;\n"
    "Arch: `sudo pacman -S bubblewrap`), or pass --no-sandbox (make grade NO_SANDBOX=1) to run the\n"
    "notebooks unconfined, with the teacher's rights: only for notebooks you trust."
)
SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")
HOME = "/home/student"
FIRST_UID = 61000  # the unprivileged users of the parallel slots, when the grader runs as root


@dataclass(frozen=True)
class Limits:
    # Each process's data (heap and private memory: RLIMIT_DATA), bytes. Not its address space: torch maps
    # 3.8 GB of it at import and uses a quarter. The posts' notebooks peak at 1.8 GB of data.
    memory: int = 3 << 30
    processes: int = 256  # threads count too: torch starts one per core
    file_size: int = 256 << 20
    open_files: int = 1024
    folder: int = 512 << 20  # the private working folder (a tmpfs, in memory)


def fastai_home() -> Path:
    "fastai's own folder: FASTAI_HOME, else ~/.fastai, as fastai reads it."
    return Path(os.environ.get("FASTAI_HOME", "~/.fastai")).expanduser()


def fastai_data() -> Path | None:
    """The folder fastai's `untar_data` keeps datasets in, as fastai's own config file says (config.ini in
    `fastai_home()`; relative paths are under it). Read here without importing fastai."""
    home = fastai_home()
    config = configparser.ConfigParser()
    config.read(home / "config.ini")
    folder = Path(config.get("DEFAULT", "data", fallback="data")).expanduser()
    folder = folder if folder.is_absolute() else home / folder
    return folder if folder.is_dir() else None


def read_only(path: Path) -> list[str]:
    "Mount `path` read-only at the same place; a symlink (a merged /usr's /lib) stays a symlink."
    if path.is_symlink():
        return ["--symlink", os.readlink(path), str(path)]
    return ["--ro-bind", str(path), str(path)] if path.exists() else []


def python_folders(root: Path) -> list[Path]:
    "This Python (its installation and the virtual environment) and `lib/`, which the notebooks import."
    found = {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve(), (root / "lib").resolve()}
    return sorted(p for p in found if not any(p.is_relative_to(s) for s in SYSTEM if Path(s).is_dir()))


def folders_above(path: Path) -> list[str]:
    "The folders a mount point is made in, readable by all: bwrap makes them 0700, which a dropped user cannot enter."
    return [arg for parent in reversed(path.parents[:-1]) for arg in ("--perms", "0755", "--dir", str(parent))]


def bwrap_command(root: Path, limits: Limits, root_user: bool, network: bool = False) -> list[str]:
    "The sandbox; `network`: the host's network (a class lab's kernel talks to JupyterLab through it)."
    command = ["bwrap", "--die-with-parent", "--new-session", "--unshare-pid", "--unshare-ipc"]
    command += ["--unshare-uts", "--unshare-cgroup-try", "--hostname", "sandbox"]
    command += [] if network else ["--unshare-net"]
    # As root, no user namespace: the harness drops to a slot's own user, which the process cap then counts.
    command += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"] if root_user else ["--unshare-user"]
    for path in SYSTEM:
        command += read_only(Path(path))
    command += ["--proc", "/proc", "--dev", "/dev", "--perms", "01777", "--tmpfs", "/tmp"]
    for path in python_folders(root):  # after /tmp's tmpfs, which would hide a project kept under /tmp
        command += [*folders_above(path), "--ro-bind", str(path), str(path)]
    command += ["--perms", "0777", "--tmpfs", "/fastai"]
    if data := fastai_data():
        command += ["--ro-bind", str(data), "/fastai/data"]
    command += ["--perms", "0777", "--size", str(limits.folder), "--tmpfs", HOME, "--chdir", HOME]
    return command


def environment(root: Path, home: str, fastai_home: str) -> dict:
    "A clean environment: nothing of the teacher's (tokens, paths) reaches the notebook."
    return {
        "PATH": f"{Path(sys.prefix) / 'bin'}:/usr/local/bin:/usr/bin:/bin",
        "HOME": home,
        "TMPDIR": "/tmp",
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(root),
        "FASTAI_HOME": fastai_home,
        "MPLBACKEND": "agg",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def user_tasks(uid: int) -> int:
    "Processes and threads the user `uid` runs now: what the kernel counts against RLIMIT_NPROC."
    count = 0
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
            count += int(fields["Threads"]) if int(fields["Uid"].split()[0]) == uid else 0
        except (OSError, ValueError, KeyError):  # a process that ended while being read
            continue
    return count


def process_cap(limits: Limits) -> int:
    """RLIMIT_NPROC counts all of a user's processes. As root the notebook runs as a user of its own; as
    anyone else, it shares the teacher's count, so the cap is what the teacher runs now plus the notebook's."""
    return limits.processes if os.getuid() == 0 else user_tasks(os.getuid()) + limits.processes


def set_limits(limits: Limits):
    "The rlimits, set in the child between fork and exec: bwrap and everything under it inherit them."
    processes = process_cap(limits)

    def preexec() -> None:
        for which, value in (
            (resource.RLIMIT_DATA, limits.memory),
            (resource.RLIMIT_NPROC, processes),
            (resource.RLIMIT_FSIZE, limits.file_size),
            (resource.RLIMIT_NOFILE, limits.open_files),
            (resource.RLIMIT_CORE, 0),
        ):
            hard = resource.getrlimit(which)[1]  # only root may raise a hard limit: stay under the one there is
            value = value if hard == resource.RLIM_INFINITY else min(value, hard)
            resource.setrlimit(which, (value, value))

    return preexec


def check_bwrap() -> None:
    "A clear error, before any notebook runs, where bwrap is missing or cannot make a sandbox here."
    if shutil.which("bwrap") is None:
        raise BuildError(Path("bwrap"), INSTALL)
    probe = ["bwrap", "--ro-bind", "/", "/", "--unshare-pid", "--unshare-net"]
    probe += [] if os.getuid() == 0 else ["--unshare-user"]
    done = subprocess.run([*probe, "true"], capture_output=True, text=True)
    if done.returncode != 0:
        why = done.stderr.strip() or f"exit {done.returncode}"
        raise BuildError(Path("bwrap"), f"bubblewrap cannot make a sandbox on this machine: {why}\n{INSTALL}")


SUBMISSION = "submission.ipynb"  # the copy of the submission in the notebook's working folder


def harness_command(root: Path, limits: Limits, sandboxed: bool, folder: Path) -> list[str]:
    run = [sys.executable, "-c", "from lib.blog.grade_run import main; main()"]
    if not sandboxed:
        return run
    copy = ["--ro-bind", str(folder / SUBMISSION), f"{HOME}/{SUBMISSION}"]  # read-only: it stays as handed in
    return [*bwrap_command(root, limits, os.getuid() == 0), *copy, *run]


def slot_uid(slot: int, sandboxed: bool) -> int | None:
    return FIRST_UID + slot if sandboxed and os.getuid() == 0 else None


def start(
    root: Path, limits: Limits, sandboxed: bool, channel: int, folder: Path, submission: Path
) -> subprocess.Popen:
    """The harness, started with its limits and the write end of `channel` as the one descriptor it keeps, in a
    working folder holding a copy of the submission. Unconfined, that folder is `folder` (fresh and temporary),
    with the same limits and a clean environment."""
    shutil.copyfile(submission, folder / SUBMISSION)
    os.chmod(folder / SUBMISSION, 0o644)  # readable by the sandbox's own user
    cwd = None if sandboxed else folder
    env = environment(root, HOME, "/fastai") if sandboxed else environment(root, str(folder), str(fastai_home()))
    return subprocess.Popen(
        harness_command(root, limits, sandboxed, folder), stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, pass_fds=(channel,), env=env, cwd=cwd, start_new_session=True,
        preexec_fn=set_limits(limits),
    )  # fmt: skip
