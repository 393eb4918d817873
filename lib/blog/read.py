"""Stage 1, read: one reader per file kind, registered by extension (as Pelican does).

Each reader turns a source file into a `Post`: front matter parsed and checked,
date and slug taken from the `YYYY-MM-DD-slug` file name, and the body (a
notebook node or markdown text) kept for the later stages. Every error names the file.
"""

from __future__ import annotations

import json
import os
import re
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields
from datetime import date
from pathlib import Path

import frontmatter
import yaml
from frontmatter.default_handlers import YAMLHandler

from lib.blog import yamlfile
from lib.blog.errors import BuildError, odd, read_text
from lib.blog.jekyll import DEFAULT_PERMALINK, UrlParts, file_date, permalink, permalink_ext, site_pattern
from lib.blog.nbfile import Node, check_cells, node, rejoin
from lib.blog.paths import check_url, url_fault, url_to_file
from lib.blog.schema import typed
from lib.blog.shape import fits

# fastpages' front-matter keys, plus Quarto's `description`/`date` spellings.
KNOWN_KEYS = {
    "title", "summary", "description", "toc", "badges", "comments", "categories", "image", "hide",
    "search_exclude", "author", "permalink", "sticky_rank", "branch", "layout", "use_math",
    "hide_github_badge", "hide_colab_badge", "hide_binder_badge", "solutions", "colab_student", "slug", "category",
    "redirect_from", "draft", "bibliography", "csl",
}  # fmt: skip
# Keys read elsewhere (layout, use_math) or by later stages, or made into other fields; accepted but not Post fields.
POST_KEYS = KNOWN_KEYS - {"description", "layout", "use_math", "slug", "category"}
TYPES = {
    **dict.fromkeys(("title", "summary", "description", "author", "permalink", "image", "branch", "layout"), str),
    **dict.fromkeys(("slug", "category", "bibliography", "csl"), str),
    **dict.fromkeys(("toc", "badges", "comments", "hide", "search_exclude", "colab_student", "use_math"), bool),
    "draft": bool,
    **dict.fromkeys(("hide_github_badge", "hide_colab_badge", "hide_binder_badge"), bool),
    "sticky_rank": int, "categories": list, "solutions": str, "redirect_from": list,
}  # fmt: skip
SOLUTIONS = ("hidden", "collapsed", "shown")
PRIVATE_KEYS = {"hide", "search_exclude", "draft"}  # a value of the wrong type for these is an error, strict or not
# A post's file name, as Jekyll's `Document::DATE_FILENAME_MATCHER` reads it: 2015-9-03-shiny.md is dated too.
NAME = re.compile(r"^([0-9]{2,4}-[0-9]{1,2}-[0-9]{1,2})-(.+)$")


