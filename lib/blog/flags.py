"""Cell flags in three syntaxes, read into one normal form: Jupyter Book cell tags.

Kept apart from `preprocess.py` so that reading flags does not import nbconvert.

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

`#| fig-alt: text` sets the alt text of the cell's output images. `#| solution: true` (or `#solution`)
marks an exercise's answer, and `#| checks: true` the cell of checks after it (see handout.py).
"""

from __future__ import annotations

import re

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
    ("solution", "true"): "solution",
    ("checks", "true"): "remove-cell",  # an exercise's checks (handout.py): for students, not for readers
}
# Directives that are valid but not display flags: nbdev's and Quarto's own, and ours.
OTHER_DIRECTIVES = {
    "export", "exports", "exporti", "export_", "default_exp", "eval", "hide", "fig-alt", "fig-cap", "label",
    "error", "check", "warning", "include", "echo", "output", "code-fold", "code-summary", "solution", "notest",
    "slide", "fragment", "notes",  # where slides start, and speaker notes: read by preprocess.SlideFlags
}  # fmt: skip
TAGS = set(FASTPAGES_FLAGS.values()) | {"solution", "raises-exception", "skip-execution"}
# How a post shows exercise answers (front-matter key `solutions`), as display tags.
SOLUTION_TAGS = {"hidden": {"remove-cell"}, "collapsed": {"hide-input", "hide-output"}, "shown": set()}
QUIET_FLAGS = {"export", "exports", "exporti", "default_exp"}  # nbdev 1 flags: valid, no effect on display
FLAG = re.compile(r"^\s*#\s*([\w-]+)\s*$")
DIRECTIVE = re.compile(r"^\s*#\|\s*([\w-]+)\s*:?\s*(.*?)\s*$")


def parse_flags(source: str) -> tuple[list[str], dict[str, str], list[str], str]:
    """Split a cell's flag lines off: (tags, directives, unknown flags, remaining source).

    `#|` directives are read from the top of the cell, as Quarto and nbdev read them. A known
    fastpages flag counts on any line, with any indentation, as fastpages found it; it is removed
    from the code wherever it stands. An unknown `#word` line at the top is reported and kept.
    """
    tags, directives, unknown, kept = [], {}, [], []
    top = True  # directives count in the leading block of flag lines only
    for line in source.splitlines():
        flag = (m := FLAG.match(line)) and m[1].lower()
        if top and (d := DIRECTIVE.match(line)):
            directives[d[1]] = d[2]
            tags += [DIRECTIVES[d[1], d[2].lower()]] if (d[1], d[2].lower()) in DIRECTIVES else []
            unknown += [line] if (d[1], d[2].lower()) not in DIRECTIVES and d[1] not in OTHER_DIRECTIVES else []
        elif flag in FASTPAGES_FLAGS or flag in QUIET_FLAGS:
            tags += [FASTPAGES_FLAGS[flag]] if flag in FASTPAGES_FLAGS else []
        else:
            unknown += [line] if top and re.match(r"^#[\w-]+\s*$", line) else []
            top, kept = False, [*kept, line]
    return tags, directives, unknown, "\n".join(kept).strip("\n")


def markdown_solution(cell) -> bool:
    "A markdown cell whose first line is `#solution` or `#| solution: true`, or tagged `solution`, is an answer."
    first = cell.source.lstrip().split("\n", 1)[0]
    flagged = bool(re.match(r"^#\s*solution\s*$|^#\|\s*solution\s*:\s*true\s*$", first, re.I))
    return flagged or "solution" in cell.metadata.get("tags", [])


def without_first_line(source: str) -> str:
    return source.lstrip().split("\n", 1)[1] if "\n" in source.lstrip() else ""


def first_code_line(source: str) -> str:
    "The first line that is neither blank nor a comment or flag: what a message or an alt text can quote."
    return next((line.strip() for line in source.splitlines() if line.strip() and not line.startswith("#")), "")


# Slide flags, read by preprocess.SlideFlags for the slides and by handout.py for student notebooks

SLIDE_FLAGS = {("slide", "true"): "slide", ("slide", "sub"): "subslide", ("slide", "false"): "skip",
               ("fragment", ""): "fragment", ("fragment", "true"): "fragment",
               ("notes", ""): "notes", ("notes", "true"): "notes"}  # fmt: skip
SLIDE_NAMES = {name for name, _ in SLIDE_FLAGS}


def slide_flags(source: str, code: bool) -> tuple[list[tuple[str, str]], str]:
    """The (name, value) of each slide flag in the cell's leading flag lines, and the source without them. A
    markdown cell's flags are its first `#|` lines; a code cell's may stand among its other flags."""
    lines = source.split("\n")
    top = next((i for i, line in enumerate(lines) if not is_flag_line(line, code)), len(lines))
    ours = [(i, d) for i, line in enumerate(lines[:top]) if (d := DIRECTIVE.match(line)) and d[1] in SLIDE_NAMES]
    if not ours:
        return [], source
    taken = {i for i, _ in ours}
    return [(d[1], d[2].lower()) for _, d in ours], "\n".join(x for i, x in enumerate(lines) if i not in taken)


def is_flag_line(line: str, code: bool) -> bool:
    "A `#| name: value` line, or in code, a fastpages flag such as `#hide`."
    return bool(DIRECTIVE.match(line) or code and FLAG.match(line))


def flag_kind(found: list[tuple[str, str]]) -> str | None:
    "The slide kind the first known slide flag gives (`slide_flags`' list), or None."
    return next((SLIDE_FLAGS[f] for f in found if f in SLIDE_FLAGS), None)


def is_notes(cell) -> bool:
    """Speaker notes: flagged `#| notes`, or of slideshow type `notes` with no slide flag saying otherwise. The
    presenter's only: the slides show them; the post page, its search record and the student notebook do not."""
    kind = flag_kind(slide_flags(cell.source, cell.cell_type == "code")[0])
    return (kind or slideshow_type(cell)) == "notes"


def slideshow_type(cell) -> str | None:
    "The cell's nbconvert slideshow type, if it has one other than `-` (go on with the current slide)."
    kind = (cell.metadata.get("slideshow") or {}).get("slide_type")
    return kind if kind != "-" else None
