"`python -m lib.blog build|serve`: the command line of the site builder."

from __future__ import annotations

import argparse
import functools
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from lib.blog.build import build
from lib.blog.config import load_config
from lib.blog.errors import BuildError

WATCHED = ("_notebooks", "_posts", "images", "_config.yml")


def run_build(args) -> bool:
    try:
        build(args.root, args.out, strict=args.strict, search=args.search, cache=args.cache)
        return True
    except BuildError as e:
        print(f"error: {e}", file=sys.stderr)
        return False


class SiteHandler(SimpleHTTPRequestHandler):
    "Serves the site under its baseurl, with the site's own 404 page."

    baseurl = ""

    def translate_path(self, path: str) -> str:
        if self.baseurl and path.startswith(self.baseurl):
            path = path[len(self.baseurl) :] or "/"
        return super().translate_path(path)

    def send_error(self, code, message=None, explain=None):
        page = Path(self.directory) / "404.html"
        if code != 404 or not page.exists():
            return super().send_error(code, message, explain)
        body = page.read_bytes()
        self.send_response(404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def serve(args) -> int:
    from watchfiles import watch  # only the server needs it

    run_build(args)
    out = (args.out or args.root / "_site").resolve()
    handler = type("Handler", (SiteHandler,), {"baseurl": load_config(args.root).baseurl.rstrip("/")})
    server = ThreadingHTTPServer((args.host, args.port), functools.partial(handler, directory=str(out)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"Serving {out} on http://{args.host}:{server.server_port}{handler.baseurl}/ (Ctrl-C to stop)")
    paths = [args.root / p for p in WATCHED if (args.root / p).exists()] + [Path(__file__).parent / "templates"]
    try:
        for changes in watch(*paths):
            print(f"changed: {', '.join(sorted({Path(p).name for _, p in changes}))}; rebuilding")
            run_build(args)
    except KeyboardInterrupt:
        server.shutdown()
    return 0


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
    for name, text in (("lint", "lint what notebooks publish"), ("check", "run notebooks afresh, compare outputs")):
        p = sub.add_parser(name, help=text)
        p.add_argument("paths", nargs="*", type=Path, help="notebooks (default: _notebooks/*.ipynb)")
        p.add_argument("--root", type=Path, default=Path("."))
        p.add_argument("--timeout", type=int, default=600, help="seconds each cell may take")
    sub.choices["serve"].add_argument("--host", default="127.0.0.1")
    sub.choices["serve"].add_argument("--port", type=int, default=4000)
    args = parser.parse_args(argv)
    if args.command in ("execute", "lint", "check", "handouts"):
        return {"execute": run_execute, "lint": run_lint, "check": run_check, "handouts": run_handouts}[args.command](
            args
        )
    args.cache = args.root / ".cache" / "blog" if args.use_cache else None
    if args.command == "serve":
        return serve(args)
    return 0 if run_build(args) else 1


def run_execute(args) -> int:
    from lib.blog.execute import execute, notebooks

    try:
        ran = execute(notebooks(args.root, args.paths), args.root, force=args.force, timeout=args.timeout)
    except BuildError as e:
        print(f"error: {e}\nNothing was written.", file=sys.stderr)
        return 1
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
    try:
        return report(check(paths, args.root, args.timeout), "gate (fresh outputs = published outputs)", paths)
    except BuildError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


def run_handouts(args) -> int:
    from lib.blog.execute import notebooks
    from lib.blog.handout import write_handouts

    written = write_handouts(args.root, notebooks(args.root))
    print(f"Wrote {len(written)} student notebook(s)")
    return 0
