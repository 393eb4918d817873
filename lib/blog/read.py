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

from lib.blog.errors import BuildError, read_text
from lib.blog.nbfile import check_cells
from lib.blog.paths import check_url
from lib.blog.schema import typed

# fastpages' front-matter keys, plus Quarto's `description`/`date` spellings.
KNOWN_KEYS = {
    "title", "summary", "description", "toc", "badges", "comments", "categories", "image", "hide",
    "search_exclude", "author", "permalink", "sticky_rank", "branch", "layout", "use_math",
    "hide_github_badge", "hide_colab_badge", "hide_binder_badge", "solutions", "colab_student",
}  # fmt: skip
# Keys read elsewhere (layout, use_math) or by later stages; accepted but not Post fields.
POST_KEYS = KNOWN_KEYS - {"description", "layout", "use_math"}
TYPES = {
    **dict.fromkeys(("title", "summary", "description", "author", "permalink", "image", "branch", "layout"), str),
    **dict.fromkeys(("toc", "badges", "comments", "hide", "search_exclude", "colab_student", "use_math"), bool),
    **dict.fromkeys(("hide_github_badge", "hide_colab_badge", "hide_binder_badge"), bool),
    "sticky_rank": int, "categories": list, "solutions": str,
}  # fmt: skip
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
    image_url: str = ""  # `image` as a URL in the site, or a remote URL; filled in by the render stage
    nb: nbformat.NotebookNode | None = None
    text: str = ""

    @property
    def url(self) -> str:
        "Site-relative URL, without the baseurl (the permalink was checked by `make_post`)."
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
    meta = typed(meta, TYPES, path, cell)
    if not str(meta.get("title") or "").strip():
        raise BuildError(path, "missing title in front matter", cell)
    unknown = sorted(set(meta) - KNOWN_KEYS)
    message = f"unknown front-matter key(s): {', '.join(unknown)}"
    if unknown and strict:
        raise BuildError(path, message, cell)
    if meta.get("solutions", "hidden") not in SOLUTIONS:
        raise BuildError(path, f"solutions: {meta['solutions']!r} is not one of {', '.join(SOLUTIONS)}", cell)
    if meta.get("permalink"):
        check_url(meta["permalink"], path, cell)
    day, slug = date_and_slug(path)
    summary = meta.get("summary", meta.get("description")) or ""
    meta = {k: v for k, v in meta.items() if k in POST_KEYS and v is not None}
    meta["summary"] = summary
    post = Post(path=path, kind=kind, slug=slug, date=day, **meta, **body)
    post.warnings += [f"{path}: {message}"] if unknown else []
    return post


def read_markdown(path: Path, strict: bool = False) -> Post:
    "A `_posts/*.md` file with YAML front matter."
    try:
        meta, text = frontmatter.parse(read_text(path))
    except yaml.YAMLError as e:
        raise BuildError(path, f"bad YAML in front matter: {e}") from None
    return make_post(path, "markdown", meta, strict, text=text)


def load_notebook(path: Path) -> nbformat.NotebookNode:
    text = read_text(path)
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
        nb = nb if nb.nbformat == 4 else nbformat.convert(nb, 4)
    except Exception as e:
        raise BuildError(path, f"not a valid notebook: {e}") from None
    check_cells(path, nb)
    return nb


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
    """Every post source, in a stable order. A file the builder would not read is an error, not skipped:
    a markdown file among the notebooks, a post in a subfolder, a source that links out of the repository."""
    notebooks = sorted(p for p in (root / "_notebooks").glob("*") if not p.name.startswith((".", "_")))
    posts = sorted(p for p in (root / "_posts").glob("*") if not p.name.startswith("."))
    for path in notebooks + posts:
        refuse(path, root)
    return [p for p in notebooks if p.suffix == ".ipynb"] + posts


def refuse(path: Path, root: Path) -> None:
    "Raise for a source the build must not silently skip or follow."
    if path.is_symlink() and path.exists() and not path.resolve().is_relative_to(root.resolve()):
        raise BuildError(path, f"is a link to {path.resolve()}, outside the repository")
    if path.parent.name == "_notebooks" and path.suffix in (".md", ".markdown"):
        raise BuildError(path, "markdown posts belong in _posts/; _notebooks/ holds notebooks")
    if path.parent.name == "_posts" and path.is_dir() and not path.suffix:
        raise BuildError(path, "posts in subfolders of _posts/ are not read yet; move them up into _posts/")
    if path.parent.name == "_posts" and path.suffix not in READERS:
        raise BuildError(path, f"no reader for {path.suffix or 'files without a suffix'} files")
