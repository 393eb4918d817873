"The whole site: golden output, determinism, atomic writes, site pages, badges, images and the cache."

import fcntl
import filecmp
import json
import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from helpers import (
    CONFIG,
    built,
    children,
    die_with,
    in_session,
    markdown_post,
    notebook,
    page,
    site,
    text_output,
    wait_until,
)
from nbformat.v4 import new_code_cell, new_markdown_cell

from lib.blog.build import build
from lib.blog.errors import BuildError

FIXTURE = Path(__file__).parent / "fixtures" / "site"
GOLDEN = Path(__file__).parent / "golden"


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_fixture_site_matches_the_golden_tree(tmp_path):
    build(FIXTURE, tmp_path / "out", search=False, log=lambda _: None)
    got, want = tree(tmp_path / "out"), tree(GOLDEN)
    assert sorted(got) == sorted(want), "regenerate with `make golden` if the change is intended"
    assert [name for name in want if got[name] != want[name]] == []


def test_two_builds_are_byte_identical(tmp_path):
    build(FIXTURE, tmp_path / "a", search=True, log=lambda _: None)
    build(FIXTURE, tmp_path / "b", search=True, log=lambda _: None, cache=tmp_path / "cache")
    cmp = filecmp.dircmp(tmp_path / "a", tmp_path / "b")
    assert tree(tmp_path / "a") == tree(tmp_path / "b"), cmp.diff_files


def test_a_failed_build_keeps_the_previous_site(tmp_path):
    root = site(tmp_path)
    markdown_post(root, "---\ntitle: Good\n---\nFirst version")
    before = tree(built(root))
    markdown_post(root, "---\ntitle: [broken\n---\n", name="2020-01-03-bad.md")
    with pytest.raises(BuildError, match="2020-01-03-bad.md: bad YAML"):
        built(root)
    assert tree(root / "_site") == before
    assert [p.name for p in root.iterdir() if p.name.startswith("_site.tmp")] == []  # no temporary left


def test_a_build_never_modifies_its_sources(tmp_path):
    root = site(tmp_path)
    path = notebook(root, "#hide\nx = 1", "#collapse\ny = 2")
    before = path.read_bytes()
    built(root)
    assert path.read_bytes() == before


def test_index_lists_sticky_first_then_newest_and_leaves_out_hidden(tmp_path):
    root = site(tmp_path)
    markdown_post(root, "---\ntitle: Old Sticky\nsticky_rank: 1\n---\n", name="2019-01-01-old.md")
    markdown_post(root, "---\ntitle: Newest\n---\n", name="2021-01-01-new.md")
    markdown_post(root, "---\ntitle: Middle\n---\n", name="2020-01-01-mid.md")
    markdown_post(root, "---\ntitle: Secret\nhide: true\n---\n", name="2022-01-01-secret.md")
    index = page(built(root).parent, "index.html")
    titles = [t for t in ("Old Sticky", "Newest", "Middle", "Secret") if t in index]
    assert titles == ["Old Sticky", "Newest", "Middle"]
    assert sorted(titles, key=index.index) == titles
    assert (root / "_site/2022/01/01/secret.html").exists()  # hidden, not dropped


def test_categories_page_groups_posts(tmp_path):
    root = site(tmp_path)
    markdown_post(root, "---\ntitle: One\ncategories: [alpha, beta]\n---\n", name="2020-01-01-one.md")
    markdown_post(root, "---\ntitle: Two\ncategories: [beta]\n---\n", name="2020-01-02-two.md")
    html = page(built(root).parent, "categories.html")
    alpha, beta = html.split('id="alpha"')[1].split('id="beta"')
    assert "One" in alpha and "Two" not in alpha and "One" in beta and "Two" in beta


def test_feed_is_valid_atom_dated_by_the_posts(tmp_path):
    root = site(tmp_path)
    markdown_post(root, "---\ntitle: First\n---\n", name="2020-05-01-first.md")
    markdown_post(root, "---\ntitle: Second\n---\n", name="2020-06-01-second.md")
    feed = ET.parse(built(root) / "feed.xml").getroot()
    ns = {"a": "http://www.w3.org/2005/Atom"}
    assert feed.find("a:updated", ns).text == "2020-06-01T00:00:00+00:00"
    assert [e.find("a:title", ns).text for e in feed.findall("a:entry", ns)] == ["Second", "First"]


