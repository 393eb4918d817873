"""`make bench`: speed figures measured side by side in one run, printed as ratios.

1. Loading the MNIST sample (14,434 PNGs): the post's first way against `load_tensors`,
   first load (no cache) and repeated load (cache).
2. The post's own comparison: pure Python, a loop over images, broadcasting (`lib.speed`).
3. Building the site: `jupyter nbconvert --to html` against `python -m lib.blog build`,
   cold, warm, after editing one markdown post, and for 50 generated posts.
4. Executing notebooks: `make execute` cold and warm against `jupyter nbconvert --execute`,
   and the gate's cost next to `nbdev-test`.
5. Time in class: each section of each notebook in a fresh process, cold and warm, written to
   `_data/class_times.json` for the teacher's guide (`python -m lib.bench class` runs this one alone).
6. A real fastpages blog (../shared/fastpages-corpus, when present): cold and warm builds against
   nbconvert rendering its notebooks.
7. A big site: 1,000 markdown posts and 100 notebooks, cold, warm, one post edited, peak memory; the
   markdown posts alone against Jekyll (when installed).
8. Markdown at Hugo's speed: the same 1,000 distinct markdown posts built cold by this builder (no search
   index), Hugo and Jekyll, each with one-line layouts of its own, in turn, 3 rounds, medians and ratios
   (`python -m lib.bench markdown`).
9. Grading a class: submissions of the broadcasting post graded per minute, each in its bubblewrap
   sandbox against unconfined (`--no-sandbox`), rounds taken in turn (`python -m lib.bench grading`).

Each figure is the best of a few runs (the least disturbed one). Nothing here asserts a
speed; the numbers are for reading.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).parents[1]


def best(f: Callable[[], object], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return min(times)


# Commands run as on a user's machine: Python caches its bytecode. Containers often switch that off
# (PYTHONDONTWRITEBYTECODE), which would time compiling the builder's own modules on every run.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def run(*cmd: str, cwd: Path = ROOT) -> None:
    "Run a command; jupyter, nbdev-test and friends come from this environment's bin folder."
    tool = Path(sys.executable).parent / cmd[0]
    command = [str(tool) if tool.exists() else cmd[0], *cmd[1:]]
    subprocess.run(command, cwd=cwd, env=ENV, check=True, capture_output=True)


def row(name: str, seconds: float, reference: float, goal: str = "") -> None:
    print(f"  {name:<46} {seconds * 1000:9.1f} ms  {reference / seconds:7.1f}x  {goal}")


def bench_loading() -> None:
    import numpy as np  # noqa: F401  (imported before timing starts)
    import torch
    from fastai.torch_core import tensor
    from PIL import Image

    from lib.digits import load_tensors, mnist_sample

    path = mnist_sample()
    folders = [path / s / d for s in ("train", "valid") for d in ("3", "7")]

    def seed_way():
        return [torch.stack([tensor(Image.open(o)) for o in f.ls().sorted()]).float() / 255 for f in folders]

    cache = Path(tempfile.mkdtemp())
    os.environ["LIB_CACHE"] = str(cache)

    def first_load():
        shutil.rmtree(cache, ignore_errors=True)
        return [load_tensors(f) for f in folders]

    same = all(torch.equal(a, b) for a, b in zip(seed_way(), first_load(), strict=True))
    n = sum(len(os.listdir(f)) for f in folders)
    seed = best(seed_way)
    print(f"\nLoading {n:,} PNGs of the MNIST sample into 4 tensors (identical to the post's way: {same})")
    print(f"  {'':<46} {'time':>12}  {'speed-up':>8}")
    row("post's way: tensor(Image.open(o)), torch.stack", seed, seed)
    row("load_tensors, first load (no cache)", best(first_load), seed, "goal >= 2x")
    row("load_tensors, repeated load (cache)", best(lambda: [load_tensors(f) for f in folders], 5), seed, "goal >= 20x")
    shutil.rmtree(cache, ignore_errors=True)


def bench_broadcasting() -> None:
    from lib.speed import machine, main

    print(f"\nThe post's speed comparison ({machine()})")
    main([])


def blog(root: Path, out: Path, *extra: str) -> None:
    run(sys.executable, "-m", "lib.blog", "build", "--root", str(root), "--out", str(out), *extra)


def cold_blog(root: Path, out: Path, *extra: str) -> None:
    "A cold build: no render cache, and no site to update in place (nor its search index to reuse)."
    shutil.rmtree(root / ".cache", ignore_errors=True)
    shutil.rmtree(out, ignore_errors=True)
    blog(root, out, *extra)


def generated_site(folder: Path, n: int) -> Path:
    "A site of `n` posts: the real notebooks and markdown posts, copied under new dates."
    sources = sorted((ROOT / "_notebooks").glob("*.ipynb")) + sorted((ROOT / "_posts").glob("*.md"))
    for sub in ("_notebooks", "_posts"):
        (folder / sub).mkdir(parents=True)
    shutil.copy(ROOT / "_config.yml", folder)
    if (ROOT / "images").exists():
        shutil.copytree(ROOT / "images", folder / "images")
    for i in range(n):
        src = sources[i % len(sources)]
        name = f"2020-{1 + i // 28:02d}-{1 + i % 28:02d}-{src.stem[11:]}-{i}{src.suffix}"
        shutil.copy(src, folder / src.parent.name / name)
    return folder


def bench_site() -> None:
    notebooks = sorted((ROOT / "_notebooks").glob("*.ipynb"))
    posts = sorted((ROOT / "_posts").glob("*.md"))
    tmp = Path(tempfile.mkdtemp())
    try:
        nbconvert = best(lambda: [run("jupyter", "nbconvert", "--to", "html", "--output-dir", str(tmp / "nbc"), str(nb))
                                  for nb in notebooks], 2)  # fmt: skip
        site = generated_site(tmp / "real", 0)
        shutil.rmtree(site)
        shutil.copytree(ROOT, site, ignore=shutil.ignore_patterns(".venv", "_site*", ".cache", ".git", "tests"))

        def cold():
            cold_blog(site, tmp / "out")

        print(f"\nBuilding the site ({len(notebooks)} notebook(s), {len(posts)} markdown post(s)); "
              f"reference: `jupyter nbconvert --to html` on the notebooks")  # fmt: skip
        print(f"  {'':<46} {'time':>12}  {'vs nbconvert':>8}")
        row("jupyter nbconvert --to html (sum over notebooks)", nbconvert, nbconvert)
        row("cold build (empty cache, new process)", best(cold, 2), nbconvert)
        blog(site, tmp / "out")
        row("warm rebuild, nothing changed", best(lambda: blog(site, tmp / "out")), nbconvert, "goal <= 1 s")
        edited = site / "_posts" / posts[0].name if posts else None

        def edit_one():
            edited.write_text(edited.read_text() + "\nOne more line.\n")
            blog(site, tmp / "out")

        if edited:
            row("rebuild after editing one markdown post", best(edit_one), nbconvert, "goal <= 1 s")
        big = generated_site(tmp / "fifty", 50)
        blog(big, tmp / "out50")  # fills the cache
        warm50 = best(lambda: blog(big, tmp / "out50"))
        cold50 = best(lambda: cold_blog(big, tmp / "out50"), 1)
        row("50 posts, cold", cold50, nbconvert)
        row("50 posts, warm", warm50, nbconvert)
        print(f"  50 posts: {warm50 / 50 * 1000:.1f} ms per unchanged post (goal <= 200 ms), "
              f"{cold50 / 50 * 1000:.0f} ms per post cold")  # fmt: skip
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def bench_execute() -> None:
    "Executing the posts: `make execute` against `jupyter nbconvert --execute`, and the gate against nbdev-test."
    notebooks = sorted((ROOT / "_notebooks").glob("*.ipynb"))
    tmp = Path(tempfile.mkdtemp())
    try:
        copies = tmp / "_notebooks"
        shutil.copytree(ROOT / "_notebooks", copies)

        def execute_cold():
            run(sys.executable, "-m", "lib.blog", "execute", "--force", *map(str, copies.glob("*.ipynb")))

        nbconvert = best(lambda: [run("jupyter", "nbconvert", "--execute", "--to", "html", "--output-dir",
                                      str(tmp / "html"), str(nb)) for nb in notebooks], 1)  # fmt: skip
        cold = best(execute_cold, 1)
        warm = best(lambda: run(sys.executable, "-m", "lib.blog", "execute", *map(str, copies.glob("*.ipynb"))))
        nbdev = best(lambda: run("nbdev-test", str(copies)), 1)
        gate = best(lambda: run(sys.executable, "-m", "lib.blog", "check", *map(str, copies.glob("*.ipynb"))), 1)
        print(f"\nExecuting {len(notebooks)} notebook(s); reference: `jupyter nbconvert --execute --to html`")
        print(f"  {'':<46} {'time':>12}  {'ratio':>8}")
        row("jupyter nbconvert --execute (sum over notebooks)", nbconvert, nbconvert)
        row("make execute, cold (every notebook runs)", cold, nbconvert, f"{cold / nbconvert:.2f} of it; goal <= 0.5")
        row("make execute, warm (nothing changed)", warm, nbconvert, "goal <= 1 s")
        row("nbdev-test", nbdev, nbdev)
        row("the gate (lib.blog check)", gate, nbdev, f"cost on top of nbdev-test: {gate:.1f} s")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def bench_class() -> None:
    """Each notebook top to bottom as a class runs it, section by section, in a fresh process: first with an empty
    tensor cache, then again. Written to `_data/class_times.json`, which the teacher's guide shows."""
    from lib.classtime import OUT, write_class_times

    print("\nTime in class: each notebook top to bottom (goal: under 60 s, first run included)")
    data = write_class_times(ENV)
    for slug, times in data["notebooks"].items():
        verdict = "ok" if times["first_run"] < 60 else "OVER 60 s"
        print(f"  {slug:<46} first run {times['first_run']:5.1f} s, again {times['again']:5.1f} s   {verdict}")
    print(f"  each section's times: {OUT.relative_to(ROOT)}")


