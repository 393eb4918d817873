"""The last check of every build, over the files it is about to publish.

Each earlier stage is meant to keep hidden cells hidden and to load nothing from other hosts;
this pass checks the result instead of trusting them, so a bug anywhere (a template, a flag
syntax, the search indexer) fails the build rather than leaking. Written by hand: it is a
text search over what was written, which no library offers.

* Leaks: a line of a hidden cell (`#hide`, hidden input or output, an answer whose post hides
  answers) must not appear in the post's page, its slides or its search record; an answer line
  must not appear in the student notebook.
* Outside loads: `src`, `srcset`, stylesheet and icon `href`s, and CSS `url()` pointing at
  another host are errors when `offline: true`, else one warning each. A link (`<a href>`) is
  not a load, and neither is a click-to-load embed, whose address sits in a `data-` attribute.
"""

from __future__ import annotations

import gzip
import html
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import unquote

from lib.blog.cache import content
from lib.blog.errors import BuildError
from lib.blog.flags import SOLUTION_TAGS, markdown_solution, parse_flags
from lib.blog.paths import is_remote
from lib.blog.read import Post

MIN_LINE = 8  # shorter lines (`x = 1`, `plt.show()`) are too common to mean a leak
LOADERS = "img|script|iframe|source|video|audio|embed|object|input|track|link|image|use|style"
TAG = re.compile(rf"<({LOADERS})\b([^>]*)>", re.I)
LOWER_TAG = re.compile(rf"<({LOADERS})\b([^>]*)>".encode())
ATTR = re.compile(r"""([\w:-]+)\s*=\s*("[^"]*"|'[^']*'|[^\s"'>]+)""")
CSS_URL = re.compile(r"""url\(\s*['"]?([^'")\s]+)|@import\s+['"]([^'"]+)""", re.I)
LOADING_RELS = {"stylesheet", "icon", "apple-touch-icon", "preload", "modulepreload", "manifest", "prefetch"}
STYLE_BLOCK = re.compile(r"<style\b[^>]*>(.*?)</style>", re.I | re.S)
STYLE_ATTR = re.compile(r"""\sstyle\s*=\s*("[^"]*"|'[^']*')""", re.I)
LOWER_STYLE_ATTR = re.compile(rb"""style(?<=\sstyle)\s*=\s*("[^"]*"|'[^']*')""")  # starts with a word: re skips to it


def normal(line: str) -> str:
    return " ".join(line.split())


def lines_of(text: str) -> set[str]:
    return {n for line in text.splitlines() if len(n := normal(line)) >= MIN_LINE and any(c.isalnum() for c in n)}


def output_text(cell) -> str:
    parts = []
    for out in cell.get("outputs", []):
        parts.append(out.get("text", "") if out.get("output_type") == "stream" else "")
        parts.append(out.get("data", {}).get("text/plain", ""))
    return "\n".join(p if isinstance(p, str) else "".join(p) for p in parts)


def html_lines(cell) -> set[str]:
    "The text lines of a cell's HTML outputs: a hidden input may print text the output shows by design."
    found = set()
    for out in cell.get("outputs", []):
        data = out.get("data", {}).get("text/html", "")
        found |= page_lines(("".join(data) if isinstance(data, list) else data).encode()) if data else set()
    return {line for line in found if len(line) >= MIN_LINE}


def cell_tags(cell, solutions: str) -> set[str]:
    "The display tags a cell ends up with, as the preprocess stage gives them."
    tags = set(cell.metadata.get("tags", []))
    if cell.cell_type == "code":
        tags |= set(parse_flags(cell.source)[0])
    elif cell.cell_type == "markdown" and markdown_solution(cell):
        tags |= {"solution"}
    return tags | (SOLUTION_TAGS[solutions] if "solution" in tags else set())


def answer_lines(cell) -> set[str]:
    "An answer's code lines (its leading comments are the task, which students see), or a written answer."
    code = cell.cell_type == "code"
    # A bare name (an answer cell's last line, showing its result) gives nothing away: the student notebook
    # names it too, in the stub and the checks.
    return {
        line
        for line in lines_of(parse_flags(cell.source)[3])
        if not (code and (line.startswith("#") or line.isidentifier()))
    }