def test_sitemap_lists_every_listed_post(tmp_path):
    root = site(tmp_path)
    markdown_post(root, "---\ntitle: First\n---\n", name="2020-05-01-first.md")
    urls = [e.text for e in ET.parse(built(root) / "sitemap.xml").getroot().findall(".//{*}loc")]
    assert "https://example.org/2020/05/01/first.html" in urls


def test_social_preview_tags(tmp_path):
    root = site(tmp_path)
    (root / "images").mkdir()
    (root / "images/card.png").write_bytes(b"card")
    markdown_post(root, "---\ntitle: Shared\nsummary: Worth a click\nimage: images/card.png\n---\n")
    html = page(built(root).parent, "2020/01/02/note.html")
    assert (root / "_site/images/card.png").read_bytes() == b"card"
    assert '<meta property="og:title" content="Shared">' in html
    assert '<meta property="og:description" content="Worth a click">' in html
    assert '<meta property="og:image" content="https://example.org/images/card.png">' in html
    assert '<meta name="twitter:card" content="summary_large_image">' in html


def test_badges_follow_fastpages_url_patterns(tmp_path):
    root = site(tmp_path, CONFIG + "branch: master\n")
    notebook(root, "x = 1", name="2020-01-01-post.ipynb")
    html = page(built(root).parent)
    nb = "_notebooks/2020-01-01-post.ipynb"
    assert f'href="https://github.com/someone/blog/blob/master/{nb}"' in html
    assert f'href="https://colab.research.google.com/github/someone/blog/blob/master/{nb}"' in html
    assert 'href="https://mybinder.org/v2/gh/someone/blog/master?filepath=_notebooks%2F2020-01-01-post.ipynb"' in html


@pytest.mark.parametrize("badge", ["github", "colab", "binder"])
def test_each_badge_can_be_switched_off_per_post(tmp_path, badge):
    root = site(tmp_path)
    notebook(root, "x = 1", front_matter=f'# "T"\n- hide_{badge}_badge: true')
    html = page(built(root).parent)
    assert f"badge-{badge}" not in html and html.count('class="badge ') == 2


def test_badges_false_hides_all_and_config_sets_defaults(tmp_path):
    root = site(tmp_path, CONFIG + "default_badges: {github: true, colab: false, binder: false}\n")
    notebook(root, "x = 1")
    notebook(root, "x = 1", front_matter='# "T"\n- badges: false', name="2020-01-02-off.ipynb")
    built(root)
    assert page(root).count('class="badge ') == 1 and "badge-github" in page(root)
    assert 'class="badge ' not in page(root, "2020/01/02/off.html")


def test_toc_links_every_heading_when_asked(tmp_path):
    root = site(tmp_path)
    markdown_post(root, "---\ntitle: T\ntoc: true\n---\n## One\n\n### One and a half\n\n## One\n")
    html = page(built(root).parent, "2020/01/02/note.html")
    for anchor in ("one", "one-and-a-half", "one-1"):
        assert f'href="#{anchor}"' in html and f'id="{anchor}"' in html


def test_no_toc_unless_asked(tmp_path):
    root = site(tmp_path)
    markdown_post(root, "---\ntitle: T\n---\n## One\n")
    assert 'class="toc"' not in page(built(root).parent, "2020/01/02/note.html")


@pytest.mark.parametrize("kind", ["Note", "Tip", "Warning", "Important"])
def test_fastpages_callouts(tmp_path, kind):
    root = site(tmp_path)
    markdown_post(root, f"---\ntitle: T\n---\n> {kind}: mind the **gap**\n")
    html = page(built(root).parent, "2020/01/02/note.html")
    assert f'<blockquote class="callout {kind.lower()}">' in html and "mind the <strong>gap</strong>" in html


def test_math_is_mathml_with_no_script(tmp_path):
    root = site(tmp_path)
    markdown_post(root, "---\ntitle: T\n---\nInline $a^2$ and\n\n$$\n\\frac{1}{2}\n$$\n")
    html = page(built(root).parent, "2020/01/02/note.html")
    assert "<msup><mi>a</mi><mn>2</mn></msup>" in html and "<mfrac>" in html
    assert "katex" not in html.lower() and "mathjax" not in html.lower()  # no math script: MathML is native


