"""`python -m lib.blog serve`: serves on 127.0.0.1, rebuilds when a post changes, survives failed builds
and shows their error in the page, never lists a folder and never follows a symlink out of the site.

Each test starts the real server in a subprocess and talks to it over HTTP; every wait is bounded.
"""

import contextlib
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from helpers import CONFIG, markdown_post, site

from lib.blog.audit import search_records

GOOD = "---\ntitle: Before\n---\nFirst text\n"
NOTE = "/2020/01/02/note.html"
BANNER = '<body><div id="build-error"'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError:
        return 0, ""


def wait_for(check, seconds: float = 30):
    "Poll `check` until it returns something truthy, at most `seconds`."
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.2)
    return None


def edit_until(path: Path, text: str, check, seconds: float = 60):
    "Write `path` until `check` passes: the watcher may start a moment after the server first answers."
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        path.write_text(text)
        if result := wait_for(check, seconds=5):
            return result
    return None


@contextlib.contextmanager
def serving(root: Path, *options: str, search: bool = False):
    "Run `serve` on `root` until the block ends; yields the base URL, the process and its stderr log."
    port, log = free_port(), root.parent / "serve.log"
    cmd = [sys.executable, "-m", "lib.blog", "serve", "--root", str(root), "--port", str(port)]
    cmd += [] if search else ["--no-search"]
    with open(log, "w") as err:
        server = subprocess.Popen([*cmd, *options], stdout=subprocess.DEVNULL, stderr=err)
    url = f"http://127.0.0.1:{port}"
    try:
        assert wait_for(lambda: fetch(url + "/")[0], seconds=60), "the server never answered"
        yield url, server, log
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)


def test_serve_rebuilds_when_a_post_changes(tmp_path):
    root = site(tmp_path)
    post = markdown_post(root, GOOD)
    with serving(root) as (url, _, _):
        assert "First text" in fetch(url + NOTE)[1]
        assert edit_until(post, "---\ntitle: After\n---\nSecond text\n", lambda: "Second text" in fetch(url + NOTE)[1])
        status, body = fetch(f"{url}/no-such-page.html")
        assert status == 404 and "Page not found" in body and "build-error" not in body


def test_serve_rebuilds_when_an_include_changes(tmp_path):
    root = site(tmp_path)
    (root / "_includes").mkdir()
    (root / "_includes/custom.html").write_text("<aside>First include</aside>")
    markdown_post(root, "---\ntitle: A\n---\n{% include custom.html %}\n")
    with serving(root) as (url, _, _):
        assert "First include" in fetch(url + NOTE)[1]
        include, second = root / "_includes/custom.html", "<aside>Second include</aside>"
        assert edit_until(include, second, lambda: "Second include" in fetch(url + NOTE)[1])


def test_serve_watches_a_folder_made_while_it_runs(tmp_path):
    root = site(tmp_path)
    markdown_post(root, GOOD)
    with serving(root) as (url, _, _):
        (root / "_pages").mkdir()
        about, shown = root / "_pages/about.md", lambda text: lambda: text in fetch(url + "/about.html")[1]
        assert edit_until(about, "---\ntitle: About\n---\nAbout me\n", shown("About me"))  # the new folder
        assert edit_until(about, "---\ntitle: About\n---\nAbout us\n", shown("About us"))  # then a file in it


def test_serve_shows_an_edit_first_and_its_search_index_follows(tmp_path):
    root = site(tmp_path)
    post = markdown_post(root, GOOD)
    with serving(root, search=True) as (url, _, _):
        assert "First" in search_records(root / "_site").get(NOTE, "")
        assert edit_until(post, "---\ntitle: After\n---\nZebra text\n", lambda: "Zebra" in fetch(url + NOTE)[1])
        assert wait_for(lambda: "Zebra" in search_records(root / "_site").get(NOTE, ""), seconds=30)


def test_serve_indexes_an_edit_in_a_delta_first_and_the_full_index_takes_its_place(tmp_path):
    root = site(tmp_path)
    post = markdown_post(root, GOOD)
    index = root / "_site" / "pagefind"
    with serving(root, search=True) as (url, _, log):
        assert wait_for(lambda: "First" in search_records(root / "_site").get(NOTE, ""))
        assert edit_until(post, "---\ntitle: After\n---\nZebra text\n", lambda: "Zebra" in fetch(url + NOTE)[1])
        assert wait_for(lambda: "(the pages changed since the full index)" in log.read_text())
        assert wait_for(lambda: "Zebra" in search_records(root / "_site").get(NOTE, ""))
        assert wait_for(lambda: search_records(root, index / "delta") == {})  # the full index's delta is empty


def test_serve_survives_a_failing_build_and_shows_the_error(tmp_path):
    root = site(tmp_path)
    markdown_post(root, GOOD)
    with serving(root) as (url, server, log):
        bad = (
            root / "_posts" / "2020-01-09-<i>oops.md"
        )  # a BuildError whose message holds markup, which must be escaped
        assert edit_until(bad, "---\ntitle: [broken\n---\n", lambda: BANNER in fetch(url + NOTE)[1])
        status, body = fetch(url + NOTE)
        assert status == 200 and "First text" in body, "the last good site is still served"
        assert "&lt;i&gt;oops.md" in body and "<i>oops.md" not in body
        status, body = fetch(f"{url}/no-such-page.html")
        assert status == 404 and "Page not found" in body and BANNER in body
        assert server.poll() is None
    errors = [line for line in log.read_text().splitlines() if line.startswith("error: ")]
    assert errors and "oops.md" in errors[0] and "Traceback" not in log.read_text()


