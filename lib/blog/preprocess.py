"""Stage 2, preprocess: flags become cell tags (see `flags.py`), then nbconvert acts on the tags.

The chain: FlagPreprocessor (flags and solutions to tags), nbconvert's TagRemovePreprocessor,
AltTextPreprocessor, nbconvert's ExtractOutputPreprocessor. Slides add SlidePreprocessor and
TruncateOutputs.
"""

from __future__ import annotations

import re

from nbconvert.preprocessors import ExtractOutputPreprocessor, Preprocessor, TagRemovePreprocessor

from lib.blog.flags import SOLUTION_TAGS, first_code_line, parse_flags


class FlagPreprocessor(Preprocessor):
    "Turn flag lines into tags and strip them from the code; note unknown flags in `resources['warnings']`."

    def preprocess_cell(self, cell, resources, index):
        cell.metadata["number"] = index + 1  # for messages about this cell
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


def preprocessors() -> list[Preprocessor]:
    "The chain, in order. Removal runs before extraction, so hidden images are never written."
    return [
        FlagPreprocessor(),
        TagRemovePreprocessor(
            remove_cell_tags={"remove-cell"},
            remove_input_tags={"remove-input"},
            remove_all_outputs_tags={"remove-output"},
            enabled=True,
        ),
        AltTextPreprocessor(),
        ExtractOutputPreprocessor(enabled=True),  # files named {unique_key}_{cell}_{index}, unique_key = slug
    ]


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


def slide_preprocessors() -> list[Preprocessor]:
    "Flags and solutions as in the post, then slide boundaries and short outputs."
    return [*preprocessors()[:2], SlidePreprocessor(), TruncateOutputs()]