def test_code_is_highlighted_by_pygments(tmp_path):
    root = site(tmp_path)
    markdown_post(root, "---\ntitle: T\n---\n```python\nimport torch\n```\n")
    html = page(built(root).parent, "2020/01/02/note.html")
    assert '<span class="kn">import</span>' in html
    assert ".highlight .kn" in (root / "_site/assets/pygments.css").read_text()


REAL_NOTEBOOKS = sorted((Path(__file__).parents[1] / "_notebooks").glob("*.ipynb"))
CORPUS_NOTEBOOKS = sorted((Path(__file__).parents[2] / "shared" / "fastpages-corpus").glob("*/_notebooks/*.ipynb"))


def test_notebook_code_is_highlighted_byte_for_byte_as_nbconvert_does(tmp_path):
    # The exporters keep one lexer and formatter per language; nbconvert's filter makes them per cell.
    from nbconvert.filters.highlight import Highlight2HTML

    from lib.blog.notebook import Highlight

    cells = [c for path in REAL_NOTEBOOKS + CORPUS_NOTEBOOKS for c in json.loads(path.read_text())["cells"]]
    sources = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    cases = [(s, lang, None) for s in sources for lang in ("ipython3", "python")]
    cases += [("echo hi", "ipython3", {"magics_language": "bash"}), ("", "ipython3", None), ("x <- 1", "r", None)]
    cases += [("%timeit f(x)\n!ls -l\nlen?\ny = 1 if a != b else 2 % 3", "ipython3", None)]  # IPython's own syntax
    assert len(sources) > 50
    for source, language, metadata in cases:
        ours = Highlight({}, pygments_lexer=language)(source, None, metadata)
        assert ours == Highlight2HTML(pygments_lexer=language)(source, None, metadata), (language, source[:80])


def test_a_notebook_copy_equals_the_original_and_shares_nothing_it_could_change():
    import nbformat

    from lib.blog.nbfile import json_copy

    nb = nbformat.read(REAL_NOTEBOOKS[0], 4)
    copied = json_copy(nb)
    assert copied == nb and isinstance(copied.cells[0].metadata, nbformat.NotebookNode)
    code = next(i for i, cell in enumerate(nb.cells) if cell.cell_type == "code")
    copied.cells[0].metadata["changed"] = True
    copied.cells[code].outputs.append({})
    copied.cells.pop()
    assert "changed" not in nb.cells[0].metadata and {} not in nb.cells[code].outputs
    assert len(nb.cells) == len(copied.cells) + 1


def test_an_unknown_cell_language_is_plain_text_with_a_warning():
    from lib.blog.notebook import Highlight

    with pytest.warns(UserWarning, match="No lexer found for language 'no-such-language'"):
        html = Highlight({}, pygments_lexer="no-such-language")("a < b")
    assert "a &lt; b" in html and 'class="err"' not in html


def test_markdown_images_are_copied_and_relinked(tmp_path):
    root = site(tmp_path, CONFIG + "baseurl: /blog\n")
    (root / "images").mkdir()
    (root / "images" / "chart.png").write_bytes(b"\x89PNG fake")
    markdown_post(root, "---\ntitle: T\n---\n![A chart](../images/chart.png)\n")
    html = page(built(root).parent, "2020/01/02/note.html")
    assert '<img src="/blog/images/chart.png" alt="A chart" />' in html
    assert (root / "_site/images/chart.png").read_bytes() == b"\x89PNG fake"


def test_notebook_markdown_images_are_copied_too(tmp_path):
    root = site(tmp_path)
    (root / "images").mkdir()
    (root / "images" / "d.png").write_bytes(b"png")
    notebook(root, new_markdown_cell("![Diagram](../images/d.png)"))
    assert '<img src="/images/d.png" alt="Diagram" />' in page(built(root).parent)
    assert (root / "_site/images/d.png").read_bytes() == b"png"


def test_an_image_path_escaping_the_repository_is_an_error_when_strict(tmp_path):
    root = site(tmp_path)
    (tmp_path / "outside.png").write_bytes(b"png")
    markdown_post(root, "---\ntitle: T\n---\n![x](../../outside.png)\n")
    with pytest.raises(
        BuildError, match=r"2020-01-02-note.md: image\(s\) outside images/ and the post's folder, not copied"
    ):
        built(root, strict=True)


