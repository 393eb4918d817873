"""A search index of the pages changed since the last full one (lib/blog/search.py), which `make serve` makes
after an edit so that search finds it at once, while the full index, which takes seconds, follows behind.

Real pagefind indexes real built sites; test_search_delta_browser.py searches them in Chromium.
"""

import json
import os
from pathlib import Path

from helpers import markdown_post, site

from lib.blog.audit import search_records
from lib.blog.build import build
from lib.blog.search import DELTA, EMPTY, delta_index, index_ids, site_pages
from lib.blog.write import swap

POSTS = {
    "2020-01-01-aardvark.md": "---\ntitle: Aardvark\n---\nThe aardvark digs with its claws.\n",
    "2020-01-02-bison.md": "---\ntitle: Bison\n---\nThe bison grazes on the prairie.\n",
    "2020-01-03-cassowary.md": "---\ntitle: Cassowary\n---\nThe cassowary runs through the forest.\n",
}


def blog(tmp_path: Path) -> Path:
    root = site(tmp_path)
    for name, text in POSTS.items():
        markdown_post(root, text, name)
    build(root, root / "_site", search=True, log=lambda _: None)
    return root


def edited(root: Path) -> tuple[dict, dict, dict]:
    """The full index's pages and ids, then an edit (the bison now roams the tundra) and a deletion (the cassowary),
    built as `make serve` builds them: the full index stays as it was. Returns (indexed, now, ids)."""
    out = root / "_site"
    indexed, ids = site_pages(out), index_ids(out / "pagefind")
    markdown_post(root, "---\ntitle: Bison\n---\nThe bison roams the tundra.\n", "2020-01-02-bison.md")
    (root / "_posts" / "2020-01-03-cassowary.md").unlink()
    build(root, out, search="later", log=lambda _: None)
    return indexed, site_pages(out), ids


def test_a_full_index_comes_with_an_empty_delta(tmp_path):
    index = blog(tmp_path) / "_site" / "pagefind"
    assert json.loads((index / DELTA / "delta.json").read_text()) == EMPTY


def test_a_delta_holds_the_changed_pages_only(tmp_path):
    root = blog(tmp_path)
    work = delta_index(root / "_site", *edited(root))
    records = search_records(root, work / DELTA)
    assert list(records) == ["/2020/01/02/bison.html"] and "tundra" in records["/2020/01/02/bison.html"]


def test_a_delta_names_the_full_index_copies_of_changed_and_deleted_pages(tmp_path):
    root = blog(tmp_path)
    indexed, now, ids = edited(root)
    work = delta_index(root / "_site", indexed, now, ids)
    manifest = json.loads((work / DELTA / "delta.json").read_text())
    old = [ids["/2020/01/02/bison.html"], ids["/2020/01/03/cassowary.html"]]
    assert sorted(manifest["hide"]) == sorted(old) and manifest["count"] == 1
    assert list(manifest["twins"].values()) == [ids["/2020/01/02/bison.html"]]


def test_a_changed_page_the_full_index_leaves_out_stays_out_of_the_delta(tmp_path):
    root = blog(tmp_path)
    out = root / "_site"
    indexed, ids = site_pages(out), index_ids(out / "pagefind")
    now = indexed | {"index.html": "0" * 64, "slides/x.html": "0" * 64}  # the index page has no searchable body
    manifest = json.loads((delta_index(out, indexed, now, ids) / DELTA / "delta.json").read_text())
    assert manifest["count"] == 0 and manifest["hide"] == []


def test_a_delta_keeps_none_of_pagefinds_scripts(tmp_path):
    root = blog(tmp_path)
    work = delta_index(root / "_site", *edited(root))
    names = [p.name for p in (work / DELTA).iterdir()]
    assert not [n for n in names if n.endswith((".js", ".css")) or n.startswith("wasm.")]
    assert "pagefind-entry.json" in names


def test_pages_are_read_again_only_when_a_build_replaced_them(tmp_path):
    root = blog(tmp_path)
    seen: dict = {}
    first = site_pages(root / "_site", seen)
    page = root / "_site" / "2020/01/01/aardvark.html"
    seen["2020/01/01/aardvark.html"] = (*seen["2020/01/01/aardvark.html"][:3], "remembered")
    assert site_pages(root / "_site", seen)["2020/01/01/aardvark.html"] == "remembered"
    page.unlink()
    page.write_text("new")
    assert site_pages(root / "_site", seen)["2020/01/01/aardvark.html"] != first["2020/01/01/aardvark.html"]


def test_a_full_build_of_the_pages_the_full_index_holds_empties_the_delta(tmp_path):
    root = blog(tmp_path)
    out = root / "_site"
    work = delta_index(out, *edited(root))
    swap(work / DELTA, out / "pagefind" / DELTA)  # as `make serve` leaves it, its full index not yet there
    for name, text in POSTS.items():  # the edit and the deletion taken back: the full index is current again
        markdown_post(root, text, name)
    build(root, out, search=True, log=lambda _: None)
    assert json.loads((out / "pagefind" / DELTA / "delta.json").read_text()) == EMPTY


def test_a_link_or_a_pipe_put_in_the_site_is_never_read_as_a_page(tmp_path):
    out = blog(tmp_path) / "_site"
    os.mkfifo(out / "pipe.html")  # reading it would block forever
    (out / "link.html").symlink_to("/etc/passwd")
    pages = site_pages(out)
    assert "pipe.html" not in pages and "link.html" not in pages and "index.html" in pages
