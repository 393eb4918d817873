"""nbconvert's HTML exporter, set up for posts. Imported only when a notebook needs rendering,
since nbconvert takes a third of a second to import and a warm build renders nothing."""

from __future__ import annotations

import functools
import html
import re
import warnings
from pathlib import Path

import jinja2
from nbconvert.exporters import HTMLExporter, SlidesExporter, TemplateExporter
from nbconvert.filters.highlight import Highlight2HTML
from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter
from nbformat.notebooknode import NotebookNode
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import TextLexer, get_lexer_by_name
from pygments.util import ClassNotFound

from lib.blog.errors import BuildError
from lib.blog.execute import META
from lib.blog.inline import QUARTO, WRITTEN
from lib.blog.markdown import markdown_parser, render_markdown
from lib.blog.nbfile import json_copy
from lib.blog.preprocess import clean_liquid_output, preprocessors, slide_preprocessors
from lib.blog.render import TEMPLATES


class MarkdownCells:
    "Markdown cells rendered like markdown posts (markdown-it, MathML, callouts), with inline values filled in."

    md_env: dict
    sanitize = False  # the notebook is untrusted (`sanitize_outputs`)

    @jinja2.pass_context
    def markdown2html(self, context, source):
        "Each cell once a post: its slides show the cell as its page did (same source, same images, same values)."
        cell = context.get("cell", {})
        number = cell.get("metadata", {}).get("number")
        values = cell.get("metadata", {}).get(META, {}).get("inline", {})
        key, done = (source, number, tuple(sorted(values.items()))), self.md_env["images"].cells
        if key not in done:
            done[key] = self.render_cell(source, number, values)
        return done[key]

    def render_cell(self, source: str, number: int | None, values: dict) -> str:
        source = WRITTEN.sub(r'<span class="inline-value">\2</span>', source)  # the comment, and the expression, go
        source = QUARTO.sub(lambda m: self.inline_value(m[1], values, number), source)
        liquid = getattr(self.md_env["images"], "liquid", None)  # fastpages rendered Liquid in markdown cells
        rendered = liquid(source, number, self.sanitize) if liquid else source
        # The cell was cleaned before Liquid ran (SanitizeOutputs); what Liquid made of it is cleaned too.
        source = clean_liquid_output(rendered) if self.sanitize and rendered != source else rendered
        return render_markdown(self.md, source, self.md_env, f"cell {number}: ")

    def inline_value(self, expr: str, values: dict, number: int | None) -> str:
        "`{python} expr`, not yet written into the cell by `make execute`, shows the value it stored."
        if expr not in values:
            path = self.md_env["images"].source
            raise BuildError(path, f"inline `{{python}} {expr}` has no stored value; run `make execute`", number)
        return f'<span class="inline-value">{html.escape(values[expr])}</span>'

    def default_filters(self):
        yield from super().default_filters()
        yield ("markdown2html", self.markdown2html)


class Highlight(Highlight2HTML):
    """nbconvert's code highlighting, byte for byte, with one lexer and one formatter per language where nbconvert
    makes new ones for every cell (half its cost), and each cell highlighted once per post (`done`): a post's slides
    show the same cells as its page."""

    def __init__(self, done: dict, **kw):
        super().__init__(**kw)
        self.done = done

    def __call__(self, source, language=None, metadata=None):
        language = language or self.pygments_lexer
        magic = (metadata or {}).get("magics_language") if language.startswith("ipython") else None
        lexer = magic or language
        if lexer == "ipython3" and not IPYTHON_ONLY.search(source):
            lexer = "python3"  # the same tokens, in half the time
        key = (source, language, lexer)
        if key not in self.done:
            self.done[key] = highlight(source or " ", cell_lexer(lexer), cell_formatter(language))
        return self.done[key]


# IPython's lexer is Python 3's with rules for magics, shell escapes and help tried first at every token, and
# each of those rules needs a `%`, `!` or `?`: on a cell with none, Python 3's lexer gives the same tokens.
IPYTHON_ONLY = re.compile(r"[%!?]")


@functools.lru_cache(maxsize=64)
def cell_lexer(language: str):
    "The lexer nbconvert's `_pygments_highlight` picks for `language`, made once a process."
    if language in ("ipython2", "ipython3"):
        try:
            from IPython.lib.lexers import IPython3Lexer, IPythonLexer
        except ModuleNotFoundError:
            language = language.replace("ipython", "python")
        else:
            return IPython3Lexer() if language == "ipython3" else IPythonLexer()
    try:
        return get_lexer_by_name(language)
    except ClassNotFound:
        warnings.warn(f"No lexer found for language {language!r}. Treating as plain text.", stacklevel=2)
        return TextLexer()


