"""Quarto's block syntax in markdown posts and notebook cells: callouts and tabsets.

    ::: {.callout-note}                 ::: {.panel-tabset}
    ## Optional title                   ## Python
    Text.                               ...
    :::                                 ## R
                                        ...
                                        :::

markdown-it-py's container plugin (mdit-py-plugins) finds the `:::` blocks, nested ones too (`::::`).
What it does not know is Quarto's meaning, written here: the attributes (`{.callout-tip title="..."}`),
a callout's first heading as its title, and a tabset's headings as its tabs. A tabset reads without
JavaScript (every panel shown under its heading); site.js turns it into tabs that work from the keyboard.
A callout with `collapse="true"` (or `"false"`) folds, as a closed (or open) `<details>`.
"""

from __future__ import annotations

import html
import re

CALLOUT_KINDS = ("note", "tip", "warning", "caution", "important")
ATTRS = re.compile(r"""([.#])([\w-]+)|([\w-]+)=("[^"]*"|'[^']*'|[^\s}]+)""")


def attributes(info: str) -> tuple[list[str], dict[str, str]]:
    'The classes and key=value pairs of `{.callout-note title="A"}`.'
    inner = info.strip()
    if not (inner.startswith("{") and inner.endswith("}")):
        return [], {}
    classes, values = [], {}
    for dot, name, key, value in ATTRS.findall(inner[1:-1]):
        if dot == ".":
            classes.append(name)
        elif dot == "#":
            values["id"] = name
        elif key:
            values[key] = value.strip("\"'")
    return classes, values


def kind_of(info: str) -> str | None:
    "callout-<kind> or tabset, for the container's attributes; None for any other `:::` block."
    classes, _ = attributes(info)
    for name in classes:
        if name.startswith("callout-") and name[8:] in CALLOUT_KINDS:
            return name
        if name == "panel-tabset":
            return "tabset"
    return None


def validate(params: str, markup: str) -> bool:
    return kind_of(params) is not None


def render(self, tokens, idx: int, options, env) -> str:
    token = tokens[idx]
    if token.nesting == -1:
        return "</details>\n" if token.meta.get("folds") else "</div>\n"
    kind = kind_of(token.info)
    if kind == "tabset":
        return '<div class="tabset">\n'
    _, values = attributes(token.info)
    name = kind[8:]
    title = html.escape(token.meta.get("title") or values.get("title") or name.capitalize())
    if values.get("collapse") in ("true", "false"):  # Quarto's folding callout: <details>, open unless "true"
        shown = " open" if values["collapse"] == "false" else ""
        return f'<details class="callout {name}"{shown}>\n<summary class="callout-label">{title}</summary>\n'
    return f'<div class="callout {name}" role="note">\n<p class="callout-label">{title}</p>\n'


def quarto_blocks(state) -> None:
    """A callout's first heading becomes its title; a tabset's headings (of its first heading level) become
    tab labels, not headings: they stay out of the table of contents, as in Quarto."""
    tokens = state.tokens
    for i, token in enumerate(tokens):
        if token.type != "container_quarto_open":
            continue
        kind, end = kind_of(token.info), closing(tokens, i)
        tokens[end].meta["folds"] = attributes(token.info)[1].get("collapse") in ("true", "false")
        if kind and kind.startswith("callout-") and tokens[i + 1].type == "heading_open":
            token.meta["title"] = tokens[i + 2].content
            for t in tokens[i + 1 : i + 4]:
                t.hidden, t.type, t.children, t.content = True, "html_block", None, ""
        elif kind == "tabset":
            tabs(tokens, i + 1, end)


def closing(tokens, start: int) -> int:
    "Index of the token that closes the container opened at `start`."
    depth = 0
    for j in range(start, len(tokens)):
        depth += tokens[j].nesting if tokens[j].type.startswith("container_quarto") else 0
        if depth == 0:
            return j
    return len(tokens) - 1


def tabs(tokens, start: int, end: int) -> None:
    'The tabset\'s top-level headings become `<p class="tab-label">` opening each `<section class="tab-panel">`.'
    level = tokens[start].level
    heads = [j for j in range(start, end) if tokens[j].type == "heading_open" and tokens[j].level == level]
    if not heads:
        return
    tag = tokens[heads[0]].tag
    for n, j in enumerate(h for h in heads if tokens[h].tag == tag):
        opening, closing_ = tokens[j], tokens[j + 2]
        opening.type, opening.tag, closing_.type, closing_.tag = "paragraph_open", "p", "paragraph_close", "p"
        opening.attrSet("class", "tab-label")
        opening.meta["before"] = "" if n == 0 else "</section>\n"
        opening.meta["tab"] = True
    tokens[end].meta["after_tabs"] = True


def render_paragraph_open(self, tokens, idx: int, options, env) -> str:
    token = tokens[idx]
    if token.meta.get("tab"):
        return token.meta["before"] + '<section class="tab-panel">\n' + self.renderToken(tokens, idx, options, env)
    return self.renderToken(tokens, idx, options, env)


def render_close(self, tokens, idx: int, options, env) -> str:
    token = tokens[idx]
    return ("</section>\n" if token.meta.get("after_tabs") else "") + render(self, tokens, idx, options, env)


def use_quarto(md):
    "Quarto's callouts and tabsets on `md`."
    from mdit_py_plugins.container import container_plugin

    container_plugin(md, "quarto", validate=validate, render=render)
    md.add_render_rule("container_quarto_close", render_close)
    md.add_render_rule("paragraph_open", render_paragraph_open)
    return md
