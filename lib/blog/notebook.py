"""nbconvert's HTML exporter, set up for posts. Imported only when a notebook needs rendering,
since nbconvert takes a third of a second to import and a warm build renders nothing."""

from __future__ import annotations

import jinja2
from nbconvert.exporters import HTMLExporter

from lib.blog.markdown import markdown_parser, render_markdown
from lib.blog.preprocess import preprocessors
from lib.blog.render import TEMPLATES


class PostExporter(HTMLExporter):
    "nbconvert's HTML exporter with our template, and markdown cells rendered like markdown posts."

    def __init__(self, **kw):
        super().__init__(
            template_name="post",
            extra_template_basedirs=[str(TEMPLATES / "nbconvert")],
            exclude_input_prompt=True,
            exclude_output_prompt=True,
            **kw,
        )
        self.md, self.md_env = markdown_parser(), {}
        for pre in preprocessors():
            self.register_preprocessor(pre, enabled=True)

    @jinja2.pass_context
    def markdown2html(self, context, source):
        cell = context.get("cell", {})
        where = f"cell {cell.get('metadata', {}).get('number', '?')}: "
        return render_markdown(self.md, source, self.md_env, where)

    def default_filters(self):
        yield from super().default_filters()
        yield ("markdown2html", self.markdown2html)
