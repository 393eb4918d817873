"""Repairs of notebooks that nbconvert or the page would get wrong, as Preprocessors in the chain of
`preprocess.preprocessors()`. Each says what it repaired in `resources["warnings"]`.

* WidgetState: Colab's widget metadata without its state, on which nbconvert's HTML exporter fails.
* Attachments: images pasted into markdown cells, kept inside the notebook, become image files.
* MathCheck: names the cells whose math latex2mathml cannot convert (KaTeX draws it in the browser).
"""

from __future__ import annotations

import base64
import functools
import html
import re
from urllib.parse import unquote

from markdown_it import MarkdownIt
from nbconvert.preprocessors import Preprocessor

from lib.blog.markdown import use_math

WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
# Preferred first: a pasted image usually has one type, a copied one from a browser sometimes several.
IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp", "image/svg+xml")
# `![alt](attachment:name "title")`, with the line around it: an <img> alone on its line starts a raw HTML
# block, which would swallow the markdown of the lines right under it.
MARKDOWN_IMAGE = re.compile(
    r"(?P<own>^[ ]{0,3})?!\[(?P<alt>[^\]]*)\]\(\s*<?attachment:(?P<name>[^\s)>]+)>?"
    r"""(?:\s+["'](?P<title>[^"']*)["'])?\s*\)(?P<below>[ \t]*\n(?=[ \t]*\S))?""",
    re.M,
)
HTML_IMAGE = re.compile(r"""(?P<src>\bsrc\s*=\s*["']?)attachment:(?P<name>[^\s"'>]+)""", re.I)


def warn(resources: dict, message: str) -> None:
    resources.setdefault("warnings", []).append(message)


class WidgetState(Preprocessor):
    """Drop widget metadata that has no state, as Colab saves it: nbconvert's HTML exporter reads
    `metadata.widgets[WIDGET_STATE]["state"]` for every output and stops with KeyError (nbconvert#1731).
    Without a state no widget can be drawn, so the page loses nothing. The metadata is the notebook's,
    not a cell's, so this replaces `preprocess` rather than `preprocess_cell`."""

    def preprocess(self, nb, resources):
        widgets = nb.metadata.get("widgets")
        if widgets is not None and not has_state(widgets):
            del nb.metadata["widgets"]
            warn(resources, "widget metadata without state was dropped")
        return nb, resources


def has_state(widgets) -> bool:
    saved = widgets.get(WIDGET_STATE) if isinstance(widgets, dict) else None
    return isinstance(saved, dict) and isinstance(saved.get("state"), dict)


class Attachments(Preprocessor):
    """Images pasted into markdown cells (kept in the cell's `attachments`, linked as `attachment:name`)
    become files beside the output images, images/<slug>/<cell>-<name>, through `resources["outputs"]` as
    nbconvert's extractor does. A link becomes an <img> tag: markdown's image rule (`ImageAssets`) looks
    links up in the repository, where these images never were."""

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "markdown" or not cell.get("attachments"):
            return cell, resources
        number, urls = cell.metadata.get("number", index + 1), {}
        for name, bundle in cell.pop("attachments").items():
            data = image_bytes(bundle)
            if data is None:
                warn(resources, f"cell {number}: attachment {name!r} is not an image; left out")
                continue
            file = re.sub(r"[^\w.-]+", "-", name)  # a name is the user's: no folders, no odd characters
            path = f"{resources['output_files_dir']}/{number}-{file}"
            resources.setdefault("outputs", {})[path] = data
            urls[name] = f"{resources.get('image_url', '')}/{path}"
        cell.source = link_attachments(cell.source, urls)
        return cell, resources


def image_bytes(bundle: dict) -> bytes | None:
    "The file of an attachment's first image type: SVG is stored as text, the others as base64."
    kind = next((k for k in IMAGE_TYPES if k in bundle), None)
    if kind is None:
        return None
    data = "".join(bundle[kind]) if isinstance(bundle[kind], list) else bundle[kind]
    return data.encode() if kind == "image/svg+xml" else base64.b64decode(data)


def link_attachments(source: str, urls: dict[str, str]) -> str:
    "`source` with each `attachment:` link of `urls` pointing at its file."

    def image(m: re.Match) -> str:
        url = urls.get(unquote(m["name"]))
        if url is None:
            return m[0]
        title = f' title="{html.escape(m["title"])}"' if m["title"] else ""
        tag = f'<img src="{html.escape(url)}" alt="{html.escape(m["alt"])}"{title}>'
        below = m["below"] or ""
        if m["own"] is not None and below:
            below = "\n\n"  # alone on its line: a blank line under the tag keeps the next line markdown
        return (m["own"] or "") + tag + below

    def src(m: re.Match) -> str:
        url = urls.get(unquote(m["name"]))
        return m["src"] + html.escape(url) if url else m[0]

    return HTML_IMAGE.sub(src, MARKDOWN_IMAGE.sub(image, source))


class MathCheck(Preprocessor):
    """A warning for each formula of a markdown cell that latex2mathml cannot convert, naming the cell.
    The cell's page shows it all the same (KaTeX draws it; see `markdown.math_html`); this parse only
    finds it, since the page's own rendering happens in the template, where no cell number is at hand."""

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "markdown" and "$" in cell.source:
            env = {}
            math_parser().render(cell.source, env)
            for note in env.get("math_fallbacks", []):
                warn(resources, f"cell {cell.metadata.get('number', index + 1)}: {note}")
        return cell, resources


@functools.cache
def math_parser() -> MarkdownIt:
    "The posts' math rules alone: no image lookups, so a parse for warnings touches no file."
    return use_math(MarkdownIt("commonmark", {"html": True}))