def bench_fastpages() -> None:
    "A real fastpages blog of 31 posts, built unchanged, against nbconvert rendering its notebooks alone."
    corpus = ROOT.parent / "shared" / "fastpages-corpus" / "greglandrum" / "site"
    if not corpus.is_dir():
        print("\nThe fastpages blog: skipped, ../shared/fastpages-corpus is not beside this clone")
        return
    tmp = Path(tempfile.mkdtemp())
    try:
        site = tmp / "site"
        shutil.copytree(corpus, site)
        notebooks = sorted(str(p) for p in (site / "_notebooks").glob("*.ipynb"))
        nbconvert = best(lambda: run("jupyter", "nbconvert", "--to", "html", "--output-dir", str(tmp / "nbc"),
                                     *notebooks), 2)  # fmt: skip
        cold = best(lambda: cold_blog(site, tmp / "out"), 2)
        warm = best(lambda: blog(site, tmp / "out"))
        print(f"\nA fastpages blog ({len(notebooks)} notebooks, 31 posts) built unchanged; "
              "reference: `jupyter nbconvert --to html` on its notebooks, one process")  # fmt: skip
        print(f"  {'':<46} {'time':>12}  {'speed-up':>8}")
        row("jupyter nbconvert --to html", nbconvert, nbconvert)
        row("cold build (empty cache, new process)", cold, nbconvert, f"{cold / nbconvert:.2f} of it (goal <= 0.5)")
        row("warm rebuild, nothing changed", warm, nbconvert, "goal <= 1 s")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def scale_site(folder: Path, markdown: int, notebooks: int) -> Path:
    "A big site: `markdown` generated posts (prose, a heading, code) and `notebooks` copies of the first post."
    import random

    (folder / "_posts").mkdir(parents=True)
    (folder / "_notebooks").mkdir()
    shutil.copy(ROOT / "_config.yml", folder)
    shutil.copytree(ROOT / "images", folder / "images")
    for i in range(notebooks):
        name = f"2019-{1 + i // 28 % 12:02d}-{1 + i % 28:02d}-broadcasting-{i}.ipynb"
        shutil.copy(ROOT / "_notebooks" / "2021-08-20-pytorch-broadcasting.ipynb", folder / "_notebooks" / name)
    rng, words = random.Random(0), "tensor broadcast shape axis mean digit pixel batch model train loss".split()
    for i in range(markdown):
        prose = "\n\n".join(" ".join(rng.choice(words) for _ in range(60)) for _ in range(6))
        text = f"---\ntitle: Note {i}\ncategories: [c{i % 7}]\n---\n## Part one\n\n{prose}\n\n```python\nx = {i}\n```\n"
        (folder / "_posts" / f"2020-{1 + i // 28 % 12:02d}-{1 + i % 28:02d}-note-{i}.md").write_text(text)
    return folder