@dataclass
class Post:
    path: Path
    kind: str  # notebook, markdown, html (a page written in HTML) or word
    slug: str  # the file name after its date, as Jekyll's `slug` (no trailing dots)
    date: date | None  # None for a page (from _pages/), which is not a dated post
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
    url_slug: str = ""  # front matter's `slug`: the URL's :title and :slug in place of the file name's
    sticky_rank: int | None = None
    branch: str = ""
    hide_github_badge: bool = False
    hide_colab_badge: bool = False
    hide_binder_badge: bool = False
    solutions: str = "hidden"  # how the post shows exercise answers: hidden, collapsed or shown
    colab_student: bool = False  # the Colab badge opens the student notebook
    redirect_from: list[str] = field(default_factory=list)  # old URLs that send readers here (jekyll-redirect-from)
    draft: bool = False  # built by `make serve` with a banner, listed nowhere; left out of `make site`
    bibliography: str = ""  # the post's own .bib or CSL JSON file (relative to the post), else the site's
    csl: str = ""  # the post's citation style, else the site's
    warnings: list[str] = field(default_factory=list)
    linked_images: list[Path] = field(default_factory=list)  # filled in by the render stage
    missing_images: list[str] = field(default_factory=list)  # images it links that are not there, likewise
    copied: set[str] = field(default_factory=set)  # site paths of the repository files it copies in, likewise
    linked_posts: dict[str, str] = field(default_factory=dict)  # other posts' sources it links to -> URLs
    image_url: str = ""  # `image` as a URL in the site, or a remote URL; filled in by the render stage
    secret_lines: list[str] | None = None  # lines no page may show (audit.secrets), kept by the render stage
    nb: Node | None = None  # a NotebookNode once the render stage has it
    text: str = ""
    url_pattern: str = DEFAULT_PERMALINK  # the site's `permalink`, set by the build
    files: dict[str, bytes] = field(default_factory=dict)  # site files the reader made, such as a Word post's images
    first_line: int = 0  # lines of front matter before `text`, for messages that name a line
    name: str = ""  # names the post's own files (slides, notebooks, images); set by the build, see `file_name`

    @property
    def is_page(self) -> bool:
        return self.date is None

    def notebook(self) -> Node | None:
        "The notebook, read when first needed: a post that came from the read cache has none yet."
        if self.nb is None and self.kind == "notebook":
            self.nb = read_notebook(self.path).nb
        return self.nb

    @property
    def file_name(self) -> str:
        "The post's slug, or its file's stem where another post has the same slug (`2020-04-15-LSUV`)."
        return self.name or self.slug

    @property
    def url(self) -> str:
        "Site-relative URL, without the baseurl, as Jekyll made it (the build checks it stays in the site)."
        key = (self.permalink, self.url_pattern, self.date, self.slug, self.url_slug, tuple(self.categories))
        if getattr(self, "_url", (None,))[0] != key:  # remembered: index pages ask for it thousands of times
            self._url = key, self._make_url()
        return self._url[1]

    def _make_url(self) -> str:
        if self.is_page:
            return permalink(self.permalink, UrlParts(date.min, self.slug)) if self.permalink else f"/{self.slug}.html"
        parts = UrlParts(self.date, self.url_slug or self.slug, self.categories, self.path.stem)
        return permalink(self.permalink or site_pattern(self.url_pattern), parts, self.output_ext)

    @property
    def output_ext(self) -> str:
        "The extension of the post's file, as Jekyll picks it: its own permalink's (`/feed.xml`), or .html."
        return permalink_ext(self.permalink) or ".html"

    @property
    def file(self) -> str:
        "The site file the post is written to, as Jekyll writes it."
        return url_to_file(self.url, self.output_ext)


def date_and_slug(path: Path) -> tuple[date, str]:
    "A post's date and slug from its file name, as Jekyll reads them: a slug's trailing dots are dropped."
    m = NAME.match(path.stem)
    if not m:
        raise BuildError(path, "file name must start with a date, as in 2021-08-20-my-post" + path.suffix)
    try:
        day = file_date(m[1])
    except ValueError as e:
        raise BuildError(path, f"bad date in file name: {e}") from None
    if not m[2].rstrip("."):
        raise BuildError(path, "file name has nothing after its date but dots")
    return day, m[2].rstrip(".")


