"""Worker processes for notebooks: each runs in a fresh interpreter, and none outlives the caller.

Linux's parent-death signal kills a worker when the process that started it dies, even by SIGKILL,
which no handler sees (a worker that a forkserver forked watches the build's process instead, see
`die_with_parent`); a failure or Ctrl-C kills the running workers instead of waiting for cells.
"""

from __future__ import annotations

import ctypes
import glob
import os
import select
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING

from lib.blog.errors import BuildError, blame

try:
    import fcntl
except ImportError:  # Windows: no forkserver, so no folder to mark
    fcntl = None
if TYPE_CHECKING:
    from concurrent.futures import Future  # imported where a pool starts: a build may need none

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
WORKERS = 2  # notebooks run at a time
MARK = "blog-build.lock"  # in multiprocessing's temp folder: a build's, locked while the build lives
_mark: int | None = None  # this process's lock on it


def run_all(fn: Callable, jobs: dict[Path, tuple], workers: int = WORKERS) -> dict[Path, object]:
    """`fn(*args)` for each path's args, `workers` at a time, each in a fresh process. The first failure
    raises its BuildError (naming the path) and kills the other workers; so does Ctrl-C."""
    if not jobs:
        return {}  # no pool, no worker
    from concurrent.futures import ProcessPoolExecutor  # a tenth of a second to import

    paths = list(jobs)
    pool = ProcessPoolExecutor(workers, max_tasks_per_child=1, initializer=die_with_parent, initargs=(os.getpid(),))
    try:
        results = {paths[i]: result(job, paths[i]) for i, job in as_done(pool, fn, list(jobs.values()), workers)}
    except BaseException:
        stop(pool)
        raise
    pool.shutdown()
    return {p: results[p] for p in jobs}


def as_done(pool, fn: Callable, jobs: list[tuple], limit: int) -> Iterator[tuple[int, Future]]:
    """Each job's index and its future, done, as each finishes: `fn(*job)` in `pool`, `limit` at a time. A job is
    submitted only as a worker frees up, so the pool never holds a job waiting for a worker: a job that a stop
    would have to cancel, or that the pool would go on sending to a worker just killed (see `stop`)."""
    from concurrent.futures import FIRST_COMPLETED, wait

    todo, running = iter(enumerate(jobs)), {}
    while True:
        for i, job in islice(todo, limit - len(running)):
            running[pool.submit(fn, *job)] = i
        if not running:
            return
        done, _ = wait(running, return_when=FIRST_COMPLETED)
        for future in done:
            yield running.pop(future), future


def result(job, path: Path) -> dict:
    from concurrent.futures.process import BrokenProcessPool

    "A worker's notebook, or a BuildError naming the notebook whatever went wrong."
    with blame(path):
        try:
            return job.result()
        except BrokenProcessPool:
            raise BuildError(path, "its worker process died (killed, out of memory, or ended by a cell)") from None


def stop(pool) -> None:
    """Kill the workers now: waiting for them to finish their cells could take as long as the cells do. Then shut
    the pool down, which ends however the workers ended: left to itself, Python 3.11's pool can wait forever on a
    worker just killed (no public way to reach its workers and pipes before Python 3.14)."""
    # The pool's feeder thread may be halfway through writing a job into a pipe no worker reads any more. The
    # pool's thread closes the pipe once it sees the workers dead, which unblocks the feeder; should that thread
    # fail first, exit would still wait for the feeder, forever.
    pool._call_queue.cancel_join_thread()
    # The pool's thread sees a worker dead, fails the jobs, kills the other workers, and ends. Not shutdown() first:
    # the pool would then stop the orderly way, telling each worker to stop, and could wait forever for one that
    # it started in place of a worker that finished, blocked on a lock that a killed worker held.
    manager, waited = pool._executor_manager_thread, 0.0
    while manager is not None and manager.is_alive():
        with pool._shutdown_lock:  # which the pool's thread holds while it starts a worker
            kill(pool)  # each time: it may have started one since
            if waited >= 1:
                # Still reading a result that a killed worker never finished sending: with no process left holding
                # the pipe's writing end, it reads the pipe's end instead, and sees the pool broken.
                pool._result_queue._writer.close()
        manager.join(0.05)
        waited += 0.05
    pool.shutdown(wait=True)


def kill(pool) -> None:
    for worker in list((pool._processes or {}).values()):
        worker.kill()


def die_with_parent(parent: int) -> None:
    """Run in a new process (a worker, or a child before exec): it dies when `parent`, the build's process, dies,
    even by SIGKILL. Linux's parent-death signal kills a child of `parent`. A worker forked by a forkserver watches
    `parent` instead: the forkserver, its parent, lives on while any of its workers does."""
    if os.getppid() != parent:
        watch(parent)
        return
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, ctypes.c_ulong(signal.SIGKILL))
        except (OSError, AttributeError):
            pass  # no usable libc: a worker then outlives a killed parent, as it would elsewhere
    if os.getppid() != parent:  # the parent died before prctl took effect, so the signal will never come
        os._exit(1)


def watch(parent: int) -> None:
    "Exit when `parent` does: a thread waits on its pidfd (Linux 5.3 and later), or checks twice a second."

    def wait() -> None:
        try:
            pidfd = os.pidfd_open(parent)
        except (AttributeError, OSError):  # no pidfd here, or `parent` already gone
            while running(parent):
                time.sleep(0.5)
        else:
            select.select([pidfd], [], [])  # readable once the process has exited
        os._exit(1)

    threading.Thread(target=wait, daemon=True, name="watch-parent").start()


def running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False  # gone, or its number given since to another user's process
    return True


def mark_temp_folder() -> None:
    """multiprocessing's temp folder (`pymp-*` in the system's temp folder; it holds the forkserver's socket) is
    removed when this process exits, but not when it is killed. So it is marked as a build's, with a lock this
    process holds while it lives, and the next build removes it once the lock is free (`remove_left_temp_folders`).
    Call it once the forkserver is running, when the folder exists."""
    global _mark
    if _mark is None and fcntl is not None:
        from multiprocessing import util

        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
        _mark = os.open(os.path.join(util.get_temp_dir(), MARK), flags, 0o600)
        fcntl.flock(_mark, fcntl.LOCK_EX)


def remove_left_temp_folders() -> None:
    "The multiprocessing temp folders of builds that were killed: marked by `mark_temp_folder`, their lock free."
    if fcntl is None:
        return
    for mark in glob.glob(os.path.join(glob.escape(tempfile.gettempdir()), "pymp-*", MARK)):
        try:
            fd = os.open(mark, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            continue  # gone meanwhile, or another user's
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            shutil.rmtree(os.path.dirname(mark), ignore_errors=True)  # never through a link: rmtree refuses one
        except OSError:
            pass  # its build is running
        finally:
            os.close(fd)