def peak_memory(*cmd: str) -> tuple[float, int]:
    "(seconds, peak resident memory in bytes of the command and its children), measured by GNU time."
    out = Path(tempfile.mkstemp()[1])
    start = time.perf_counter()
    subprocess.run(
        ["/usr/bin/time", "-o", str(out), "-f", "%M", *cmd], cwd=ROOT, env=ENV, check=True, capture_output=True
    )
    took, kb = time.perf_counter() - start, int(out.read_text().split()[-1])
    out.unlink()
    return took, kb * 1024


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def served_after_edit(site: Path, edits: int = 5) -> tuple[float, float]:
    """`make serve` on `site`: seconds from writing an edit to a markdown post until the server returns its new
    page, and until the site's search index finds the edit (the best of `edits` edits, each a new line)."""
    import urllib.request

    from lib.blog.audit import search_records
    from lib.blog.config import load_config

    port, post = free_port(), sorted((site / "_posts").glob("*.md"))[-1]
    cmd = [sys.executable, "-m", "lib.blog", "serve", "--root", str(site), "--port", str(port)]
    log = site / "serve.log"
    server = subprocess.Popen(cmd, cwd=ROOT, env=ENV, stdout=log.open("w"), stderr=subprocess.STDOUT)
    index, url = site / "_site" / "pagefind", ""

    def found(marker: str, stamp: str) -> bool:
        "Whether the index finds `marker`: in the delta of the pages changed since the full index, or a new full one."
        try:
            if any(marker in text for text in search_records(site / "_site", index / "delta").values()):
                return True
            return stamp != (index / "pages.sha256").read_text() and marker in search_records(site / "_site")[path]
        except (OSError, ValueError, KeyError):  # an index being swapped in
            return False

    def page() -> str:
        try:
            return urllib.request.urlopen(url, timeout=5).read().decode()
        except OSError:
            return ""

    def until(done: Callable[[], bool], limit: float = 120) -> float:
        start = time.perf_counter()
        while not done():
            if time.perf_counter() - start > limit:
                raise TimeoutError("make serve did not catch up with an edit")
            time.sleep(0.01)
        return time.perf_counter() - start

    try:
        until(lambda: "Serving" in log.read_text())
        rel = next((site / "_site").rglob(f"{post.stem[11:]}.html")).relative_to(site / "_site").as_posix()
        url = f"http://127.0.0.1:{port}{load_config(site).baseurl.rstrip('/')}/{rel}"
        until(page)
        path, shown, indexed = "/" + rel, [], []
        for _ in range(edits):
            time.sleep(6)  # let the previous edit's full search index land first
            marker, stamp = f"edit{time.time_ns()}", (index / "pages.sha256").read_text()
            start = time.perf_counter()
            post.write_text(post.read_text() + f"\n{marker} of the bench\n")
            until(lambda marker=marker: marker in page())
            shown.append(time.perf_counter() - start)
            until(lambda marker=marker, stamp=stamp: found(marker, stamp))
            indexed.append(time.perf_counter() - start)
        return min(shown), min(indexed)
    finally:
        server.terminate()
        server.wait()