def make_post(path: Path, kind: str, meta: dict, strict: bool, cell: int | None = None, **body) -> Post:
    "Check front matter `meta` and build the Post; unknown keys warn, or fail when `strict`."
    if not isinstance(meta, dict):
        raise BuildError(path, "front matter must be a mapping of keys to values", cell)
    meta, warnings = lenient_types(meta, path, strict, cell)
    if not str(meta.get("title") or "").strip():
        meta["title"] = title_of(path)
        warnings.append(odd(strict, path, f"missing title in front matter; titled {meta['title']!r}", cell))
    unknown = sorted(set(meta) - KNOWN_KEYS)
    message = f"unknown front-matter key(s): {', '.join(unknown)}"
    if unknown and strict:
        raise BuildError(path, message, cell)
    if meta.get("solutions", "hidden") not in SOLUTIONS:
        raise BuildError(path, f"solutions: {meta['solutions']!r} is not one of {', '.join(SOLUTIONS)}", cell)
    if meta.get("permalink") and url_fault(re.sub(r":[a-z_]+", "x", meta["permalink"])):  # placeholders are fine
        check_url(meta["permalink"], path, cell)
    for old in meta.get("redirect_from") or []:
        check_url("/" + old.lstrip("/"), path, cell)  # a redirect page is written there: it must stay in the site
    day, slug = (None, path.stem) if path.parent.name == "_pages" else date_and_slug(path)
    summary = meta.get("summary", meta.get("description")) or ""
    url_slug, categories = meta.get("slug") or "", categories_of(meta)
    meta = {k: v for k, v in meta.items() if k in POST_KEYS and v is not None}
    meta |= {"summary": summary, "categories": categories}
    post = Post(path=path, kind=kind, slug=slug, date=day, url_slug=url_slug, **meta, **body)
    post.warnings += warnings + ([f"{path}: {message}"] if unknown else [])
    return post


def categories_of(meta: dict) -> list[str]:
    "`categories`, then Jekyll's one-name `category`, each name once."
    one = [meta["category"]] if meta.get("category") else []
    return list(dict.fromkeys([*(meta.get("categories") or []), *one]))


def lenient_types(meta: dict, path: Path, strict: bool, cell: int | None) -> tuple[dict, list[str]]:
    """Front matter with each value converted to its key's type. A value of the wrong shape, such as `image` as a
    map (`image: {feature: a.png}`), is left out with a warning: Jekyll published the page all the same."""
    warnings = []
    for key in [k for k in TYPES if meta.get(k) is not None]:
        try:
            meta = typed(meta, {key: TYPES[key]}, path, cell)
        except BuildError as e:
            if key in PRIVATE_KEYS:
                raise  # a guess could publish a post its author meant to keep out of the index or search
            warnings.append(odd(strict, path, f"{e.message}; {key} left out", cell))
            meta = {k: v for k, v in meta.items() if k != key}
    return meta, warnings


def title_of(path: Path) -> str:
    "Jekyll's title for a post without one: the file name's slug, each word between dashes capitalised."
    slug = NAME.match(path.stem)[2] if NAME.match(path.stem) else path.stem
    return " ".join(word[:1].upper() + word[1:].lower() for word in slug.split("-") if word) or path.stem


def read_markdown(path: Path, strict: bool = False) -> Post:
    "A markdown post (`_posts/*.md`, `.markdown`) or page (`_pages/*.md`, `*.html`), with YAML front matter."
    source = read_text(path)
    try:
        meta, text = split_front_matter(source)
    except yaml.YAMLError as e:
        raise BuildError(path, f"bad YAML in front matter: {e}") from None
    first_line = source[: source.rfind(text)].count("\n") if text else 0  # so messages count lines in the file
    if path.parent.name != "_pages":
        return make_post(path, "markdown", meta, strict, text=text, first_line=first_line)
    meta.setdefault("title", path.stem.replace("-", " ").title())
    kind = "html" if path.suffix == ".html" else "markdown"
    return make_post(path, kind, meta, strict, text=text, first_line=first_line)


def load_notebook(path: Path) -> Node:
    text = read_text(path)
    try:
        nb = json.loads(text)  # json's own message carries the line and column of the fault
    except json.JSONDecodeError as e:
        # Cells are written in order, so counting cell starts before the fault finds its cell.
        cell = text[: e.pos].count('"cell_type"')
        raise BuildError(path, f"invalid notebook JSON: {e}", cell or None) from None
    if not isinstance(nb, dict):
        raise BuildError(path, "not a valid notebook: its JSON is not an object")
    if nb.get("nbformat") != 4:
        nb = older_notebook(path, text)
    # Schema validation costs a fraction of a second a notebook; the render stage validates
    # the notebooks it renders, so unchanged posts skip it.
    check_cells(path, nb)
    return stable_ids(node(rejoin(nb)))


