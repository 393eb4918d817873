"Jobs for worker processes: a module of its own, which a fresh interpreter imports cheaply."

import time
from pathlib import Path

from lib.blog.errors import BuildError


def big_result_or_big_error(name: str) -> bytes:
    "40 MB of result, or for `fail` an error of 20 MB: each takes a while to send back."
    time.sleep(0.3)  # both workers started
    if name == "fail":
        raise BuildError(Path(name), "too much" + "!" * 20 * 2**20)
    return b"x" * 40 * 2**20
