"""Stage 2, preprocess: flags become cell tags (see `flags.py`), then nbconvert acts on the tags.

The chain: WidgetState (see `repair.py`), OutputLimits, FlagPreprocessor (flags and solutions to tags), nbconvert's
TagRemovePreprocessor, nbconvert's SanitizeHTML (with `sanitize_outputs: true`), LocalScripts (CDN scripts
to the site's copies, see `vendor.py`), AltTextPreprocessor, Attachments and MathCheck (`repair.py`),
nbconvert's ExtractOutputPreprocessor. Slides add SlidePreprocessor and TruncateOutputs.
"""

from __future__ import annotations

import json
import re

from nbconvert.preprocessors import ExtractOutputPreprocessor, Preprocessor, TagRemovePreprocessor
from nbconvert.preprocessors.sanitize import SanitizeHTML

from lib.blog.errors import BuildError
from lib.blog.flags import SOLUTION_TAGS, first_code_line, markdown_solution, parse_flags, without_first_line
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


def preprocessors(sanitize: bool = False) -> list[Preprocessor]:
    """The chain, in order. Removal runs before extraction, so hidden images are never written.
    `sanitize`: notebooks are untrusted; HTML and markdown are cleaned, script and SVG outputs dropped."""
    return [
        WidgetState(),
        OutputLimits(),
        FlagPreprocessor(),
        TagRemovePreprocessor(
            remove_cell_tags={"remove-cell"},
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


class SlidePreprocessor(Preprocessor):
    "A notebook without slideshow metadata gets a new slide at each `#` or `##` heading."

    def preprocess(self, nb, resources):
        if any(cell.metadata.get("slideshow") for cell in nb.cells):
            return nb, resources
        for cell in nb.cells:
            heading = cell.cell_type == "markdown" and re.match(r"#{1,2} ", cell.source.lstrip())
            cell.metadata["slideshow"] = {"slide_type": "slide" if heading else "-"}
        return nb, resources


class TruncateOutputs(Preprocessor):
    "Cut long text outputs to fit a slide, saying how much was left out."

    max_lines = 12

    def preprocess_cell(self, cell, resources, index):
        for out in cell.get("outputs", []):
            key, holder = ("text", out) if out.output_type == "stream" else ("text/plain", out.get("data", {}))
            lines = holder.get(key, "").splitlines()
            if len(lines) > self.max_lines:
                more = len(lines) - self.max_lines
                holder[key] = "\n".join(lines[: self.max_lines] + [f"… ({more} more lines)"])
        return cell, resources


def slide_preprocessors(sanitize: bool = False) -> list[Preprocessor]:
    "The post's chain, with slide boundaries and short outputs before images become files (the post's own)."
    chain = preprocessors(sanitize)
    return [*chain[:-1], SlidePreprocessor(), TruncateOutputs(), chain[-1]]