def test_a_remote_image_waits_for_a_click_and_is_a_warning(tmp_path):
    root = site(tmp_path)
    markdown_post(root, "---\ntitle: T\n---\n![A chart](https://example.com/x.png)\n")
    warnings = []
    build(root, root / "_site", search=False, log=warnings.append)
    html = page(root, "2020/01/02/note.html")
    assert 'src="https://example.com/x.png"' not in html and 'data-load="https://example.com/x.png"' in html
    assert [w for w in warnings if "note.md: images from other hosts: https://example.com/x.png" in w]


def test_a_remote_image_is_an_error_when_offline(tmp_path):
    root = site(tmp_path, CONFIG + "offline: true\n")
    markdown_post(root, "---\ntitle: T\n---\n![x](https://example.com/x.png)\n")
    with pytest.raises(BuildError, match=r"image https://example.com/x.png is loaded from another host, and offline"):
        built(root)


def test_a_missing_image_is_an_error_when_strict(tmp_path):
    root = site(tmp_path)
    markdown_post(root, "---\ntitle: T\n---\n![x](nope.png)\n")
    with pytest.raises(BuildError, match=r"2020-01-02-note.md: image\(s\) not found, left as broken links: nope.png"):
        built(root, strict=True)


def test_two_posts_with_one_url_are_an_error(tmp_path):
    root = site(tmp_path)
    markdown_post(root, "---\ntitle: A\n---\n", name="2020-01-01-same.md")
    markdown_post(root, "---\ntitle: B\npermalink: /2020/01/01/same.html\n---\n", name="2020-02-02-other.md")
    with pytest.raises(
        BuildError, match=r"other.md: writes 2020/01/01/same.html, which .*2020-01-01-same.md writes too"
    ):
        built(root)


def test_every_source_becomes_a_page(tmp_path):
    root = site(tmp_path)
    for i in range(1, 6):
        markdown_post(root, f"---\ntitle: Post {i}\n---\n", name=f"2020-01-0{i}-p{i}.md")
    assert len(list((built(root)).glob("2020/01/*/*.html"))) == 5


def test_unchanged_posts_come_from_the_cache(tmp_path):
    root = site(tmp_path)
    markdown_post(root, "---\ntitle: A\n---\n", name="2020-01-01-a.md")
    markdown_post(root, "---\ntitle: B\n---\n", name="2020-01-02-b.md")
    logs: list[str] = []
    build(root, root / "_site", search=False, cache=tmp_path / "cache", log=lambda _: None)
    markdown_post(root, "---\ntitle: B\n---\nEdited.", name="2020-01-02-b.md")  # same title: A's links stay
    build(root, root / "_site", search=False, cache=tmp_path / "cache", log=logs.append)
    assert [line.split()[0] for line in logs[:2]] == ["cached", "built"]
    assert "Edited." in page(root, "2020/01/02/b.html")


def test_the_builders_hash_reuses_a_files_hash_while_its_size_and_mtime_agree():
    from lib.blog.build import builder_files

    now = builder_files({})
    stamp, digest = now["build.py"]
    assert builder_files({**now, "build.py": [stamp, "f" * 64]})["build.py"] == [stamp, "f" * 64]
    assert builder_files({**now, "build.py": [[0, 0], "f" * 64]})["build.py"] == [stamp, digest]  # read again
    assert builder_files({"build.py": "not a pair"})["build.py"] == [stamp, digest]


def test_pages_rendered_on_every_core_are_in_the_cache_for_the_next_build(tmp_path):
    root = site(tmp_path)
    for day in (1, 2, 3):  # enough notebooks for the workers (build.PARALLEL_FROM), which store what they render
        notebook(root, f"x = {day}", new_markdown_cell(f"Post {day}"), name=f"2020-01-0{day}-post{day}.ipynb")
    build(root, root / "_site", search=False, cache=tmp_path / "cache", log=lambda _: None)
    first, logs = tree(root / "_site"), []
    build(root, root / "_site", search=False, cache=tmp_path / "cache", log=logs.append)
    assert "(0 rendered, 3 cached)" in logs[-1]
    assert tree(root / "_site") == first


