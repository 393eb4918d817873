"""What runs inside the grading sandbox: one submission's code cells, in one IPython shell, in order.

The job comes as JSON on stdin: the cells, the time limit of a cell, and which names to read and when.
What comes out is data, one JSON line at a time on the file descriptor the job names: the values of the
checked names (plain numbers, arrays and text, `lib.check.to_wire`), after each cell of the exercise's
part of the notebook and at its end, and the problems met. Nothing here
decides a grade: the grader compares the values with the answer key, outside the sandbox.

Each line is written as soon as it is known, so a notebook that kills its own process still keeps the
values read before. A cell that raises or runs past its limit is noted and the next cell runs, as nbgrader
does: the shell is interrupted the way a kernel is (an exception in the running code), so the cell stops.
A cell that will not stop (it catches the interruption, or holds the interpreter in C code) runs until
the grader's limit for the whole notebook, which the student cannot stretch, ends the sandbox.
"""

from __future__ import annotations

import json
import os
import signal
import sys


class CellTimeout(KeyboardInterrupt):
    "Raised in the running cell when its time is up, as a kernel's interrupt raises KeyboardInterrupt."


def on_alarm(signum, frame):
    raise CellTimeout()


def drop_privileges(uid: int | None) -> None:
    "Run as an unprivileged user of the grader's choosing: it caps the processes, and owns nothing outside."
    if uid is not None and os.getuid() == 0:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)


def problem(number: int, error: BaseException, timeout: float) -> str:
    if isinstance(error, CellTimeout):
        return f"cell {number} ran longer than {timeout:g} s and was stopped there; the cells after it still ran"
    first = next(iter(str(error).splitlines()), "")
    return f"cell {number} raised {type(error).__name__}: {first[:300]}"


def limited(timeout: float, work):
    "`work()` with the cell time limit; its result, or the exception that ended it."
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        return work()
    except BaseException as e:  # noqa: BLE001 - a student's exception of any kind is data here
        return e
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def values(shell, names: list[str], timeout: float) -> dict:
    "Each name's value in the student's namespace, as data; reading one is student code too, so it is limited."
    from lib.check import answer_of, to_wire

    found = {}
    for name in names:
        value = limited(timeout, lambda n=name: to_wire(answer_of(n, shell.user_ns)))
        found[name] = (
            value
            if isinstance(value, dict)
            else {"repr": f"<reading it raised {type(value).__name__}>", "type": "error"}
        )
    return found


def run(job: dict, say) -> None:
    from IPython.core.interactiveshell import InteractiveShell

    shell, timeout = InteractiveShell.instance(), job["timeout"]
    signal.signal(signal.SIGALRM, on_alarm)
    spans, last = job["spans"], {}  # spans: [exercise, first cell, cell after its last, names]
    for index, cell in enumerate(job["cells"]):
        result = limited(timeout, lambda c=cell: shell.run_cell(c["source"], store_history=False))
        error = result if isinstance(result, BaseException) else result.error_in_exec or result.error_before_exec
        if error is not None:
            say({"problem": problem(cell["number"], error, timeout)})
        for exercise, first, stop, names in spans:
            if first <= index < stop:  # the exercise's values as they stand after each of its cells, when they change
                found = values(shell, names, timeout)
                if found != last.get(exercise):
                    last[exercise] = found
                    say({"exercise": exercise, "when": "span", "values": found})
    for exercise, _, _, names in spans:
        say({"exercise": exercise, "when": "end", "values": values(shell, names, timeout)})
    say({"done": True})


def main() -> None:
    job = json.loads(sys.stdin.read())
    channel = os.fdopen(job["fd"], "w", buffering=1)
    drop_privileges(job.get("uid"))

    def say(message: dict) -> None:
        channel.write(json.dumps(message) + "\n")
        channel.flush()

    run(job, say)
    os._exit(0)  # a thread a student started must not keep the sandbox open


if __name__ == "__main__":
    main()
