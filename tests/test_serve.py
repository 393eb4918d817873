"`python -m lib.blog serve`: serves on 127.0.0.1 and rebuilds when a post changes."

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

from helpers import markdown_post, site


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


def test_serve_rebuilds_when_a_post_changes(tmp_path):
    root = site(tmp_path)
    post = markdown_post(root, "---\ntitle: Before\n---\nFirst text\n")
    port = free_port()
    cmd = [sys.executable, "-m", "lib.blog", "serve", "--root", str(root), "--port", str(port), "--no-search"]
    server = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/2020/01/02/note.html"
    try:
        assert wait_for(lambda: "First text" in fetch(url)[1])
        post.write_text("---\ntitle: After\n---\nSecond text\n")
        assert wait_for(lambda: "Second text" in fetch(url)[1])
        status, body = fetch(f"http://127.0.0.1:{port}/no-such-page.html")
        assert status == 404 and "Page not found" in body
    finally:
        server.terminate()
        server.wait(timeout=10)
