"""Time in class: how long each section (each `#` heading) of each notebook post takes to run.

Each notebook runs top to bottom in a fresh process, as a student's kernel runs it: first with an empty
tensor cache, as a class first meets it, then again; each figure is the best of two such pairs.
`make class-times` (and `make bench`) write the figures to `_data/class_times.json`, which the teacher's
guide shows as `site.data.class_times`: its run times are a measurement, never a figure copied by hand.

`python -m lib.classtime NOTEBOOK` is the fresh process: it prints the seconds of each section as JSON.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import warnings
from datetime import date
from pathlib import Path

ROOT = Path(__file__).parents[1]
OUT = ROOT / "_data" / "class_times.json"
SETUP = "Setup"  # the code above the first heading: imports and data, hidden on the page


def sections(nb: dict) -> dict[str, list[dict]]:
    "The code cells of each `#` section, by heading, in order. The first cell is the front matter."
    found: dict[str, list[dict]] = {SETUP: []}
    heading = SETUP
    for cell in nb["cells"][1:]:
        text = "".join(cell["source"])
        if cell["cell_type"] == "markdown":
            for line in text.splitlines():
                if line.startswith("# "):
                    heading = line[2:].strip()
                    found.setdefault(heading, [])
        elif cell["cell_type"] == "code":
            found[heading].append(cell)
    return found


def run_sections(path: Path) -> dict[str, float]:
    "Run the notebook at `path` in this process, as `make execute` does: seconds per section."
    from execnb.shell import CaptureShell

    from lib.blog.execute import intended_error, source

    os.chdir(path.parent)
    warnings.filterwarnings("ignore", message=".*torch.jit.script.*")  # fastai 2.8 on torch 2.14, at import
    shell, times = CaptureShell(mpl_format="png"), {}
    for heading, cells in sections(json.loads(path.read_text(encoding="utf-8"))).items():
        start = time.perf_counter()
        for cell in cells:
            shell.run(source(cell))
            if shell.exc is not None and not intended_error(cell):
                raise SystemExit(f"{path.name}, section {heading!r}: {type(shell.exc).__name__}: {shell.exc}")
        times[heading] = round(time.perf_counter() - start, 1)
    return times


def measure(path: Path, env: dict[str, str]) -> dict[str, float]:
    "Seconds per section of one run of the notebook in a fresh process."
    done = subprocess.run([sys.executable, "-m", "lib.classtime", str(path)], env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit((done.stderr.strip() or f"{path.name}: exit status {done.returncode}").splitlines()[-1])
    return json.loads(done.stdout.splitlines()[-1])


def best(runs: list[dict[str, float]]) -> dict[str, float]:
    "Each section's least disturbed time: other work on the machine only ever adds to a run."
    return {heading: min(run[heading] for run in runs) for heading in runs[0]}


def notebook_times(path: Path, env: dict[str, str], repeat: int = 2) -> dict:
    "A notebook's first run (empty tensor cache) and second run, in total and by section; each the best of `repeat`."
    firsts, agains = [], []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as cache:
            firsts.append(measure(path, env | {"LIB_CACHE": cache}))
            agains.append(measure(path, env | {"LIB_CACHE": cache}))
    first, again = best(firsts), best(agains)
    return {
        "first_run": round(sum(first.values()), 1),
        "again": round(sum(again.values()), 1),
        "sections": {heading: {"first_run": first[heading], "again": again[heading]} for heading in first},
    }


def machine() -> str:
    "What the figures were measured on, as the guide names it."
    import torch

    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    gpu = torch.cuda.get_device_name() if torch.cuda.is_available() else "no GPU"
    return f"{os.cpu_count()} CPU cores, {memory:.0f} GB of memory, {gpu} ({platform.machine()})"


def notebook_posts() -> list[Path]:
    "The notebooks the site publishes: hidden files (a test's `.answered-` copy) and `_student/` are not posts."
    return sorted(p for p in (ROOT / "_notebooks").glob("*.ipynb") if not p.name.startswith((".", "_")))


def write_class_times(env: dict[str, str] | None = None, out: Path = OUT) -> dict:
    "Measure every notebook post and write `_data/class_times.json`. Notebooks are keyed by slug."
    from lib.blog.cache import write_atomic
    from lib.blog.execute import versions

    posts = notebook_posts()
    data = {
        "measured": f"{date.today():%Y-%m-%d}",
        "machine": machine(),
        "versions": versions(),
        "notebooks": {path.stem[11:]: notebook_times(path, env or dict(os.environ)) for path in posts},  # no date
    }
    write_atomic(out, (json.dumps(data, indent=2) + "\n").encode())
    return data


if __name__ == "__main__":
    print(json.dumps(run_sections(Path(sys.argv[1]).resolve())))