def secrets(post: Post) -> tuple[set[str], set[str]]:
    "(lines hidden from the post's pages, answer lines kept from students), less any line shown elsewhere."
    hidden, answers, shown = set(), set(), set()
    nb = post.notebook()
    for cell in nb.cells[1:] if nb else []:
        tags = cell_tags(cell, post.solutions)
        source, outputs = lines_of(parse_flags(cell.source)[3]), lines_of(output_text(cell))
        answers |= answer_lines(cell) if "solution" in tags else set()
        hidden |= source if tags & {"remove-cell", "remove-input"} else set()
        hidden |= outputs if tags & {"remove-cell", "remove-output"} else set()
        shown |= (set() if tags & {"remove-cell", "remove-input"} else source) | (
            set() if tags & {"remove-cell", "remove-output"} else outputs | html_lines(cell)
        )
    return hidden - shown, answers - shown


def page_text(data: bytes) -> str:
    "What a reader or a search engine sees of an HTML page: tags dropped, entities decoded, spaces folded."
    return normal(html.unescape(re.sub(r"<[^>]+>", " ", data.decode("utf-8", "replace"))))


# Elements that start a new line of what a reader sees; every other tag (a, code, em, Pygments' spans) is inline.
BLOCK = re.compile(
    r"</?(?:p|div|li|ul|ol|pre|br|hr|tr|td|th|table|thead|tbody|h[1-6]|blockquote|section|article|header|footer|"
    r"nav|main|figure|figcaption|details|summary|dt|dd|dl|aside|title|caption|textarea|option)\b[^>]*>",
    re.I,
)
HIDDEN_BLOCK = re.compile(r"<(script|style)\b[^>]*>.*?</\1>", re.I | re.S)


def notebook_text(data: bytes) -> str:
    cells = json.loads(data).get("cells", [])
    return normal("\n".join("".join(c.get("source", "")) for c in cells))


def page_lines(data: bytes) -> set[str]:
    "Each whole line of an HTML page's text, spaces folded: lines of code blocks, paragraphs, list items, cells."
    text = HIDDEN_BLOCK.sub("\n", data.decode("utf-8", "replace"))
    text = html.unescape(re.sub(r"<[^>]+>", "", BLOCK.sub("\n", text)))
    return {normal(line) for line in text.splitlines()}


def notebook_lines(data: bytes) -> set[str]:
    "Each whole line of a notebook's cells, spaces folded."
    cells = json.loads(data).get("cells", [])
    return {normal(line) for c in cells for line in "".join(c.get("source", "")).splitlines()}


def fragments(index: Path) -> Iterator[tuple[str, dict]]:
    "Each page's id in the pagefind index `index` (its fragment file's name) and its record, from its gzipped fragment."
    for path in (index / "fragment").glob("*.pf_fragment"):
        data = gzip.decompress(path.read_bytes())
        yield path.name.removesuffix(".pf_fragment"), json.loads(data[data.index(b"{") :])


def search_records(folder: Path, index: Path | None = None) -> dict[str, str]:
    "pagefind's record of each page (URL -> text), in the index `folder/pagefind`, or `index`."
    return {unquote(r.get("url", "")): normal(r.get("content", "")) for _, r in fragments(index or folder / "pagefind")}


def own_leaks(post: Post, files: dict[str, bytes], found: tuple[set, set] | None = None) -> Iterator[tuple[str, str]]:
    """(file, line) for each hidden line shown whole in the post's own page, slides or student notebook.
    `found`: its `secrets`. A line counts only as a whole line of what the page shows: a hidden `selection`
    or `data.shape` is no leak where the prose mentions it in a sentence, or a shown line contains it."""
    hidden, answers = found or secrets(post)
    if not hidden and not answers:
        return
    for name in (post.file, f"slides/{post.file_name}.html"):
        shown = page_lines(files[name]) if name in files else set()
        yield from ((name, line) for line in sorted(hidden | answers) if line in shown)
    student = f"notebooks/{post.file_name}-student.ipynb"
    if student in files:
        shown = notebook_lines(files[student])
        yield from ((student, line) for line in sorted(answers) if line in shown)


def secret_lines(post: Post) -> list[str]:
    "Every line of `secrets`, as the render stage keeps them beside a cached page (no notebook to read again)."
    if post.secret_lines is None:
        hidden, answers = secrets(post)
        post.secret_lines = sorted(hidden | answers)
    return post.secret_lines