def bench_scale() -> None:
    "1,000 markdown posts and 100 notebook posts; the markdown posts alone side by side with Jekyll."
    tmp = Path(tempfile.mkdtemp())
    try:
        site = scale_site(tmp / "big", 1000, 100)
        cold, memory = peak_memory(sys.executable, "-m", "lib.blog", "build", "--root", str(site))
        warm = best(lambda: blog(site, site / "_site"))
        post = next((site / "_posts").glob("*.md"))
        edit = best(lambda: (post.write_text(post.read_text() + "\nOne more line.\n"), blog(site, site / "_site")))
        shown, indexed = served_after_edit(site)
        markdown = scale_site(tmp / "md", 1000, 0)
        ours = best(lambda: cold_blog(markdown, tmp / "o"), 2)
        bare = best(lambda: cold_blog(markdown, tmp / "o", "--no-search"), 2)
        print("\nA big site: 1,000 markdown posts and 100 notebook posts (copies of the first post)")
        print(f"  {'':<46} {'time':>12}  {'':>8}")
        row("cold build, 1,100 posts", cold, cold, f"goal <= 12 s; peak memory {memory / 2**20:.0f} MB (goal <= 500)")
        row("warm rebuild, nothing changed", warm, cold, "goal <= 1 s")
        row("rebuild after editing one markdown post", edit, cold, "with a new search index")
        row("make serve: an edit until its page is served", shown, cold, "goal <= 1 s")
        row("make serve: an edit until search finds it", indexed, cold, "goal <= 1 s")
        jekyll = shutil.which("jekyll")
        if not jekyll:
            print("  Jekyll: skipped, not installed (apt-get install jekyll)")
            return
        (markdown / "_config.yml").unlink()  # Jekyll's defaults: its own URLs, no theme
        theirs = best(lambda: run(jekyll, "build", "-q", "-s", str(markdown), "-d", str(tmp / "j")), 2)
        row("Jekyll 4, the 1,000 markdown posts", theirs, theirs)
        row("this builder, the same posts, cold", ours, theirs, f"{ours / theirs:.2f} of Jekyll's time (goal <= 0.4)")
        row("the same without the search index", bare, theirs, f"{bare / theirs:.2f} of Jekyll's time, no index either")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def hugo_site(folder: Path, posts: Path) -> Path:
    "The posts as a Hugo site: one-line layouts, no taxonomies, feeds or sitemap."
    (folder / "content" / "posts").mkdir(parents=True)
    (folder / "layouts" / "_default").mkdir(parents=True)
    (folder / "hugo.toml").write_text(
        'baseURL = "http://127.0.0.1/"\ntitle = "T"\ndisableKinds = ["taxonomy", "term", "RSS", "sitemap"]\n'
    )
    (folder / "layouts" / "_default" / "single.html").write_text("<html><body>{{ .Content }}</body></html>\n")
    (folder / "layouts" / "_default" / "list.html").write_text(
        '<html><body>{{ range .Pages }}<a href="{{ .RelPermalink }}">{{ .Title }}</a>{{ end }}</body></html>\n'
    )
    for post in posts.glob("*.md"):
        shutil.copy(post, folder / "content" / "posts" / post.name)
    return folder


