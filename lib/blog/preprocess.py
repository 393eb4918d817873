"""Stage 2, preprocess: flags become cell tags (see `flags.py`), then nbconvert acts on the tags.

The chain: WidgetState (see `repair.py`), OutputLimits, SlideFlags (slide flags and speaker notes),
FlagPreprocessor (flags and solutions to tags), nbconvert's TagRemovePreprocessor (speaker notes too, except
in slides), nbconvert's SanitizeHTML (with `sanitize_outputs: true`), LocalScripts (CDN scripts to the site's
copies, see `vendor.py`), AltTextPreprocessor, Attachments and MathCheck (`repair.py`), nbconvert's
ExtractOutputPreprocessor. Slides add SlidePreprocessor and TruncateOutputs.
"""

from __future__ import annotations

import json
import re
from urllib.parse import quote

from nbconvert.preprocessors import ExtractOutputPreprocessor, Preprocessor, TagRemovePreprocessor
from nbconvert.preprocessors.sanitize import SanitizeHTML

from lib.blog.errors import BuildError
from lib.blog.flags import (
    SLIDE_FLAGS,
    SOLUTION_TAGS,
    first_code_line,
    flag_kind,
    markdown_solution,
    parse_flags,
    slide_flags,
    slideshow_type,
    without_first_line,
)
from lib.blog.jekyll import web_url
from lib.blog.repair import Attachments, MathCheck, WidgetState
from lib.blog.vendor import LocalScripts

MB = 1024 * 1024
# One output above WARN_SIZE is worth a warning (a page that heavy is slow to read); above
# MAX_SIZE it is an error, since it would also stall the search indexer and every reader's browser.
WARN_SIZE, MAX_SIZE = 5 * MB, 50 * MB


class OutputLimits(Preprocessor):
    "Warn about an output over WARN_SIZE bytes; stop the build for one over MAX_SIZE."

    def preprocess_cell(self, cell, resources, index):
        for output in cell.get("outputs", []):
            size = len(json.dumps(output.get("data", output.get("text", ""))))
            if size > MAX_SIZE:
                message = f"an output of {size / MB:.0f} MB is over the limit of {MAX_SIZE // MB} MB"
                raise BuildError(resources.get("source", "notebook"), message, index + 1)
            if size > WARN_SIZE:
                warning = f"cell {index + 1}: an output of {size / MB:.1f} MB makes a heavy page"
                resources.setdefault("warnings", []).append(warning)
        return cell, resources


# A cell's slide flag, as nbconvert's slideshow type: `#| slide: true` starts a slide, `#| slide: sub` a sub-slide
# below the current one, `#| slide: false` leaves the cell out of the slides (not out of the post), `#| fragment`
# shows the cell on the next key press, and `#| notes` makes a markdown cell the presenter's speaker notes.
class SlideFlags(Preprocessor):
    """Read a cell's slide flag into `metadata.slide_flag` (it wins over the cell's slideshow metadata) and take
    its line out. Speaker notes, flagged or of slideshow type `notes`, are tagged `notes`: they are for the
    presenter, so the post page (and with it the search index) leaves them out, and only the slides show them."""

    def preprocess_cell(self, cell, resources, index):
        found, cell.source = slide_flags(cell.source, cell.cell_type == "code")
        for name, value in (f for f in found if f not in SLIDE_FLAGS):
            resources.setdefault("warnings", []).append(f"cell {index + 1}: unknown flag '#| {name}: {value}'")
        kind = flag_kind(found)
        if kind:
            cell.metadata["slide_flag"] = kind
        if (kind or slideshow_type(cell)) == "notes":
            cell.metadata["tags"] = sorted({*cell.metadata.get("tags", []), "notes"})
        return cell, resources