def older_notebook(path: Path, text: str) -> dict:
    "A notebook of nbformat 3 or older, converted by nbformat to version 4."
    import nbformat

    try:
        return json.loads(nbformat.writes(nbformat.convert(nbformat.reads(text, as_version=4), 4)))
    except Exception as e:
        raise BuildError(path, f"not a valid notebook: {e}") from None


def stable_ids(nb: Node) -> Node:
    """Cells of notebooks older than nbformat 4.5 have no ids, and nbformat would make up random ones:
    number them instead, so two builds of one notebook are byte-identical."""
    if any("id" not in cell for cell in nb.cells):
        for number, cell in enumerate(nb.cells, 1):
            cell.setdefault("id", f"cell-{number}")
        nb.nbformat_minor = max(nb.get("nbformat_minor", 0), 5)
    return nb


FASTPAGES_LINE = re.compile(r"^-\s*([\w-]+)\s*:\s*(.*)$")


def fastpages_front_matter(path: Path, source: str) -> dict:
    """Parse fastpages' notebook front matter: `# "Title"`, `> summary`, `- key: value` lines.
    Other lines were ignored by fastpages; here each is a warning, so a typo does not pass unseen."""
    meta: dict = {"_ignored": []}
    for line in filter(None, map(str.strip, source.splitlines())):
        if line.startswith("# ") and "title" not in meta:
            meta["title"] = unquote_text(line[2:])
        elif line.startswith(">") and "summary" not in meta:
            meta["summary"] = unquote_text(line[1:])
        elif m := FASTPAGES_LINE.match(line):
            meta[m[1]] = _yaml_value(path, m[1], m[2])
        else:
            meta["_ignored"].append(line)
    return meta


def unquote_text(text: str) -> str:
    '`"A title"` is `A title`, as fastpages read it.'
    text = text.strip()
    return text[1:-1] if len(text) > 1 and text[0] == text[-1] and text[0] in "\"'" else text


def safe_yaml(text: str):
    "yaml.safe_load, bounded (see yamlfile), with libyaml's parser where PyYAML has it: 4 times quicker."
    return yamlfile.load(text)


class FrontMatterYAML(YAMLHandler):
    "python-frontmatter's YAML front matter, read by `safe_yaml`."

    def load(self, fm: str, **kwargs):
        return safe_yaml(fm)


def split_front_matter(source: str) -> tuple[dict, str]:
    "python-frontmatter's (metadata, text) of a markdown file; YAML front matter is read by `safe_yaml`."
    yaml_front = isinstance(frontmatter.detect_format(source.strip(), frontmatter.handlers), YAMLHandler)
    return frontmatter.parse(source, handler=FrontMatterYAML() if yaml_front else None)


def _yaml_value(path: Path, key: str, value: str):
    try:
        return safe_yaml(value) if value else None
    except yaml.YAMLError as e:
        raise BuildError(path, f"bad YAML for front-matter key {key!r}: {e}", 1) from None


def raw_front_matter(path: Path, source: str) -> dict:
    "Quarto style: a raw first cell holding `---`-fenced YAML."
    try:
        return safe_yaml(source.strip().strip("-")) or {}
    except yaml.YAMLError as e:
        raise BuildError(path, f"bad YAML in front matter: {e}", 1) from None


def read_notebook(path: Path, strict: bool = False) -> Post:
    """A `_notebooks/*.ipynb` file; its first cell holds the front matter and is not shown.

    Cells keep their positions (the front-matter cell is tagged, not cut), so every
    message can name a cell by its number in Jupyter, counting from 1.
    """
    nb = load_notebook(path)
    at, warnings = front_matter_cell(path, nb.cells, strict)
    first = nb.cells[at] if at is not None else None
    if first is None:
        meta = {"title": title_of(path)}  # as make_post titles a post without one; the warning is given
    elif first.cell_type == "raw":
        meta = raw_front_matter(path, first.source)
    else:
        meta = fastpages_front_matter(path, first.source)
    ignored = meta.pop("_ignored", [])
    if first is not None:
        first.metadata["tags"] = [*first.metadata.get("tags", []), "remove-cell"]  # shown as the page header
    cell = (at or 0) + 1
    post = make_post(path, "notebook", meta, strict, cell=cell, nb=nb)
    post.warnings += warnings + [f"{path}, cell {cell}: front-matter line {line!r} ignored" for line in ignored]
    return post


