"""Stage 1, read: one reader per file kind, registered by extension (as Pelican does).

Each reader turns a source file into a `Post`: front matter parsed and checked,
date and slug taken from the `YYYY-MM-DD-slug` file name, and the body (a
notebook node or markdown text) kept for the later stages. Every error names the file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import frontmatter
import nbformat
import yaml

from lib.blog.errors import BuildError

# fastpages' front-matter keys, plus Quarto's `description`/`date` spellings.
KNOWN_KEYS = {
    "title", "summary", "description", "toc", "badges", "comments", "categories", "image", "hide",
    "search_exclude", "author", "permalink", "sticky_rank", "branch", "layout", "use_math",
    "hide_github_badge", "hide_colab_badge", "hide_binder_badge", "solutions", "colab_student",
}  # fmt: skip
# Keys read elsewhere (layout, use_math) or by later stages; accepted but not Post fields.
POST_KEYS = KNOWN_KEYS - {"description", "layout", "use_math"}
SOLUTIONS = ("hidden", "collapsed", "shown")
NAME = re.compile(r"^(\d{4}-\d{2}-\d{2})-(.+)$")


@dataclass
class Post:
    path: Path
    kind: str
    slug: str
    date: date
    title: str
    summary: str = ""
    categories: list[str] = field(default_factory=list)
    toc: bool = False
    badges: bool = True
    comments: bool = False
    hide: bool = False
    search_exclude: bool = False
    image: str = ""
    author: str = ""
    permalink: str = ""
    sticky_rank: int | None = None
    branch: str = ""
    hide_github_badge: bool = False
    hide_colab_badge: bool = False
    hide_binder_badge: bool = False
    solutions: str = "hidden"  # how the post shows exercise answers: hidden, collapsed or shown
    colab_student: bool = False  # the Colab badge opens the student notebook
    warnings: list[str] = field(default_factory=list)
    linked_images: list[Path] = field(default_factory=list)  # filled in by the render stage
    nb: nbformat.NotebookNode | None = None
    text: str = ""

    @property
    def url(self) -> str:
        "Site-relative URL, without the baseurl."
        if self.permalink:
            return "/" + self.permalink.strip("/") + ("/" if self.permalink.endswith("/") else "")
        return f"/{self.date:%Y/%m/%d}/{self.slug}.html"


def date_and_slug(path: Path) -> tuple[date, str]:
    m = NAME.match(path.stem)
    if not m:
        raise BuildError(path, "file name must start with a date, as in 2021-08-20-my-post" + path.suffix)
    try:
        return date.fromisoformat(m[1]), m[2]
    except ValueError as e:
        raise BuildError(path, f"bad date in file name: {e}") from None


def make_post(path: Path, kind: str, meta: dict, strict: bool, cell: int | None = None, **body) -> Post:
    "Check front matter `meta` and build the Post; unknown keys warn, or fail when `strict`."
    if not isinstance(meta, dict):
        raise BuildError(path, "front matter must be a mapping of keys to values", cell)
    if not str(meta.get("title") or "").strip():
        raise BuildError(path, "missing title in front matter", cell)
    unknown = sorted(set(meta) - KNOWN_KEYS)
    message = f"unknown front-matter key(s): {', '.join(unknown)}"
    if unknown and strict:
        raise BuildError(path, message, cell)
    if meta.get("solutions", "hidden") not in SOLUTIONS:
        raise BuildError(path, f"solutions: {meta['solutions']!r} is not one of {', '.join(SOLUTIONS)}", cell)
    day, slug = date_and_slug(path)
    summary = meta.get("summary", meta.get("description")) or ""
    meta = {k: v for k, v in meta.items() if k in POST_KEYS and v is not None}
    meta["summary"], cats = str(summary), meta.pop("categories", [])
    post = Post(path=path, kind=kind, slug=slug, date=day, categories=_as_list(cats), **meta, **body)
    post.warnings += [f"{path}: {message}"] if unknown else []
    return post


def _as_list(value) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [s.strip() for s in str(value).split(",")]


def read_markdown(path: Path, strict: bool = False) -> Post:
    "A `_posts/*.md` file with YAML front matter."
    try:
        meta, text = frontmatter.parse(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise BuildError(path, f"bad YAML in front matter: {e}") from None
    return make_post(path, "markdown", meta, strict, text=text)


def load_notebook(path: Path) -> nbformat.NotebookNode:
    text = path.read_text(encoding="utf-8")
    try:
        json.loads(text)  # json's own message carries the line and column of the fault
    except json.JSONDecodeError as e:
        # Cells are written in order, so counting cell starts before the fault finds its cell.
        cell = text[: e.pos].count('"cell_type"')
        raise BuildError(path, f"invalid notebook JSON: {e}", cell or None) from None
    try:
        # Schema validation costs a fraction of a second per process; the render stage
        # validates the notebooks it renders, so unchanged posts skip it.
        nb = nbformat.reader.reads(text)
        return nb if nb.nbformat == 4 else nbformat.convert(nb, 4)
    except Exception as e:
        raise BuildError(path, f"not a valid notebook: {e}") from None


FASTPAGES_LINE = re.compile(r"^-\s*([\w-]+)\s*:\s*(.*)$")


def fastpages_front_matter(path: Path, source: str) -> dict:
    """Parse fastpages' notebook front matter: `# "Title"`, `> summary`, `- key: value` lines."""
    meta: dict = {}
    for line in filter(None, map(str.strip, source.splitlines())):
        if line.startswith("# ") and "title" not in meta:
            meta["title"] = line[2:].strip().strip('"')
        elif line.startswith(">") and "summary" not in meta:
            meta["summary"] = line[1:].strip()
        elif m := FASTPAGES_LINE.match(line):
            meta[m[1]] = _yaml_value(path, m[1], m[2])
        else:
            raise BuildError(path, f"front-matter cell: cannot read line {line!r}", 1)
    return meta


