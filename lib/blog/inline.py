"""Numbers in prose: inline values written into the markdown, so that they read as numbers everywhere.

An author writes Quarto's inline syntax in a markdown cell, `{python} expr` in backticks.
`make execute` evaluates it with the values of the cells above and writes the value into the cell's
source, the expression beside it in an HTML comment:

    With the L1 norm the baseline gets <span><!--{python} f"{acc_l1:.2%}"-->66.85%</span> right.

Jupyter, JupyterLab, Colab, VS Code, GitHub's viewer and markdown-it hide the comment and show
`66.85%`; the site shows the value and drops the comment; `make execute` rewrites the value when it
changes, and the gate compares it with a fresh evaluation. Why this form and not another:

* The comment holds the expression because every renderer hides comments, and the expression
  needs no escaping there: `f"{x}"` stays as the author wrote it. It must not contain `--`, which
  ends or invalidates a comment in CommonMark and in marked (JupyterLab's renderer), nor `$`,
  which JupyterLab reads as the start of math even inside a comment (`\\x24` in a string is one).
* The `<span>` delimits the value, so that a changed value can be found and replaced. A pair of
  comments (`<!--{python} e-->66.85%<!--/-->`) would be span-free, but a line that *begins* with
  `<!--` is an HTML block in CommonMark and in marked: a sentence that starts with a value would
  lose its markdown (`*right*` shown with its asterisks) and break its paragraph. `<span>` never
  starts an HTML block when text follows it on the line, and stays inline in a table cell, in
  emphasis, in a list item, next to punctuation. A plain `<span>` shows as nothing, and a
  sanitizer that drops tags or comments (GitHub's, bleach) still leaves the value.
* The value is markdown: characters that markdown or HTML would read (`*`, `_`, `<`, `|`, `$`, ...)
  are backslash-escaped, so `2*3*4` shows as it is, and a `|` cannot split a table cell. A value or
  an expression must be one line: a line break could end a paragraph or a table row.

`metadata.blog.inline` keeps the record of what `make execute` evaluated ({expr: value}); the lint
checks that the written values agree with it. The Quarto form stays accepted as input: the site
shows its stored value, and `make execute` converts it.
"""

from __future__ import annotations

import re

QUARTO = re.compile(r"`\{python\}\s+([^`]+?)`")
# The written form. The expression is anything up to the first `-->` without `--`; the value is
# escaped markdown, so it holds no `<` (escaped as `\<`) and no line break.
WRITTEN = re.compile(r"<span><!--\{python\}[ \t]+((?:(?!--)[^\n])+?)-->((?:\\[^\n]|[^\\<\n])*)</span>")
EITHER = re.compile(f"{QUARTO.pattern}|{WRITTEN.pattern}")
OPENING = re.compile(r"<!--\s*\{python\}")  # every written value starts so, well-formed or not
SPECIAL = re.compile(r"([\\`*_\[\]<>&$~|{}])")
ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")  # CommonMark: a backslash before ASCII punctuation


def has_inline(text: str) -> bool:
    "Whether a markdown cell quotes a value, in either form, or has what looks like a broken one."
    return bool(QUARTO.search(text) or OPENING.search(text))


def expressions(text: str) -> list[str]:
    "Every inline expression of a markdown cell, in either form, in order, each once."
    return list(dict.fromkeys(m[1] if m[1] is not None else m[2] for m in EITHER.finditer(text)))


def quarto(text: str) -> list[str]:
    "Expressions still in Quarto's form: Jupyter shows their code, not a value."
    return QUARTO.findall(text)


def written(text: str) -> list[tuple[str, str]]:
    "(expression, value as written, escaped) for every value written into the cell."
    return [(m[1], m[2]) for m in WRITTEN.finditer(text)]


def differs(expr: str, markdown: str, value: str, whose: str) -> str | None:
    "Why a value written as `markdown` is not `value` (`whose` says where that one comes from), if it is not."
    if markdown == escape(value):
        return None
    if unescape(markdown) == value:
        return f"inline `{{python}} {expr}` is written {markdown!r}, unescaped: {escape(value)!r} reads as {value!r}"
    return f"inline `{{python}} {expr}` shows {unescape(markdown)!r}, {whose} {value!r}"


def escape(value: str) -> str:
    "A value as markdown text that reads as the value itself."
    return SPECIAL.sub(r"\\\1", value)


def unescape(text: str) -> str:
    return ESCAPED.sub(r"\1", text)


def markup(expr: str, value: str) -> str:
    return f"<span><!--{{python}} {expr}-->{escape(value)}</span>"


def fill(text: str, values: dict[str, str]) -> str:
    "`text` with each expression's value written in, Quarto's form converted; other text stays byte for byte."

    def write(m: re.Match) -> str:
        if m[1] is not None:
            return markup(m[1], values[m[1]])
        value = escape(values[m[2]])
        return m[0] if m[3] == value else m[0][: m.start(3) - m.start()] + value + "</span>"

    return EITHER.sub(write, text)


def problems(text: str) -> list[str]:
    "What `make execute` cannot evaluate or write, or what is not a value it wrote: one message each."
    found = []
    for expr in expressions(text):
        if "\n" in expr:
            found.append(f"inline `{{python}} {expr}` spans lines; write it on one line")
        elif "--" in expr:
            found.append(f"inline `{{python}} {expr}` holds `--`, which cannot stand in an HTML comment")
        elif "$" in expr:  # JupyterLab looks for math before markdown, and not inside comments
            found.append(f"inline `{{python}} {expr}` holds `$`, which Jupyter reads as math; write it as \\x24")
    starts = {m.start() + len("<span>") for m in WRITTEN.finditer(text)}
    for m in OPENING.finditer(text):
        if m.start() not in starts:
            snippet = text[m.start() :].split("\n", 1)[0]
            snippet = snippet if len(snippet) <= 60 else snippet[:57] + "..."
            found.append(f"malformed inline value {snippet!r}: expected <span><!--{{python}} expr-->value</span>")
    return found


def check_value(expr: str, value: str) -> str | None:
    "Why `value` cannot be written into the cell, if it cannot."
    if "\n" in value or "\r" in value:
        return f"inline `{{python}} {expr}` gives {value!r}, more than one line; an inline value must be one line"
    return None