TITLE_CELL = re.compile(r"^\s*#\s+\S")
KEY_LINE = re.compile(r"^\s*-\s*[\w-]+\s*:", re.M)


def front_matter_cell(path: Path, cells: list, strict: bool) -> tuple[int | None, list[str]]:
    """Which cell holds the front matter: the first, when it is raw YAML or a fastpages markdown cell. Otherwise,
    as fastpages' converter read it, the first markdown cell that opens with a `# Title` (after an empty cell or a
    Colab badge, say), with a warning; None, with a warning, when no cell has a title."""
    first = cells[0] if cells else None
    if first is not None and (first.cell_type == "raw" or TITLE_CELL.match(first.source)):
        return 0, []
    found = next((i for i, c in enumerate(cells) if c.cell_type == "markdown" and TITLE_CELL.match(c.source)), None)
    if found is None:
        if first is not None and first.cell_type == "markdown" and KEY_LINE.search(first.source):
            return 0, []  # front matter without a title: make_post names what is missing
        why = f"no cell holds front matter (a markdown cell opening with `# Title`); titled {title_of(path)!r}"
        return None, [odd(strict, path, why, 1)]
    return found, [odd(strict, path, f"front matter is in cell {found + 1}, not the first", found + 1)]


def read_docx(path: Path, strict: bool = False) -> Post:
    "A Word post (`_word/*.docx`), converted by mammoth; its images are files of the post."
    from lib.blog.word import read_word

    post, post.files = read_word(path, strict, baseurl="{{ site.baseurl }}")  # Liquid fills the baseurl in
    return post


READERS: dict[str, Callable[[Path, bool], Post]] = {
    ".ipynb": read_notebook, ".md": read_markdown, ".markdown": read_markdown, ".html": read_markdown,
    ".docx": read_docx,
}  # fmt: skip
FOLDERS = {
    "_notebooks": (".ipynb",), "_posts": (".md", ".markdown"), "_pages": (".md", ".markdown", ".html"),
    "_word": (".docx",),
}  # fmt: skip


def read_post(path: Path, strict: bool = False) -> Post:
    return READERS[path.suffix](path, strict)


# What the read cache keeps of a post: everything a reader sets, less the notebook (read again when a post
# must be rendered) and what the render stage fills in. Word posts carry image bytes and are not kept.
RENDERED = ("nb", "files", "linked_images", "missing_images", "copied", "linked_posts", "image_url", "secret_lines")
KEPT = [f.name for f in fields(Post) if f.name not in RENDERED]


def post_fields(post: Post) -> dict | None:
    "The post as JSON-ready data for the read cache, or None for a post it does not keep."
    if post.kind == "word":
        return None
    found = {name: getattr(post, name) for name in KEPT}
    return found | {"path": str(post.path), "date": post.date.isoformat() if post.date else None}


def kept_shape() -> dict:
    "The shape of `post_fields`, from the Post's own field types: the read cache's entries are checked against it."
    hints = typing.get_type_hints(Post)
    return {name: hints[name] for name in KEPT} | {"path": str, "date": str | None}


KEPT_SHAPE = kept_shape()


def post_from_fields(found, path: Path) -> Post | None:
    """The post the read cache kept for `path`, or None when what it kept is not `post_fields` of a post read from
    that file (a cache is outside data: it could hold anything)."""
    if not fits(found, KEPT_SHAPE) or found["path"] != str(path):
        return None
    if found["kind"] != ("notebook" if path.suffix == ".ipynb" else "html" if path.suffix == ".html" else "markdown"):
        return None  # the kind its reader gives a file of that name
    try:
        day = date.fromisoformat(found["date"]) if found["date"] else None
    except ValueError:
        return None
    return Post(**(found | {"path": path, "date": day}))