class FlagPreprocessor(Preprocessor):
    "Turn flag lines into tags and strip them from the code; note unknown flags in `resources['warnings']`."

    def preprocess_cell(self, cell, resources, index):
        cell.metadata["number"] = index + 1  # for messages about this cell
        if cell.cell_type == "markdown" and markdown_solution(cell):
            cell.source = without_first_line(cell.source) if cell.source.lstrip().startswith("#") else cell.source
            tags = SOLUTION_TAGS[resources.get("solutions", "hidden")]
            cell.metadata["tags"] = sorted(set(cell.metadata.get("tags", [])) | tags | {"solution"})
        if cell.cell_type != "code":
            return cell, resources
        tags, directives, unknown, cell.source = parse_flags(cell.source)
        tags = set(cell.metadata.get("tags", [])) | set(tags)
        if "solution" in tags:
            tags |= SOLUTION_TAGS[resources.get("solutions", "hidden")]
        cell.metadata["tags"] = sorted(tags)
        if "fig-alt" in directives:
            cell.metadata["fig_alt"] = directives["fig-alt"]
        if re.fullmatch(r"(fig|tbl)-[\w-]*\w", label := directives.get("label", "")):
            # Quarto's labelled output: a numbered figure or table that `@label` refers to (xref.py numbers it)
            caption = directives.get(f"{label[:3]}-cap", "").strip().strip("\"'")
            cell.metadata["xref"] = {"label": label, "caption": caption}
        for line in unknown:
            resources.setdefault("warnings", []).append(f"cell {index + 1}: unknown flag {line!r}")
        return cell, resources


class SanitizeOutputs(SanitizeHTML):
    """nbconvert's sanitizer (bleach) with the tags tables and text outputs need, such as pandas'
    tables; script, event handlers, JavaScript and SVG outputs go. An output left empty is dropped."""

    tags = {
        *"a abbr b blockquote br caption code col colgroup dd del div dl dt em h1 h2 h3 h4 h5 h6 hr i img".split(),
        *"ins kbd li ol p pre q s small span strong sub sup table tbody td tfoot th thead tr u ul".split(),
    }
    attributes = {"*": ["class", "title", "align"], "a": ["href"], "img": ["src", "alt", "width", "height"],
                  "td": ["colspan", "rowspan"], "th": ["colspan", "rowspan", "scope"]}  # fmt: skip

    def preprocess_cell(self, cell, resources, index):
        cell, resources = super().preprocess_cell(cell, resources, index)
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs if o.output_type in ("stream", "error") or o.get("data")]
        return cell, resources


# What this site's includes and Liquid tags write, besides what SanitizeOutputs keeps: figures, click-to-load
# cards and footnotes. An address is kept only when it is http(s) or relative: embed.js loads `data-load`.
LIQUID_TAGS = SanitizeOutputs.tags | {"figure", "figcaption", "button"}
LIQUID_ATTRIBUTES = {"a": {"rel", "aria-label"}, "button": {"type", "data-load"}, "sup": {"id"}, "p": {"id"},
                     "figure": {"style"}}  # fmt: skip
URL_ATTRIBUTES = {"href", "src", "data-load"}


def _allowed(tag: str, name: str, value: str) -> bool:
    kept = {*SanitizeOutputs.attributes["*"], *SanitizeOutputs.attributes.get(tag, ()), *LIQUID_ATTRIBUTES.get(tag, ())}
    return name in kept and (name not in URL_ATTRIBUTES or web_url(value))


def clean_liquid_output(text: str) -> str:
    """An untrusted notebook's markdown cell after Liquid, cleaned as the cell was before it: a filter (`url_decode`)
    or an include could otherwise write the script SanitizeOutputs took out."""
    import bleach
    from bleach.css_sanitizer import CSSSanitizer

    css = CSSSanitizer(allowed_css_properties=["max-width"])  # the image include's only style
    text = BRACKETED.sub(lambda m: "](" + quote(m[1], safe="/:?#[]@!$&'*+,;=%~") + ")", text)
    return bleach.clean(text, tags=LIQUID_TAGS, attributes=_allowed, css_sanitizer=css, strip_comments=True)


# A markdown link's address in angle brackets, as the image includes write it (`](<my chart.png>)`): bleach would
# read it as a tag. Percent-encoded instead, as markdown itself encodes it, it needs no brackets.
BRACKETED = re.compile(r"\]\(<([^<>\n]*)>\)")


class AltTextPreprocessor(Preprocessor):
    "Give every output image alt text: the cell's `#| fig-alt:`, else a description of the code that drew it."

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        default = cell.metadata.get("fig_alt") or _describe(cell.source, cell.metadata.get("number", index + 1))
        for output in cell.get("outputs", []):
            output.setdefault("metadata", {})["alt"] = default
        return cell, resources


