"""Publishing: the GitHub Pages workflow passes actionlint, `url` and `baseurl` follow fastpages' GitHub Pages
addresses, and every link of the real site resolves when it is served under a baseurl, as Pages serves a
project site, and at the root."""

import csv
import functools
import io
import re
import shutil
import subprocess
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from lib.blog.build import build
from lib.blog.config import load_config

ROOT = Path(__file__).parents[1]
BIN = Path(sys.executable).parent  # actionlint and linkchecker come from requirements.txt, beside pytest


def tool(name: str) -> str:
    return str(BIN / name) if (BIN / name).exists() else shutil.which(name) or pytest.fail(f"{name} is missing")


# The workflow


def test_the_workflows_pass_actionlint():
    workflows = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
    assert workflows
    run = subprocess.run([tool("actionlint"), *workflows], cwd=ROOT, capture_output=True, text=True)
    assert (run.returncode, run.stdout + run.stderr) == (0, "")


# url and baseurl


def config(tmp_path: Path, text: str):
    (tmp_path / "_config.yml").write_text(text)
    return load_config(tmp_path)


def test_a_github_repo_is_published_under_its_name(tmp_path):
    site = config(tmp_path, "github_username: someone\ngithub_repo: blog\n")
    assert (site.url, site.baseurl) == ("https://someone.github.io", "/blog")


def test_the_user_github_io_repo_is_published_at_the_root(tmp_path):
    site = config(tmp_path, "github_username: Someone\ngithub_repo: someone.github.io\n")
    assert (site.url, site.baseurl) == ("https://someone.github.io", "")


def test_without_a_github_repo_the_site_is_local(tmp_path):
    site = config(tmp_path, "github_username: someone\n")
    assert (site.url, site.baseurl) == ("http://127.0.0.1:4000", "")


def test_a_set_url_and_baseurl_win(tmp_path):
    site = config(tmp_path, "github_username: someone\ngithub_repo: blog\nurl: https://example.org\nbaseurl: /b\n")
    assert (site.url, site.baseurl) == ("https://example.org", "/b")


def test_a_set_empty_baseurl_wins(tmp_path):
    site = config(tmp_path, 'github_username: someone\ngithub_repo: blog\nbaseurl: ""\n')
    assert (site.url, site.baseurl) == ("https://someone.github.io", "")


def test_a_custom_domain_keeps_the_root(tmp_path):
    site = config(tmp_path, "github_username: someone\ngithub_repo: blog\nurl: https://blog.example.org\n")
    assert (site.url, site.baseurl) == ("https://blog.example.org", "")


def test_this_blog_sets_the_address_pages_gives_it(tmp_path):
    data = yaml.safe_load((ROOT / "_config.yml").read_text())
    derived = config(tmp_path, yaml.safe_dump({k: v for k, v in data.items() if k not in ("url", "baseurl")}))
    assert (derived.url, derived.baseurl) == (data["url"], data["baseurl"])
    assert derived.full_url == "https://notebook-blog.github.io/notebook-blog"


# The whole site under a baseurl


class Mounted(SimpleHTTPRequestHandler):
    "The site's files at `prefix`, as Pages serves a project site at /<repo>/; anything else is not found."

    prefix = ""

    def translate_path(self, path):
        if path != self.prefix and not path.startswith(self.prefix + "/"):
            return str(Path(self.directory) / "outside-the-baseurl")
        return super().translate_path(path[len(self.prefix) :] or "/")

    def log_message(self, *args):
        pass


class Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # linkchecker hangs up once it has read what it needs: not an error


@pytest.fixture(scope="module", params=["/blog", ""], ids=["under-blog", "at-root"])
def served(request, tmp_path_factory):
    """(origin, baseurl, site folder) of the repository's own posts, built with search, slides and
    notebook downloads, and served at the baseurl."""
    root = tmp_path_factory.mktemp("blog")
    out = root / "_site"
    out.mkdir()
    handler = type("Handler", (Mounted,), {"prefix": request.param})
    server = Server(("127.0.0.1", 0), functools.partial(handler, directory=str(out)))
    origin = f"http://127.0.0.1:{server.server_port}"
    copy_blog(root, url=origin, baseurl=request.param)
    build(root, out, search=True, log=lambda _: None)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield origin, request.param, out
    server.shutdown()


def copy_blog(root: Path, url: str, baseurl: str) -> None:
    "The repository's posts and images, with its config pointed at the local server."
    for pattern in ("_notebooks/*.ipynb", "_posts/*.md", "_posts/*.bib", "images/*"):
        for path in ROOT.glob(pattern):
            (root / path.parent.relative_to(ROOT)).mkdir(exist_ok=True)
            shutil.copy2(path, root / path.relative_to(ROOT))
    data = yaml.safe_load((ROOT / "_config.yml").read_text()) | {"url": url, "baseurl": baseurl}
    (root / "_config.yml").write_text(yaml.safe_dump(data))


def crawl(origin: str, baseurl: str) -> list[dict]:
    "linkchecker's row for each link, from the home page, the 404 page and every page the sitemap lists."
    start = [f"{origin}{baseurl}/{page}" for page in ("", "404.html", "sitemap.xml")]
    # Links outside the baseurl are "extern" to linkchecker and must be checked too; only the local
    # server is ever fetched: any other address is checked for its syntax alone.
    local_only = ["--check-extern", "--ignore-url", rf"^(?!{re.escape(origin)}/)"]
    command = [tool("linkchecker"), "--no-status", "--no-warnings", "--no-robots", "--verbose", "-o", "csv"]
    run = subprocess.run([*command, *local_only, *start], capture_output=True, text=True, timeout=300)
    assert run.returncode in (0, 1), run.stderr  # 1: broken links found; 2: linkchecker itself failed
    lines = [line for line in run.stdout.splitlines(True) if not line.startswith("#")]
    return list(csv.DictReader(io.StringIO("".join(lines)), delimiter=";"))


def test_every_link_and_asset_of_the_site_resolves(served):
    origin, baseurl, out = served
    rows = crawl(origin, baseurl)
    fetched = {row["url"] for row in rows if row["result"].startswith("200")}
    # A folder's index.html is fetched as the folder: /blog/ for /blog/index.html.
    html = [p.relative_to(out).as_posix().removesuffix("index.html") for p in out.rglob("*.html")]
    pages = {f"{origin}{baseurl}/{page}" for page in html if not page.startswith("pagefind/")}
    assert pages - fetched == set()  # the crawl reached every page
    # linkchecker names the first page where it met each link; other pages may have it too.
    broken = [f"{row['parentname']} -> {row['url']}: {row['result']}" for row in rows if row["valid"] != "True"]
    assert not broken, "\n".join(line.replace(origin, "") for line in broken)