def test_a_torn_line_in_the_cache_log_is_a_miss_and_lines_appended_after_it_still_count(tmp_path):
    from lib.blog.cache import Cache

    Cache(tmp_path / "cache").put("a", {}, {"a.html": b"A"})
    log = tmp_path / "cache" / "entries.jsonl"
    log.write_bytes(log.read_bytes()[:-5])  # as a build killed while appending leaves it
    cache = Cache(tmp_path / "cache")
    assert cache.get("a") is None
    cache.put("b", {}, {"b.html": b"B"})  # appended after the torn line; no build end writes the log anew
    assert Cache(tmp_path / "cache").get("b")[1]["b.html"].read() == b"B"


def test_a_changed_linked_image_invalidates_the_cached_post(tmp_path):
    root = site(tmp_path)
    (root / "images").mkdir()
    (root / "images" / "x.png").write_bytes(b"one")
    markdown_post(root, "---\ntitle: A\n---\n![x](../images/x.png)\n")
    build(root, root / "_site", search=False, cache=tmp_path / "cache", log=lambda _: None)
    (root / "images" / "x.png").write_bytes(b"second")
    build(root, root / "_site", search=False, cache=tmp_path / "cache", log=lambda _: None)
    assert (root / "_site/images/x.png").read_bytes() == b"second"


def test_an_edited_include_renders_the_pages_again(tmp_path):
    root = site(tmp_path)
    (root / "_includes").mkdir()
    markdown_post(root, "---\ntitle: A\n---\n{% include custom.html %}\n")
    logs = []
    for text in ("First words", "Second words"):
        (root / "_includes/custom.html").write_text(f"<aside>{text}</aside>")
        build(root, root / "_site", search=False, cache=tmp_path / "cache", log=logs.append)
    assert "(1 rendered, 0 cached)" in logs[-1]
    assert "<aside>Second words</aside>" in page(root, "2020/01/02/note.html")


def test_two_posts_with_the_same_text_keep_their_own_pages_through_the_cache(tmp_path):
    root = site(tmp_path)
    for name in ("2020-01-01-a.md", "2020-01-02-b.md"):
        markdown_post(root, "---\ntitle: Twin\n---\nSame text\n", name=name)
    for _ in range(2):
        build(root, root / "_site", search=False, cache=tmp_path / "cache", log=lambda _: None)
    assert (root / "_site/2020/01/01/a.html").exists() and (root / "_site/2020/01/02/b.html").exists()


def test_an_unchanged_site_reuses_its_search_index_and_a_changed_one_is_reindexed(tmp_path):
    root = site(tmp_path)
    post = markdown_post(root, "---\ntitle: A\n---\nFirst words\n")
    build(root, root / "_site", log=lambda _: None)
    build(root, root / "_site", log=lambda _: None)  # reuses the index
    build(root, tmp_path / "fresh", log=lambda _: None)  # indexes from scratch
    assert tree(root / "_site") == tree(tmp_path / "fresh")
    before = (root / "_site/pagefind/pages.sha256").read_text()
    post.write_text("---\ntitle: A\n---\nOther words\n")
    build(root, root / "_site", log=lambda _: None)
    assert (root / "_site/pagefind/pages.sha256").read_text() != before


def test_the_search_index_reads_every_page_but_the_slides(tmp_path):
    from lib.blog.audit import search_records

    root = site(tmp_path)
    notebook(root, "x = 1", new_markdown_cell("Words only the post has."))
    build(root, root / "_site", log=lambda _: None)
    records = search_records(root / "_site")
    assert "Words only the post has." in records["/2020/01/01/post.html"]
    assert not [url for url in records if "slides" in url]


def test_a_site_name_a_glob_cannot_say_gets_the_plain_glob(tmp_path):
    from lib.blog.write import search_glob

    for name in ("2020", "slides", "pagefind"):
        (tmp_path / name).mkdir()
    (tmp_path / "index.html").write_text("")
    assert search_glob(tmp_path) == "{2020/**/*.html,index.html}"
    (tmp_path / "a,b.html").write_text("")
    assert search_glob(tmp_path) == "**/*.html"