def _describe(source: str, number: int) -> str:
    first = first_code_line(source)
    return f"Figure from cell {number}: {first}" if first else f"Figure from cell {number}"


def preprocessors(sanitize: bool = False, notes: bool = False) -> list[Preprocessor]:
    """The chain, in order. Removal runs before extraction, so hidden images are never written.
    `sanitize`: notebooks are untrusted; HTML and markdown are cleaned, script and SVG outputs dropped.
    `notes`: keep speaker notes (the slides do; the post does not)."""
    return [
        WidgetState(),
        OutputLimits(),
        SlideFlags(),
        FlagPreprocessor(),
        TagRemovePreprocessor(
            remove_cell_tags={"remove-cell"} if notes else {"remove-cell", "notes"},
            remove_input_tags={"remove-input"},
            remove_all_outputs_tags={"remove-output"},
            enabled=True,
        ),
        *([SanitizeOutputs(enabled=True)] if sanitize else []),
        LocalScripts(),
        AltTextPreprocessor(),
        Attachments(),
        MathCheck(),
        ExtractImages(enabled=True),
    ]


class ExtractImages(ExtractOutputPreprocessor):
    """nbconvert's extractor, naming files by the cell's place in the notebook as written
    ({slug}_{cell}_{output}), so the post and its slides share the same image files."""

    def preprocess_cell(self, cell, resources, index):
        return super().preprocess_cell(cell, resources, cell.metadata.get("number", index + 1) - 1)


HEADING_SLIDES = {"#": "slide", "##": "slide", "###": "subslide"}


class SlidePreprocessor(Preprocessor):
    """Where slides start. A cell's slide flag wins, then its slideshow metadata. A notebook that does not draw
    its own slides in slideshow metadata (no cell of type slide or subslide) also gets a new slide at each `#`
    or `##` heading, and a sub-slide below it at each `###`. Sections still taller than a slide are split into
    sub-slides in the browser, where their height is known (assets/slides.js)."""

    def preprocess(self, nb, resources):
        own = any(slideshow_type(cell) in ("slide", "subslide") for cell in nb.cells)
        for cell in nb.cells:
            kind = cell.metadata.get("slide_flag") or slideshow_type(cell) or ("-" if own else heading_slide(cell))
            cell.metadata["slideshow"] = {**(cell.metadata.get("slideshow") or {}), "slide_type": kind}
        return nb, resources


def heading_slide(cell) -> str:
    heading = cell.cell_type == "markdown" and re.match(r"(#{1,3}) ", cell.source.lstrip())
    return HEADING_SLIDES[heading[1]] if heading else "-"


# Printed source: a cell that prints a function's code (inspect.getsource), or text that starts like a def or class.
PRINTED_SOURCE = re.compile(r"\s*(@\w|(async )?def \w|class \w)")


class TruncateOutputs(Preprocessor):
    """Cut long text outputs to fit a slide, saying how much was left out. The rule: an output is cut to
    `max_lines` only when that hides at least `min_hidden` lines (a note "… (2 more lines)" would take the room
    of what it hides), and printed source is never cut, since the slide is about that code, to its last line.
    What is still taller than a slide gets a sub-slide of its own, and scrolls there (assets/slides.js)."""

    max_lines, min_hidden = 25, 3

    def preprocess_cell(self, cell, resources, index):
        for out in cell.get("outputs", []):
            key, holder = ("text", out) if out.output_type == "stream" else ("text/plain", out.get("data", {}))
            text = holder.get(key, "")
            lines = text.splitlines()
            if len(lines) - self.max_lines >= self.min_hidden and not printed_source(cell.source, text):
                more = len(lines) - self.max_lines
                holder[key] = "\n".join(lines[: self.max_lines] + [f"… ({more} more lines)"])
        return cell, resources


def printed_source(code: str, text: str) -> bool:
    return "getsource(" in code or bool(PRINTED_SOURCE.match(text))


def slide_preprocessors(sanitize: bool = False) -> list[Preprocessor]:
    "The post's chain, with speaker notes, slide boundaries and short outputs before images become files."
    chain = preprocessors(sanitize, notes=True)
    return [*chain[:-1], SlidePreprocessor(), TruncateOutputs(), chain[-1]]