def index_leaks(posts: list[Post], folder: Path, index: Path | None = None) -> Iterator[tuple[Post, str, str]]:
    """(post, 'the search index', line) for each hidden line in the post's search record that its page does not
    show. The record is the page's text in one run, without lines: a hidden line inside a shown one is in it too.
    `folder`: the site; `index`: the index to read, when not the site's own (a delta: search.py)."""
    records = search_records(folder, index)
    for post in posts:
        lines = secret_lines(post)
        text = records.get(unquote(post.url), "") if lines else ""
        found = [line for line in lines if line in text]
        page = folder / post.file
        shown = " ".join(page_lines(page.read_bytes())) if found and page.is_file() else ""
        yield from ((post, "the search index", line) for line in found if line not in shown)


def leaks(posts: list[Post], files: dict[str, bytes], folder: Path) -> Iterator[tuple[Post, str, str]]:
    "(post, file, line) for each hidden line found where it must not be."
    for post in posts:
        yield from ((post, name, line) for name, line in own_leaks(post, files))
    yield from index_leaks(posts, folder)


def outside_loads(name: str, data: bytes) -> Iterator[str]:
    "Each address on another host that the HTML or CSS file `name` makes a browser load."
    text = data.decode("utf-8", "replace")
    low = data.lower()
    css = [text] if name.endswith(".css") else STYLE_BLOCK.findall(text) + caseless(STYLE_ATTR, data, low)
    for tag, attrs in caseless(TAG, data, low) if name.endswith(".html") else []:
        found = {k.lower(): v.strip("\"'") for k, v in ATTR.findall(attrs)}
        rels, tag = set(found.get("rel", "").lower().split()), tag.lower()
        keys = ["src", "srcset", "data", "poster", "xlink:href"]
        keys += ["href"] if tag in ("image", "use") or (tag == "link" and rels & LOADING_RELS) else []
        for key in keys:
            for url in found.get(key, "").split(",") if key == "srcset" else [found.get(key, "")]:
                if url.strip() and is_remote(url.split()[0]):
                    yield url.split()[0]
    for block in css:
        for url in (a or b for a, b in CSS_URL.findall(block)):
            if is_remote(url):
                yield url


def caseless(pattern: re.Pattern, data: bytes, low: bytes) -> list:
    """`pattern.findall` in the HTML `data`, for a pattern of re.I, found as its LOWER_ twin finds it in `low`, the
    bytes lowercased: several times quicker, as re leaps to each place the pattern's first letters appear, which it
    cannot do while ignoring case. Letters are ASCII ones, as in HTML's tag and attribute names. The groups are cut
    from `data` (each ends at an ASCII character, never inside a letter of UTF-8) and decoded."""
    found = [[data[m.start(g) : m.end(g)] for g in range(1, m.re.groups + 1)] for m in LOWER[pattern].finditer(low)]
    text = [[part.decode("utf-8", "replace") for part in groups] for groups in found]
    return [tuple(groups) if len(groups) > 1 else groups[0] for groups in text]


LOWER = {TAG: LOWER_TAG, STYLE_ATTR: LOWER_STYLE_ATTR}


def loads_of(files: dict[str, bytes]) -> dict[str, list[str]]:
    "Outside loads of each HTML and CSS file: what a cache entry keeps, so a warm build need not scan again."
    return {name: list(outside_loads(name, data)) for name, data in files.items() if name.endswith((".html", ".css"))}


def audit(posts, files, folder: Path, offline: bool, warn: Callable[[str], None], known: dict | None = None,
          rendered: bool = False, indexed: bool = True) -> None:  # fmt: skip
    """Check the site written to `folder` (files: site path -> bytes, with `.owner` of each path).
    `known`: outside loads found in files when they were rendered; `rendered`: each post's own files were
    checked for leaks when rendered (see `own_leaks`); `indexed`: the search index is new, so check it."""
    found = index_leaks(posts, folder) if rendered else leaks(posts, files, folder)
    for post, name, line in found if indexed or not rendered else []:
        raise BuildError(post.path, f"a hidden line appears in {name}: {line!r}")
    known = known or {}
    for name, data in files.items():
        if not name.endswith((".html", ".css")):
            continue
        for url in known[name] if name in known else outside_loads(name, content(data)):
            source = files.owner.get(name, name) if hasattr(files, "owner") else name
            message = f"{name} loads {url} from another host"
            if offline:
                raise BuildError(source, f"{message}, and offline: true is set")
            warn(f"{source}: {message}")