def test_notebooks_render_on_every_core_into_the_same_site(tmp_path, monkeypatch):
    import lib.blog.build as build_module

    root = site(tmp_path)
    for day in (1, 2, 3):
        notebook(root, f"x = {day}", new_markdown_cell(f"Post {day}"), name=f"2020-01-0{day}-post{day}.ipynb")
    for day in range(10, 21):  # two jobs of markdown posts beside the notebooks' three
        markdown_post(root, f"---\ntitle: Note {day}\n---\nText {day}", name=f"2020-02-{day}-note.md")
    build(root, tmp_path / "parallel", search=False, log=lambda _: None)
    monkeypatch.setattr(build_module, "PARALLEL_FROM", 10**6)
    build(root, tmp_path / "serial", search=False, log=lambda _: None)
    assert tree(tmp_path / "parallel") == tree(tmp_path / "serial")


def descendants(pid: int) -> list[int]:
    "The process's children, theirs, and so on: a build's forkserver and the workers it forks."
    found, todo = [], [pid]
    while todo:
        found += (new := children(todo.pop()))
        todo += new
    return found


def copies_of_a_real_notebook(root: Path, n: int) -> None:
    shutil.copytree(REAL_NOTEBOOKS[0].parents[1] / "images", root / "images")
    for day in range(1, n + 1):
        shutil.copy(REAL_NOTEBOOKS[0], root / "_notebooks" / f"2020-01-{day:02d}-copy-{day}.ipynb")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's")
def test_a_killed_cold_build_leaves_no_process_behind(tmp_path):
    root = site(tmp_path)
    copies_of_a_real_notebook(root, 12)  # a cold build: its workers fork from a forkserver
    cmd = [sys.executable, "-m", "lib.blog", "build", "--root", str(root)]
    build_process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert wait_until(lambda: len(descendants(build_process.pid)) >= 3, 60), "no forkserver and workers"
        assert die_with(build_process, descendants(build_process.pid), 10)
    finally:
        build_process.kill()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's")
