"""`python -m lib.blog build|serve|execute|lint|check|handouts|class|teacher|grade`: the command line.

Every command reports a bad input the same way: one `error:` line naming the file (and the cell),
exit status 1, no traceback. That is done once, in `main`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lib.blog.build import build
from lib.blog.errors import BuildError


def run_build(args) -> int:
    build(args.root, args.out, strict=args.strict, search=args.search, cache=args.cache)
    return 0


def run_serve(args) -> int:
    from lib.blog.serve import serve  # http.server is slow to import, and a build never needs it

    return serve(args)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lib.blog", description="Build the blog from notebooks and markdown."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("build", "serve"):
        p = sub.add_parser(name, help=f"{name} the site")
        p.add_argument("--root", type=Path, default=Path("."), help="folder with _config.yml, _notebooks/, _posts/")
        p.add_argument("--out", type=Path, default=None, help="output folder (default: ROOT/_site)")
        p.add_argument("--strict", action="store_true", help="unknown front-matter keys and cell flags are errors")
        p.add_argument("--no-search", dest="search", action="store_false", help="skip the pagefind search index")
        p.add_argument("--no-cache", dest="use_cache", action="store_false", help="render every post again")
    p = sub.add_parser("execute", help="run notebooks whose cache key changed, and store their outputs")
    p.add_argument("paths", nargs="*", type=Path, help="notebooks (default: _notebooks/*.ipynb)")
    p.add_argument("--root", type=Path, default=Path("."))
    p.add_argument("--force", action="store_true", help="run even when the key matches")
    p.add_argument("--timeout", type=int, default=600, help="seconds each cell may take")
    p = sub.add_parser("handouts", help="write the student notebook of each post with exercises")
    p.add_argument("--root", type=Path, default=Path("."))
    p = sub.add_parser("class", help="copy the student notebooks (never the keys) into the class lab's folder")
    p.add_argument("--root", type=Path, default=Path("."))
    p.add_argument("--out", type=Path, default=Path("_class"))
    p.add_argument("--no-sandbox", action="store_true", help="kernels unconfined, with the teacher's rights")
    p = sub.add_parser("classroom", help="write an assignment's template repository for GitHub Classroom")
    p.add_argument("--root", type=Path, default=Path("."))
    p.add_argument("--key", type=Path, help="the answer key (default: the one post with exercises)")
    p.add_argument("--out", type=Path, default=Path("_classroom"))
    p = sub.add_parser("classroom-grade", help="in a Classroom runner: grade the notebook, write the results")
    p.add_argument("notebook", type=Path)
    p.add_argument("--out", type=Path, default=Path("grading-results.json"))
    p = sub.add_parser("classroom-check", help="in a Classroom runner: one check's result, exit 0 when it passed")
    p.add_argument("results", type=Path)
    p.add_argument("check")
    p = sub.add_parser("teacher", help="write the teacher's folder: answer keys, the site with answers")
    p.add_argument("--root", type=Path, default=Path("."))
    p.add_argument("--out", type=Path, default=Path("_teacher"))
    p = sub.add_parser("grade", help="run submitted student notebooks; write a gradebook and feedback")
    p.add_argument("submissions", type=Path, help="folder of submitted .ipynb files (searched recursively)")
    p.add_argument("--root", type=Path, default=Path("."))
    p.add_argument("--key", type=Path, help="the answer key (default: the one post with exercises)")
    p.add_argument("--out", type=Path, default=Path("_grades"))
    p.add_argument("--timeout", type=float, default=60, help="seconds each cell may take")
    p.add_argument("--total", type=float, help="seconds a whole notebook may take (default: from the key)")
    p.add_argument("--jobs", type=int, default=0, help="submissions at a time (default: one per core)")
    p.add_argument("--no-sandbox", action="store_true", help="run the notebooks unconfined: only ones you trust")
    for name, text in (("lint", "lint what notebooks publish"), ("check", "run notebooks afresh, compare outputs")):
        p = sub.add_parser(name, help=text)
        p.add_argument("paths", nargs="*", type=Path, help="notebooks (default: _notebooks/*.ipynb)")
        p.add_argument("--root", type=Path, default=Path("."))
        p.add_argument("--timeout", type=int, default=600, help="seconds each cell may take")
    sub.choices["serve"].add_argument("--host", default="127.0.0.1")
    sub.choices["serve"].add_argument("--port", type=int, default=4000)
    sub.choices["serve"].add_argument(
        "--no-build", action="store_true", help="serve --out as it is (the teacher's site)"
    )
    args = parser.parse_args(argv)
    if args.command in ("build", "serve"):
        args.cache = args.root / ".cache" / "blog" if args.use_cache else None
    commands = {"build": run_build, "serve": run_serve, "execute": run_execute, "lint": run_lint}
    commands |= {"check": run_check, "handouts": run_handouts, "teacher": run_teacher, "grade": run_grade}
    commands |= {"class": run_class, "classroom": run_classroom}
    commands |= {"classroom-grade": run_classroom_grade, "classroom-check": run_classroom_check}
    try:
        return commands[args.command](args)
    except BuildError as e:
        nothing = "\nNothing was written." if args.command == "execute" else ""
        print(f"error: {e}{nothing}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def run_execute(args) -> int:
    from lib.blog.execute import execute, notebooks

    ran = execute(notebooks(args.root, args.paths), args.root, force=args.force, timeout=args.timeout)
    print(f"Executed {len(ran)} notebook(s)")
    return 0


def report(findings: list, what: str, paths: list) -> int:
    for finding in findings:
        print(f"{finding}", file=sys.stderr)
    print(f"{what}: {len(paths)} notebook(s), {len(findings)} finding(s)")
    return 1 if findings else 0


def run_lint(args) -> int:
    from lib.blog.execute import notebooks
    from lib.blog.lint import lint

    paths = notebooks(args.root, args.paths)
    return report([f for p in paths for f in lint(p)], "lint", paths)


def run_check(args) -> int:
    from lib.blog.execute import notebooks
    from lib.blog.gate import check

    paths = notebooks(args.root, args.paths)
    return report(check(paths, args.root, args.timeout), "gate (fresh outputs = published outputs)", paths)


def run_handouts(args) -> int:
    from lib.blog.execute import notebooks
    from lib.blog.handout import write_handouts

    written = write_handouts(args.root, notebooks(args.root))
    print(f"Wrote {len(written)} student notebook(s)")
    return 0


def run_class(args) -> int:
    from lib.blog.class_kernel import install
    from lib.blog.handout import class_folder
    from lib.blog.sandbox import check_bwrap

    if not args.no_sandbox:
        check_bwrap()
        install(args.root)
    class_folder(args.root, args.out, kernel=None if args.no_sandbox else "blog-class")
    return 0


def run_teacher(args) -> int:
    from lib.blog.grade import teacher_folder

    teacher_folder(args.root, args.out)
    return 0


def the_key(args) -> Path:
    "The answer key the command names, or the blog's one post with exercises."
    from lib.blog.execute import notebooks
    from lib.blog.handout import has_exercises
    from lib.blog.nbfile import load

    keys = [args.key] if args.key else [p for p in notebooks(args.root) if has_exercises(load(p)[1])]
    if len(keys) != 1:
        found = ", ".join(str(k) for k in keys) or "none"
        raise BuildError(args.root / "_notebooks", f"name the answer key with --key (posts with exercises: {found})")
    return keys[0]


def run_classroom(args) -> int:
    from lib.blog.classroom import template

    key = the_key(args)
    template(args.root, key, args.out / key.stem)
    return 0


def run_classroom_grade(args) -> int:
    from lib.blog.classroom import classroom_grade

    report = classroom_grade(args.notebook, args.out)
    print(f"Graded {args.notebook}: {sum(c['points'] for c in report['checks'].values())}/{len(report['checks'])}")
    return 0


def run_classroom_check(args) -> int:
    from lib.blog.classroom import classroom_check

    return classroom_check(args.results, args.check)


def run_grade(args) -> int:
    from lib.blog.grade import Settings, grade

    settings = Settings(timeout=args.timeout, jobs=args.jobs, sandboxed=not args.no_sandbox, whole=args.total)
    grade(args.submissions, the_key(args), args.out, settings, progress=True)
    return 0
