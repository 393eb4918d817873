"""Stage 2, preprocess: cell flags in three syntaxes become cell tags, then nbconvert acts on the tags.

One normal form: every flag turns into a Jupyter Book cell tag, because nbconvert's
`TagRemovePreprocessor` and our template blocks both read tags.

| fastpages comment                        | Quarto / nbdev directive  | tag          | effect                    |
|------------------------------------------|---------------------------|--------------|---------------------------|
| `#hide`                                  | `#| include: false`       | remove-cell  | cell not in the page      |
| `#hide_input`, `#hide-input`             | `#| echo: false`          | remove-input | code not in the page      |
| `#hide_output`, `#hide-output`           | `#| output: false`        | remove-output| outputs not in the page   |
| `#collapse`, `#collapse-hide`, `#collapse_hide` | `#| code-fold: true` | hide-input   | code in a closed details  |
| `#collapse-show`, `#collapse_show`       | `#| code-fold: show`      | show-input   | code in an open details   |
| `#collapse-output`, `#collapse_output`   |                           | hide-output  | outputs in closed details |

`#| fig-alt: text` sets the alt text of the cell's output images.
"""

from __future__ import annotations

import re

from nbconvert.preprocessors import ExtractOutputPreprocessor, Preprocessor, TagRemovePreprocessor

FASTPAGES_FLAGS: dict[str, str] = {
    "hide": "remove-cell",
    "hide_input": "remove-input",
    "hide-input": "remove-input",
    "hide_output": "remove-output",
    "hide-output": "remove-output",
    "collapse": "hide-input",
    "collapse-hide": "hide-input",
    "collapse_hide": "hide-input",
    "collapse-show": "show-input",
    "collapse_show": "show-input",
    "collapse-output": "hide-output",
    "collapse_output": "hide-output",
    "solution": "solution",
}
DIRECTIVES = {
    ("include", "false"): "remove-cell",
    ("echo", "false"): "remove-input",
    ("output", "false"): "remove-output",
    ("code-fold", "true"): "hide-input",
    ("code-fold", "show"): "show-input",
}
# Directives that are valid but not display flags: nbdev's and Quarto's own, and ours.
OTHER_DIRECTIVES = {
    "export", "exports", "exporti", "export_", "default_exp", "eval", "hide", "fig-alt", "fig-cap", "label",
    "error", "check", "warning", "include", "echo", "output", "code-fold", "code-summary", "solution", "notest",
}  # fmt: skip
TAGS = set(FASTPAGES_FLAGS.values()) | {"solution", "raises-exception", "skip-execution"}
# How a post shows exercise answers (front-matter key `solutions`), as display tags.
SOLUTION_TAGS = {"hidden": {"remove-cell"}, "collapsed": {"hide-input", "hide-output"}, "shown": set()}
QUIET_FLAGS = {"export", "exports", "exporti", "default_exp"}  # nbdev 1 flags: valid, no effect on display
FLAG = re.compile(r"^#\s?([\w-]+)\s*$")
DIRECTIVE = re.compile(r"^#\|\s*([\w-]+)\s*:?\s*(.*?)\s*$")


def parse_flags(source: str) -> tuple[list[str], dict[str, str], list[str], str]:
    """Split a code cell's leading flag lines off: (tags, directives, unknown flags, remaining source).

    `#|` lines are always directives. A one-word comment counts as a flag only if it is
    a known one; `#word` written without a space is reported as an unknown flag and kept.
    """
    lines = source.splitlines()
    tags, directives, unknown = [], {}, []
    while lines:
        if m := DIRECTIVE.match(lines[0]):
            key, value = m[1], m[2]
            directives[key] = value
            if (key, value.lower()) in DIRECTIVES:
                tags.append(DIRECTIVES[key, value.lower()])
            elif key not in OTHER_DIRECTIVES:
                unknown.append(lines[0])
        elif (m := FLAG.match(lines[0])) and m[1].lower() in FASTPAGES_FLAGS.keys() | QUIET_FLAGS:
            tags += [FASTPAGES_FLAGS[m[1].lower()]] if m[1].lower() in FASTPAGES_FLAGS else []
        else:
            if m and not lines[0].startswith("# "):
                unknown.append(lines[0])
            break
        lines.pop(0)
    return tags, directives, unknown, "\n".join(lines).strip("\n")


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
    first = next((line.strip() for line in source.splitlines() if line.strip() and not line.startswith("#")), "")
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