def test_the_temp_folder_of_a_killed_cold_build_is_removed_by_the_next_build(tmp_path):
    # multiprocessing keeps the forkserver's socket in a pymp-* folder of its own, which a kill leaves behind.
    root, temp = site(tmp_path), tmp_path / "tmp"
    temp.mkdir()
    copies_of_a_real_notebook(root, 12)
    env = os.environ | {"TMPDIR": str(temp)}
    cmd = [sys.executable, "-m", "lib.blog", "build", "--no-search", "--root"]
    build_process = subprocess.Popen([*cmd, str(root)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert wait_until(lambda: len(descendants(build_process.pid)) >= 3, 60), "no forkserver and workers"
        assert die_with(build_process, descendants(build_process.pid), 10)
    finally:
        build_process.kill()
    assert [p.name[:5] for p in temp.iterdir()] == ["pymp-"]
    other = site(tmp_path / "other")
    markdown_post(other, "---\ntitle: A\n---\nText\n")
    subprocess.run([*cmd, str(other)], env=env, check=True, capture_output=True, timeout=120)
    assert list(temp.iterdir()) == []


def test_a_build_leaves_the_temp_folder_of_a_running_one_alone(tmp_path, monkeypatch):
    from lib.blog import workers

    held = tmp_path / "pymp-held"
    held.mkdir()
    with open(held / workers.MARK, "w") as mark:
        fcntl.flock(mark, fcntl.LOCK_EX)  # as the build that made it holds it while it runs
        monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
        workers.remove_left_temp_folders()
        assert held.is_dir()
    workers.remove_left_temp_folders()
    assert not held.exists()


def big_notebooks(root: Path, n: int, broken: int) -> Path:
    "`n` notebooks of 4 MB each, and the path of the one numbered `broken`: a cell of it breaks the notebook schema."
    output = text_output("x" * 4 * 2**20)
    for day in range(1, n + 1):
        notebook(root, new_code_cell("x", outputs=[output]), name=f"2020-01-{day:02d}-big-{day}.ipynb")
    path = root / "_notebooks" / f"2020-01-{broken:02d}-big-{broken}.ipynb"
    nb = json.loads(path.read_text())
    nb["cells"][1]["execution_count"] = "one"  # nbformat would refuse to write it
    path.write_text(json.dumps(nb))
    return path


def failed_build(root: Path, out: Path, seconds: float) -> tuple[str, list[int]]:
    """Build `root` in a process of its own session, and its error once it has exited within `seconds`, with the
    processes of its session (forkserver, workers) still running a few seconds later."""
    cmd = [sys.executable, "-m", "lib.blog", "build", "--root", str(root), "--out", str(out), "--no-cache"]
    process = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        _, error = process.communicate(timeout=seconds)
        wait_until(lambda: not in_session(process.pid), 5)
        return error, in_session(process.pid)
    finally:
        process.kill()
        for pid in in_session(process.pid):
            os.kill(pid, 9)


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads processes from /proc")
def test_a_failing_notebook_ends_every_parallel_build_with_its_error_and_leaves_no_process(tmp_path):
    # When the third notebook fails, the pool is still sending 4 MB notebooks to the workers it then kills. Stopping
    # it was a race that hung now and then, so the build runs again and again, three at a time to crowd the cores.
    root = site(tmp_path)
    broken = big_notebooks(root, 16, broken=3)
    with ThreadPoolExecutor(3) as runs:
        for error, left in runs.map(lambda i: failed_build(root, tmp_path / f"out{i}", 30), range(24)):
            assert error.startswith(f"error: {broken}: not a valid notebook"), error
            assert not left


def test_a_script_that_builds_with_no_main_guard_builds_once(tmp_path):
    # Workers forked by a forkserver would import the script again, and build again from there.
    root = site(tmp_path)
    copies_of_a_real_notebook(root, 3)
    script = tmp_path / "make_site.py"
    script.write_text(
        f"from pathlib import Path\nfrom lib.blog.build import build\nbuild(Path({str(root)!r}), search=False)\n"
    )
    env = os.environ | {"PYTHONPATH": str(Path(__file__).parents[1])}
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("Built 3 posts (3 rendered, 0 cached)") == 1


def many_markdown_posts(root: Path, n: int = 250) -> None:
    "Enough markdown posts for the build to read and render them on every core (READ_TOGETHER, PARALLEL_FROM)."
    for i in range(n):
        front = f"---\ntitle: Note {i}\ncategories: [c{i % 3}]\n---\n"
        text = f"{front}## Part {i}\n\nText {i}\n\n```python\nx = {i}\n```\n"
        markdown_post(root, text, name=f"2020-{1 + i // 28 % 12:02d}-{1 + i % 28:02d}-note-{i}.md")


def one_by_one(monkeypatch) -> None:
    "Every post read and rendered in the build's own process."
    import lib.blog.build as build_module

    monkeypatch.setattr(build_module, "PARALLEL_FROM", 10**6)
    monkeypatch.setattr(build_module, "READ_TOGETHER", 10**6)


def test_markdown_posts_read_and_render_on_every_core_into_the_same_site(tmp_path, monkeypatch):
    root = site(tmp_path)
    many_markdown_posts(root)
    build(root, tmp_path / "parallel", search=False, cache=tmp_path / "cache", log=lambda _: None)
    one_by_one(monkeypatch)
    build(root, tmp_path / "serial", search=False, log=lambda _: None)
    assert tree(tmp_path / "parallel") == tree(tmp_path / "serial")


@pytest.mark.parametrize("how", ["on every core", "one by one"])
def test_a_bad_file_among_many_markdown_posts_fails_the_build_naming_it(tmp_path, monkeypatch, how):
    root = site(tmp_path)
    many_markdown_posts(root)
    bad = markdown_post(root, "---\ntitle: [broken\n---\nText\n", name="2020-06-15-bad.md")
    if how == "one by one":
        one_by_one(monkeypatch)
    with pytest.raises(BuildError, match="bad YAML") as e:
        build(root, tmp_path / "out", search=False, log=lambda _: None)
    assert e.value.path == bad and not (tmp_path / "out").exists()


def die_reading(paths: list, strict: bool) -> None:
    os._exit(1)  # a reader killed, out of memory or by hand


def test_a_reader_that_dies_leaves_the_build_to_read_every_file_itself(tmp_path, monkeypatch):
    import lib.blog.build as build_module

    root = site(tmp_path)
    many_markdown_posts(root)
    monkeypatch.setattr(build_module, "read_some", die_reading)
    posts = build(root, tmp_path / "out", search=False, log=lambda _: None)
    assert len(posts) == 250 and (tmp_path / "out" / "2020/01/01/note-0.html").is_file()


def test_workers_take_notebooks_one_at_a_time_and_markdown_posts_eight_or_more_at_a_time():
    from lib.blog.build import batches
    from lib.blog.read import Post

    posts = [Post(Path(f"{i}.md"), "markdown", str(i), None, "T") for i in range(10)]
    posts[3:3] = [Post(Path(f"{i}.ipynb"), "notebook", str(i), None, "T") for i in range(3)]
    jobs = batches(posts, jobs=4)
    assert [[p.path.name for p in job] for job in jobs[:3]] == [["0.ipynb"], ["1.ipynb"], ["2.ipynb"]]
    assert [len(job) for job in jobs[3:]] == [8, 2] and sum(jobs, []) == sorted(
        posts, key=lambda p: p.kind != "notebook"
    )


def test_a_thousand_markdown_posts_go_in_about_as_many_jobs_as_asked():
    from lib.blog.build import batches
    from lib.blog.read import Post

    posts = [Post(Path(f"{i}.md"), "markdown", str(i), None, "T") for i in range(1000)]
    assert [len(job) for job in batches(posts, jobs=16)] == [63] * 15 + [55]


def test_cells_without_ids_get_the_same_ids_in_every_build(tmp_path):
    root = site(tmp_path)
    path = notebook(root, "x = 1")
    nb = json.loads(path.read_text())
    nb["nbformat_minor"] = 4
    for cell in nb["cells"]:
        del cell["id"]
    path.write_text(json.dumps(nb))
    build(root, tmp_path / "a", search=False, log=lambda _: None)
    build(root, tmp_path / "b", search=False, log=lambda _: None)
    assert tree(tmp_path / "a") == tree(tmp_path / "b")


def test_a_link_to_another_posts_source_is_its_url_on_the_site(tmp_path):
    root = site(tmp_path, CONFIG + "baseurl: /blog\n")
    notebook(root, "x = 1")
    markdown_post(root, "---\ntitle: T\n---\nSee [the notebook](../_notebooks/2020-01-01-post.ipynb#part).\n")
    assert 'href="/blog/2020/01/01/post.html#part"' in page(built(root).parent, "2020/01/02/note.html")


def test_a_cached_page_follows_the_new_url_of_a_post_it_links_to(tmp_path):
    root = site(tmp_path)
    notebook(root, "x = 1", front_matter='# "N"\n- permalink: /old/')
    markdown_post(root, "---\ntitle: T\n---\nSee [the notebook](../_notebooks/2020-01-01-post.ipynb).\n")
    built(root, cache=root / ".cache")
    notebook(root, "x = 1", front_matter='# "N"\n- permalink: /new/')
    assert 'href="/new/"' in page(built(root, cache=root / ".cache").parent, "2020/01/02/note.html")


def test_a_warm_build_reads_no_unchanged_notebook(tmp_path, monkeypatch):
    root = site(tmp_path)
    notebook(root, "x = 1")
    built(root, cache=root / ".cache" / "blog")

    def refuse(path):
        raise AssertionError(f"read {path} again")

    monkeypatch.setattr("lib.blog.read.load_notebook", refuse)
    assert "A Post" in page(built(root, cache=root / ".cache" / "blog").parent)


def test_a_warm_build_looks_up_no_package_version_until_a_package_changes(tmp_path, monkeypatch):
    import lib.blog.build as build_module
    import lib.blog.execute as execute

    root = site(tmp_path)
    notebook(root, "x = 1")
    built(root, cache=root / ".cache" / "blog")
    looked_up = []
    monkeypatch.setattr(execute, "versions", lambda: looked_up.append(1) or {"python": "3"})
    built(root, cache=root / ".cache" / "blog")
    assert looked_up == []
    monkeypatch.setattr(build_module, "package_stamp", lambda: ["a package was installed"])
    built(root, cache=root / ".cache" / "blog")
    assert looked_up == [1]


def test_an_edited_post_is_read_again(tmp_path):
    root = site(tmp_path)
    post = markdown_post(root, "---\ntitle: First title\n---\nText.\n")
    built(root, cache=root / ".cache" / "blog")
    post.write_text("---\ntitle: Second title\n---\nText.\n")
    html = page(built(root, cache=root / ".cache" / "blog").parent, "2020/01/02/note.html")
    assert "Second title" in html and "First title" not in html
