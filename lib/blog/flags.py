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

`#| fig-alt: text` sets the alt text of the cell's output images.
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


def first_code_line(source: str) -> str:
    "The first line that is neither blank nor a comment or flag: what a message or an alt text can quote."
    return next((line.strip() for line in source.splitlines() if line.strip() and not line.startswith("#")), "")