def test_serve_clears_the_error_after_a_good_build(tmp_path):
    root = site(tmp_path)
    post = markdown_post(root, GOOD)
    with serving(root) as (url, _, _):
        assert edit_until(post, "---\ntitle: T\nhide: maybe\n---\nBad\n", lambda: BANNER in fetch(url + NOTE)[1])
        fixed = "---\ntitle: Fixed\n---\nFixed text\n"
        assert edit_until(post, fixed, lambda: "Fixed text" in fetch(url + NOTE)[1])
        for path in (NOTE, "/", "/no-such-page.html"):
            assert "build-error" not in fetch(url + path)[1]


def test_serve_shows_an_error_page_when_the_first_build_fails(tmp_path):
    root = site(tmp_path)
    post = markdown_post(root, GOOD)
    # A file where the output folder's parent should be: the build fails with an OSError, not a BuildError.
    blocker = root / "blocker"
    blocker.write_text("not a folder")
    with serving(root, "--out", str(blocker / "_site")) as (url, server, log):
        for path in ("/", NOTE, "/no-such-page.html"):
            status, body = fetch(url + path)
            assert status == 503 and 'id="build-error"' in body and "blocker" in body
        blocker.unlink()
        blocker.mkdir()
        assert edit_until(post, GOOD, lambda: fetch(url + NOTE)[0] == 200)
        status, body = fetch(url + NOTE)
        assert "First text" in body and "build-error" not in body
    assert "error: " in log.read_text() and "Traceback" not in log.read_text()


def test_serve_lists_no_folders(tmp_path):
    root = site(tmp_path)
    markdown_post(root, GOOD)
    with serving(root) as (url, _, _):
        assert fetch(url + NOTE)[0] == 200
        for path in ("/2020/01/02/", "/2020/01/02", "/2020/", "/assets/"):
            status, body = fetch(url + path)
            assert status == 404 and "Page not found" in body and "note.html" not in body


def test_serve_follows_no_symlink_out_of_the_site(tmp_path):
    root = site(tmp_path)
    markdown_post(root, GOOD)
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    with serving(root) as (url, _, _):
        out = root / "_site"
        (out / "leak.txt").symlink_to(secret)
        (out / "leak").symlink_to(tmp_path, target_is_directory=True)
        (out / "alias.html").symlink_to(out / "index.html")  # a link that stays inside is fine
        assert fetch(url + "/alias.html")[0] == 200
        for path in ("/leak.txt", "/leak/secret.txt", "/leak/", "/../secret.txt", "/%2e%2e/secret.txt"):
            status, body = fetch(url + path)
            assert status == 404 and "top secret" not in body


def test_serve_keeps_the_baseurl(tmp_path):
    root = site(tmp_path, CONFIG + "baseurl: /blog\n")
    markdown_post(root, GOOD)
    with serving(root) as (url, _, _):
        status, body = fetch(f"{url}/blog{NOTE}")
        assert status == 200 and "First text" in body
        status, body = fetch(f"{url}/blog")  # redirected to /blog/, where the index's relative links work
        assert status == 200 and "Before" in body
        status, body = fetch(f"{url}/blog/no-such-page.html")
        assert status == 404 and "Page not found" in body


def test_serve_answers_an_extensionless_permalink_from_its_html_file(tmp_path):
    root = site(tmp_path)
    markdown_post(root, "---\ntitle: Codespaces\npermalink: /codespaces\n---\nIn the cloud.\n")
    with serving(root) as (url, _, _):
        status, body = fetch(f"{url}/codespaces")
        assert status == 200 and "In the cloud." in body


def test_a_built_site_is_served_as_it_is_under_its_baseurl(tmp_path):
    "The teacher's site (`make serve-teacher`): served from where `make teacher` wrote it, not rebuilt."
    from lib.blog.build import build

    root = site(tmp_path, CONFIG + "baseurl: /blog\n")
    markdown_post(root, GOOD)
    out = tmp_path / "teacher-site"
    build(root, out, search=False, log=lambda _: None)
    markdown_post(root, "---\ntitle: Later\n---\nAn edit after the build\n")
    with serving(root, "--no-build", "--out", str(out)) as (url, _, _):
        status, body = fetch(url + "/blog" + NOTE)
        assert status == 200 and "First text" in body
        css = re.search(r'href="(/blog/[^"]+\.css)"', body).group(1)
        assert fetch(url + css)[0] == 200


def test_serving_a_folder_with_no_site_says_so(tmp_path):
    root = site(tmp_path)
    done = subprocess.run([sys.executable, "-m", "lib.blog", "serve", "--root", str(root), "--no-build", "--out",
                           str(tmp_path / "nothing")], capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 1 and "holds no built site to serve" in done.stderr