def source_files(root: Path, strict: bool = False) -> tuple[list[Path], list[str]]:
    """Every post and page source, in a stable order, and a warning for the files Jekyll skipped too
    (README.md, files without a date, files no reader handles in `_posts/`). A source linking out of the
    repository is an error; so, with `strict`, is a file the builder skips (markdown among the notebooks,
    a PDF among the posts). Other files of `_pages/` are copied as they are (`static_files`)."""
    found = {
        "_notebooks": [p for p in (root / "_notebooks").glob("*") if not p.name.startswith((".", "_"))],
        "_posts": list(visible_files(root / "_posts")),
        "_pages": [p for p in (root / "_pages").glob("*") if not p.name.startswith(".")],
        "_word": [p for p in (root / "_word").glob("*") if not p.name.startswith((".", "~$"))],
    }
    files, skipped, unread = [], [], []
    for folder, paths in found.items():
        for path in sorted(paths):
            refuse(path, root)
            dated = folder == "_pages" or NAME.match(path.stem)
            if path.suffix in FOLDERS[folder] and dated:
                files.append(path)
            elif path.suffix in FOLDERS[folder] or path.name.lower() == "readme.md":
                skipped.append(path.relative_to(root).as_posix())
            elif not_read(path, folder):
                unread.append(path)
    message = f"skipped {len(skipped)} file(s) without a date in the name, as Jekyll does: {', '.join(skipped)}"
    return files, ([message] if skipped else []) + unread_warning(root, unread, strict)


POST_DATA = (".bib", ".csl")  # a post's bibliography and citation style (cite.py): read with the post, no warning


def not_read(path: Path, folder: str) -> bool:
    "Whether a file among the posts is one the builder skips, as Jekyll and fastpages skipped it."
    markdown_post = path.suffix in (".md", ".markdown") and NAME.match(path.stem)
    among_posts = folder in ("_posts", "_word") and path.is_file() and path.suffix.lower() not in POST_DATA
    return folder == "_notebooks" and bool(markdown_post) or among_posts


def unread_warning(root: Path, paths: list[Path], strict: bool) -> list[str]:
    "One warning for every file skipped among the posts; with `strict`, an error naming the first."
    if not paths:
        return []
    names = ", ".join(p.relative_to(root).as_posix() for p in paths)
    why = "no reader handles them there (markdown posts belong in _posts/, notebooks in _notebooks/)"
    return [odd(strict, paths[0], f"skipped {len(paths)} file(s), as Jekyll and fastpages did, since {why}: {names}")]


def static_files(root: Path) -> dict[str, Path]:
    """Files of `_pages/` that are not pages (a PDF, an image): copied to `_pages/<name>`, where Jekyll copied
    them for fastpages (its `_config.yml` includes `_pages`)."""
    folder = root / "_pages"
    found = sorted(p for p in visible_files(folder, hidden_only=True) if p.suffix not in FOLDERS["_pages"])
    for path in found:
        refuse(path, root)
    return {path.relative_to(root).as_posix(): path for path in found}


def visible_files(folder: Path, hidden_only: bool = False) -> Iterator[Path]:
    """Files under `folder`, as Jekyll reads `_posts`: none whose name, or a folder's on the way, starts with . or _
    (with `hidden_only`, only . counts)."""
    skip = "." if hidden_only else (".", "_")
    for top, folders, names in os.walk(folder):
        folders[:] = [f for f in folders if not f.startswith(skip)]  # links to folders are not followed
        yield from (Path(top, name) for name in names if not name.startswith(skip))


def refuse(path: Path, root: Path) -> None:
    "Raise for a source the build must not follow: a link out of the repository."
    if path.is_symlink() and path.exists() and not path.resolve().is_relative_to(root.resolve()):
        raise BuildError(path, f"is a link to {path.resolve()}, outside the repository")
