"""nbconvert's HTML exporter, set up for posts. Imported only when a notebook needs rendering,
since nbconvert takes a third of a second to import and a warm build renders nothing."""

from __future__ import annotations

import html

import jinja2
from nbconvert.exporters import HTMLExporter, SlidesExporter

from lib.blog.errors import BuildError
from lib.blog.execute import INLINE, META
from lib.blog.markdown import markdown_parser, render_markdown
from lib.blog.preprocess import preprocessors, slide_preprocessors
from lib.blog.render import TEMPLATES


class MarkdownCells:
    "Markdown cells rendered like markdown posts (markdown-it, MathML, callouts), with inline values filled in."

    md_env: dict

    @jinja2.pass_context
    def markdown2html(self, context, source):
        cell = context.get("cell", {})
        number = cell.get("metadata", {}).get("number")
        values = cell.get("metadata", {}).get(META, {}).get("inline", {})
        source = INLINE.sub(lambda m: self.inline_value(m[1], values, number), source)
        liquid = getattr(self.md_env["images"], "liquid", None)  # fastpages rendered Liquid in markdown cells
        source = liquid(source, f"cell {number}, ") if liquid else source
        return render_markdown(self.md, source, self.md_env, f"cell {number}: ")

    def inline_value(self, expr: str, values: dict, number: int | None) -> str:
        "`{python} expr` shows the value `make execute` stored for it."
        if expr not in values:
            path = self.md_env["images"].source
            raise BuildError(path, f"inline `{{python}} {expr}` has no stored value; run `make execute`", number)
        return f'<span class="inline-value">{html.escape(values[expr])}</span>'

    def default_filters(self):
        yield from super().default_filters()
        yield ("markdown2html", self.markdown2html)


class PostExporter(MarkdownCells, HTMLExporter):
    "nbconvert's HTML exporter with the post template; output images become files."

    def __init__(self, sanitize: bool = False, **kw):
        super().__init__(
            template_name="post",
            extra_template_basedirs=[str(TEMPLATES / "nbconvert")],
            extra_template_paths=[str(TEMPLATES / "nbconvert")],  # shared.html.j2
            exclude_input_prompt=True,
            exclude_output_prompt=True,
            preprocessors=preprocessors(sanitize),
            **kw,
        )
        self.md, self.md_env = markdown_parser(), {}


class DeckExporter(MarkdownCells, SlidesExporter):
    "nbconvert's reveal.js exporter, with reveal.js served from the site and nothing from a CDN."

    def __init__(self, reveal_url: str, sanitize: bool = False, **kw):
        super().__init__(
            template_name="slides",
            extra_template_basedirs=[str(TEMPLATES / "nbconvert")],
            extra_template_paths=[str(TEMPLATES / "nbconvert")],  # shared.html.j2
            reveal_url_prefix=reveal_url,
            reveal_theme="white",  # the one theme vendored, see `make vendor`
            exclude_input_prompt=True,
            exclude_output_prompt=True,
            preprocessors=slide_preprocessors(sanitize),
            **kw,
        )
        self.md, self.md_env = markdown_parser(), {}