@functools.lru_cache(maxsize=64)
def cell_formatter(language: str) -> HtmlFormatter:
    "nbconvert's formatter for `language`: making one builds its whole stylesheet, which it never uses here."
    return HtmlFormatter(cssclass=html.escape(f" highlight hl-{language}"))


class CompiledTemplates(jinja2.BytecodeCache):
    """nbconvert's templates compiled once a process, in memory, for every exporter. A process forked after `warm`
    compiles none: the workers of a cold build. Never on disk: nothing a build reads from a cache is run."""

    def __init__(self):
        self.code: dict[str, bytes] = {}

    def load_bytecode(self, bucket):
        if bucket.key in self.code:
            bucket.bytecode_from_string(self.code[bucket.key])  # Jinja checks it against the template's checksum

    def dump_bytecode(self, bucket):
        self.code[bucket.key] = bucket.bytecode_to_string()


COMPILED = CompiledTemplates()


class Copied(NotebookNode):
    "A notebook that nbconvert's deep copies (one an export, and the reveal preprocessor's) copy quickly."

    def __deepcopy__(self, memo):
        return Copied(json_copy(self))


class Faster:
    """HTMLExporter's own steps, less those that cost most of a build and do nothing here: its final
    BeautifulSoup pass (it gives images without alt text a stock one, and makes JupyterLab cells
    focusable; every image has alt text here), a schema validation after every preprocessor and the
    normalizing before them (the render stage validates each notebook once, before export), and two
    of its three deep copies of the notebook (a third of a notebook's render). The copies nbconvert still
    makes are of a `Copied` notebook: a tenth of their cost."""

    def from_notebook_node(self, nb, resources=None, **kw):
        lang = nb.metadata.get("language_info", {})
        lexer = lang.get("pygments_lexer", lang.get("name"))
        self.register_filter("highlight_code", Highlight(self.md_env["images"].code, pygments_lexer=lexer))
        resources = self._init_resources(resources)
        widgets = WidgetsDataTypeFilter(notebook_metadata=self._nb_metadata, parent=self, resources=resources)
        self.register_filter("filter_data_type", widgets)
        return TemplateExporter.from_notebook_node(self, Copied(nb), resources, **kw)

    def _create_environment(self):
        environment = super()._create_environment()
        environment.bytecode_cache = COMPILED
        return environment

    def _preprocess(self, nb, resources):
        "The preprocessors, on the copy `from_notebook_node` made: nbconvert copies it again, then normalizes a copy."
        for preprocessor in self._preprocessors:
            nb, resources = preprocessor(nb, resources)
        return nb, resources


class PostExporter(Faster, MarkdownCells, HTMLExporter):
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
        self.md, self.md_env, self.sanitize = markdown_parser(), {}, sanitize


class DeckExporter(Faster, MarkdownCells, SlidesExporter):
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
        self.md, self.md_env, self.sanitize = markdown_parser(), {}, sanitize


def warm() -> None:
    """What any process's first notebook does once, done ahead: the templates compiled (into COMPILED), the lexers'
    rules and the notebook schema's validator built. Run by the forkserver of a cold build (see lib/blog/warm.py)."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

    from lib.blog.markdown import ImageAssets

    result = new_output("execute_result", {"text/plain": "2", "text/html": "<b>2</b>"}, execution_count=1)
    printed = new_output("stream", name="stdout", text="2\n")
    code = new_code_cell("1 + 1", outputs=[result, printed], execution_count=1)
    magic = new_code_cell("%time 1 + 1")  # IPython's lexer, the other cell Python's
    language = {"language_info": {"name": "python", "pygments_lexer": "ipython3"}}
    nb = new_notebook(cells=[new_markdown_cell("# A\n\nSome *text*."), code, magic], metadata=language)
    nbformat.validate(nb)
    source = Path("warm.ipynb")
    resources = {"unique_key": "warm", "output_files_dir": "images/warm", "image_url": "", "source": source}
    for exporter in PostExporter(), DeckExporter("/assets/reveal"):
        exporter.md_env = {"images": ImageAssets(source, Path("."), "", "warm")}
        exporter.from_notebook_node(nb, resources | {"outputs": {}, "solutions": "hidden"})