def jekyll_site(folder: Path, posts: Path) -> Path:
    "The posts as a Jekyll site with one-line layouts."
    (folder / "_layouts").mkdir(parents=True)
    (folder / "_layouts" / "default.html").write_text("<html><body>{{ content }}</body></html>\n")
    (folder / "_layouts" / "post.html").write_text("<html><body>{{ content }}</body></html>\n")
    (folder / "_config.yml").write_text("defaults:\n  - scope: {path: ''}\n    values: {layout: default}\n")
    shutil.copytree(posts, folder / "_posts")
    return folder


def bench_markdown(rounds: int = 3) -> None:
    import statistics

    tmp = Path(tempfile.mkdtemp())
    try:
        ours = scale_site(tmp / "ours", 1000, 0)
        builders = {"this builder (no search index)": lambda: cold_blog(ours, tmp / "o", "--no-search")}
        if hugo := shutil.which("hugo"):
            site = hugo_site(tmp / "hugo", ours / "_posts")
            builders["Hugo"] = lambda: (
                shutil.rmtree(site / "public", ignore_errors=True),
                run(hugo, "--quiet", "-s", str(site)),
            )
        if jekyll := shutil.which("jekyll"):
            site_j = jekyll_site(tmp / "jekyll", ours / "_posts")
            builders["Jekyll"] = lambda: run(jekyll, "build", "-q", "-s", str(site_j), "-d", str(tmp / "j"))
        times: dict[str, list[float]] = {name: [] for name in builders}
        for _ in range(rounds):
            for name, make in builders.items():  # in turn, so that a slow spell of the machine hits each
                times[name].append(best(make, 1))
        median = {name: statistics.median(t) for name, t in times.items()}
        print(f"\nMarkdown at Hugo's speed: 1,000 distinct markdown posts, cold, one-line layouts, median of {rounds}")
        print(f"  {'':<46} {'time':>12}  {'ours/it':>8}")
        ref = median["this builder (no search index)"]
        for name, seconds in median.items():
            print(
                f"  {name:<46} {seconds * 1000:9.1f} ms  {ref / seconds:7.2f}x"
                + ("  (goal: <= 1.00x of Hugo)" if name == "Hugo" else "")
            )
        for tool in ("hugo", "jekyll"):
            if not shutil.which(tool):
                print(f"  {tool}: skipped, not installed (apt-get install {tool})")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def bench_grading(students: int = 8, rounds: int = 2) -> None:
    from lib.blog.grade import Settings, grade
    from lib.blog.handout import student_path

    if shutil.which("bwrap") is None:
        print("\nGrading: skipped, bubblewrap (bwrap) is not installed")
        return
    key = ROOT / "_notebooks" / "2021-08-20-pytorch-broadcasting.ipynb"
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "in"
        folder.mkdir()
        for n in range(students):
            shutil.copy(student_path(ROOT, key), folder / f"student{n:02}.ipynb")
        times: dict[bool, list[float]] = {True: [], False: []}
        for _ in range(rounds):
            for sandboxed in (True, False):  # in turn, so that a slow spell of the machine hits both
                start = time.perf_counter()
                grade(folder, key, Path(tmp) / "out", Settings(sandboxed=sandboxed), log=lambda _: None)
                times[sandboxed].append(time.perf_counter() - start)
    per_minute = {mode: students * 60 / min(t) for mode, t in times.items()}
    print(f"\nGrading {students} submissions of the broadcasting post, {os.cpu_count()} at a time (best of {rounds})")
    print(f"  unconfined (--no-sandbox)  {per_minute[False]:6.1f} submissions/min")
    print(f"  sandboxed (bwrap)          {per_minute[True]:6.1f} submissions/min", end="")
    print(f"  cost of the sandbox: {(1 - per_minute[True] / per_minute[False]) * 100:+.1f}% (goal: at most 10%)")


BENCHES = {
    "loading": bench_loading,
    "broadcasting": bench_broadcasting,
    "site": bench_site,
    "fastpages": bench_fastpages,
    "scale": bench_scale,
    "execute": bench_execute,
    "class": bench_class,
    "markdown": bench_markdown,
    "grading": bench_grading,
}


def main(names: list[str]) -> None:
    "`python -m lib.bench [NAME ...]`: the named benches (see BENCHES), or all of them."
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPU(s)")
    if unknown := set(names) - set(BENCHES):
        raise SystemExit(f"unknown bench(es) {', '.join(sorted(unknown))}; known: {', '.join(BENCHES)}")
    for name in names or BENCHES:
        BENCHES[name]()


if __name__ == "__main__":
    main(sys.argv[1:])