def _yaml_value(path: Path, key: str, value: str):
    try:
        return yaml.safe_load(value) if value else None
    except yaml.YAMLError as e:
        raise BuildError(path, f"bad YAML for front-matter key {key!r}: {e}", 1) from None


def raw_front_matter(path: Path, source: str) -> dict:
    "Quarto style: a raw first cell holding `---`-fenced YAML."
    try:
        return yaml.safe_load(source.strip().strip("-")) or {}
    except yaml.YAMLError as e:
        raise BuildError(path, f"bad YAML in front matter: {e}", 1) from None


def read_notebook(path: Path, strict: bool = False) -> Post:
    """A `_notebooks/*.ipynb` file; its first cell holds the front matter and is not shown.

    Cells keep their positions (the front-matter cell is tagged, not cut), so every
    message can name a cell by its number in Jupyter, counting from 1.
    """
    nb = load_notebook(path)
    first = nb.cells[0] if nb.cells else None
    if first is None or first.cell_type == "code":
        raise BuildError(path, "missing title: the first cell must hold the front matter", 1)
    if first.cell_type == "raw":
        meta = raw_front_matter(path, first.source)
    else:
        meta = fastpages_front_matter(path, first.source)
    first.metadata["tags"] = [*first.metadata.get("tags", []), "remove-cell"]  # shown as the page header instead
    return make_post(path, "notebook", meta, strict, cell=1, nb=nb)


READERS: dict[str, Callable[[Path, bool], Post]] = {".ipynb": read_notebook, ".md": read_markdown}


def read_post(path: Path, strict: bool = False) -> Post:
    return READERS[path.suffix](path, strict)


def source_files(root: Path) -> list[Path]:
    "Every post source, in a stable order. Files the builder cannot read are an error, not skipped."
    files = sorted((root / "_notebooks").glob("*.ipynb")) + sorted((root / "_posts").glob("*"))
    unreadable = [p for p in files if p.suffix not in READERS and p.is_file() and not p.name.startswith(".")]
    if unreadable:
        raise BuildError(unreadable[0], f"no reader for {unreadable[0].suffix or 'files without a suffix'} files")
    return [p for p in files if p.suffix in READERS]
