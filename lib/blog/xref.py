"""Cross-references and citations, in Quarto's (Pandoc's) syntax, for markdown posts and notebooks.

    ## Method {#sec-method}            $$ a^2 + b^2 = c^2 $$ {#eq-pythagoras}
    ![A chart](chart.png){#fig-chart}   | a | b |  ...table...  then a line `: Its caption {#tbl-counts}`
    #| label: fig-means                (a code cell, with `#| fig-cap: The ten means`)
    As @fig-chart shows, see @sec-method and [@howard2020; @goodfellow2016, p. 3].

Two steps, because a notebook's cells are rendered one at a time and a reference may come before what it
names. While markdown is rendered (`use_xref`), labels become ids marked `data-xref`, captions get an
empty number slot, and each `@label` or citation becomes a placeholder. Once the post's whole HTML is
there (`resolve`), definitions are numbered in the order they appear (figures, tables and equations in
turn; sections by their place among the headings), and each placeholder becomes its text and link:
"Figure 2", "Section 1.2", "Equation 3". Citations are formatted by `cite.py`. Written by hand: Quarto
and Pandoc do this in Haskell and Lua, and no Python library numbers Pandoc's cross-references.
"""

from __future__ import annotations

import html
import json
import re

from lib.blog.markdown import html_token

KINDS = {"fig": "Figure", "tbl": "Table", "eq": "Equation", "sec": "Section"}
LABEL = r"(?:fig|tbl|eq|sec)-[\w-]*\w"
KEY = r"[\w][\w:.#$%&+?<>~/-]*\w|\w"
BRACKETED = re.compile(r"\[([^\[\]]*?-?@(?:" + KEY + r")[^\[\]]*)\]")
BARE = re.compile(r"(?<![\w@\[])(-?)@(" + KEY + ")")
CITED = re.compile(BRACKETED.pattern + "|" + BARE.pattern)  # either form, in one pass over a text
ITEM = re.compile(r"^\s*(?P<prefix>.*?)(?P<suppress>-?)@(?P<key>" + KEY + r")(?:,\s*(?P<locator>.+?))?\s*$")
LOCATORS = {"p.": "page", "pp.": "page", "page": "page", "pages": "page", "ch.": "chapter", "chap.": "chapter",
            "chapter": "chapter", "sec.": "section", "section": "section", "fig.": "figure", "vol.": "volume",
            "para.": "paragraph", "l.": "line", "n.": "note", "eq.": "equation"}  # fmt: skip
# `## Title {#id}`: Quarto's `{#sec-x}`, and kramdown's header ids, which fastpages blogs use; classes may follow.
HEADING_LABEL = re.compile(r"\s*\{#([A-Za-z][\w:.-]*)((?:\s+\.[\w-]+)*)\}\s*$")
EQUATION_LABEL = re.compile(r"\$\$\s*\{#(eq-[\w-]*\w)\}")
TABLE_CAPTION = re.compile(r"^:\s*(.*?)\s*\{#(tbl-[\w-]*\w)\}\s*$", re.S)
FIGURE_LABEL = re.compile(r"^\s*\{#(fig-[\w-]*\w)\}")


def quarto_source(text: str) -> str:
    "Quarto's `$$ ... $$ {#eq-x}` as dollarmath's `$$ ... $$ (eq-x)`, which markdown-it-py's plugin numbers."
    return EQUATION_LABEL.sub(r"$$ (\1)", text)


def placeholder(kind: str, data, text: str) -> str:
    return f'<span class="{kind}" data-{kind}="{html.escape(json.dumps(data), quote=True)}">{html.escape(text)}</span>'


def locator(text: str | None) -> tuple[str, str] | None:
    "(`page`, `3`) of `p. 3`; a bare number is a page, as in Pandoc."
    if not text:
        return None
    word, _, rest = text.strip().partition(" ")
    return (LOCATORS[word.lower()], rest.strip()) if word.lower() in LOCATORS and rest else ("page", text.strip())


def citation_items(inner: str) -> list[dict] | None:
    "The items of `[see @a, p. 3; @b]`, or None when it is not a citation (or names only cross-references)."
    items = []
    for part in inner.split(";"):
        m = ITEM.match(part)
        if not m:
            return None
        items.append({"key": m["key"], "prefix": m["prefix"].strip(), "suppress": bool(m["suppress"]),
                      "locator": locator(m["locator"])})  # fmt: skip
    return items


def references_in(text: str, citations: bool, where: str, found: list) -> list[tuple[str, str]]:
    "The text split into ('text', s) and ('html', placeholder) parts; each citation is noted in `found`."
    parts, pos = [], 0
    for m in CITED.finditer(text):
        made = (
            bracketed(m[1], citations, where, found) if m[1] is not None else bare(m[2], m[3], citations, where, found)
        )
        if made is None:
            continue
        parts += [("text", text[pos : m.start()]), ("html", made)]
        pos = m.end()
    return [*parts, ("text", text[pos:])] if parts else [("text", text)]


def bracketed(inner: str, citations: bool, where: str, found: list) -> str | None:
    items = citation_items(inner)
    if not items:
        return None
    if all(re.fullmatch(LABEL, i["key"]) for i in items):
        return ", ".join(placeholder("xref", i["key"], "@" + i["key"]) for i in items)
    if not citations or any(re.fullmatch(LABEL, i["key"]) for i in items):
        return None
    found.append((where, [i["key"] for i in items]))
    return placeholder("citation", {"items": items, "mode": "normal"}, f"[{inner}]")


def bare(suppress: str, key: str, citations: bool, where: str, found: list) -> str | None:
    if re.fullmatch(LABEL, key):
        return placeholder("xref", key, "@" + key)
    if not citations:
        return None
    found.append((where, [key]))
    item = {"key": key, "prefix": "", "suppress": bool(suppress), "locator": None}
    return placeholder("citation", {"items": [item], "mode": "suppress" if suppress else "intext"}, f"{suppress}@{key}")


def references_rule(state) -> None:
    "`@fig-x`, `[@a; @b]` and `@key` in text become placeholders (citations only where the post has a bibliography)."
    env = state.env
    cites, where, found = bool(env.get("citations")), env.get("where", ""), env.setdefault("cited", [])
    for token in state.tokens:
        if token.type != "inline" or "@" not in token.content:
            continue
        children = []
        for child in token.children or []:
            parts = (
                references_in(child.content, cites, where, found)
                if child.type == "text" and "@" in child.content
                else None
            )
            if not parts or len(parts) == 1:
                children.append(child)
                continue
            children += [html_token("text" if kind == "text" else "html_inline", content) for kind, content in parts]
        token.children = children


def heading_labels(state) -> None:
    """`## Title {#id}`: the id is the heading's (before heading ids are made); a section label (`{#sec-x}`) is
    marked `data-xref`, for references to number it."""
    tokens = state.tokens
    for i, token in enumerate(tokens):
        if token.type == "heading_open" and (m := HEADING_LABEL.search(tokens[i + 1].content)):
            strip_label(tokens[i + 1], m)
            token.attrSet("id", m[1])
            if m[1].startswith("sec-"):
                token.attrSet("data-xref", "")


def block_labels(state) -> None:
    """A paragraph that is one image and `{#fig-x}` becomes a numbered figure; a `: caption {#tbl-x}` paragraph
    after a table becomes its numbered caption. After the images are resolved (`local_images`)."""
    tokens, out, i = state.tokens, [], 0
    while i < len(tokens):
        token = tokens[i]
        if token.type == "paragraph_open" and (figure := image_figure(tokens[i + 1])):
            out.append(html_token("html_block", figure))
            i += 3
            continue
        if token.type == "table_close" and i + 2 < len(tokens) and tokens[i + 1].type == "paragraph_open":
            if m := TABLE_CAPTION.match(tokens[i + 2].content):
                caption_table(out, m)
                out.append(token)
                i += 4
                continue
        out.append(token)
        i += 1
    state.tokens = out


def strip_label(inline, m) -> None:
    inline.content = inline.content[: m.start()]
    last = inline.children[-1] if inline.children else None
    if last is not None and last.type == "text":
        last.content = HEADING_LABEL.sub("", last.content)


def image_figure(inline) -> str | None:
    "A paragraph of one image and `{#fig-x}`, as `<figure>` with its numbered caption."
    kids = [c for c in inline.children or [] if not (c.type == "text" and not c.content.strip())]
    if inline.type != "inline" or len(kids) != 2 or kids[0].type != "image" or kids[1].type != "text":
        return None
    m = FIGURE_LABEL.match(kids[1].content)
    if not m or kids[1].content[m.end() :].strip():
        return None
    image, caption = kids[0], html.escape(kids[0].content)
    src, alt = html.escape(image.attrGet("src") or "", quote=True), html.escape(image.content, quote=True)
    figure = f'<figure id="{m[1]}" data-xref><img src="{src}" alt="{alt}">'
    return f"{figure}<figcaption>{number_slot(m[1])}{caption}</figcaption></figure>\n"


def caption_table(out: list, m) -> None:
    "Give the table that ends `out` its id and a numbered caption."
    opening = next(t for t in reversed(out) if t.type == "table_open")
    opening.attrSet("id", m[2])
    opening.attrSet("data-xref", "")
    at = out.index(opening) + 1
    out.insert(at, html_token("html_block", f"<caption>{number_slot(m[2])}{html.escape(m[1])}</caption>\n"))


def number_slot(label: str) -> str:
    "Where the post's pass writes a definition's number (`SLOT`); a label holds no character to escape."
    return f'<span class="xref-number" data-for="{label}"></span>'


# The post's pass: number the definitions, fill the slots and the references.

DEFINITION = re.compile(r'<(h[1-6]|figure|table|div)\b[^>]*\bid="(' + LABEL + r')"[^>]*\bdata-xref\b')
HEADING = re.compile(r"<h([2-6])\b[^>]*>")
SLOT = re.compile(r'<span class="xref-number" data-for="(' + LABEL + r')"></span>')
REFERENCE = re.compile(r'<span class="xref" data-xref="([^"]*)">[^<]*</span>')


def placeholder_data(attribute: str):
    "What a placeholder's data attribute holds; None where raw HTML of the post made one that is no JSON."
    try:
        return json.loads(html.unescape(attribute))
    except (ValueError, RecursionError):
        return None


def numbers(body: str) -> dict[str, str]:
    "Each label's number: figures, tables and equations counted in order; a section by its place in the headings."
    found, counts, sections = {}, dict.fromkeys(KINDS, 0), [0] * 7
    for m in re.finditer(DEFINITION.pattern + "|" + HEADING.pattern, body):
        level = int(m[3]) if m[3] else int(m[1][1]) if m[1].startswith("h") else None
        if level and level >= 2:
            sections[level] += 1
            sections[level + 1 :] = [0] * (6 - level)
        if m[2]:
            kind = m[2].split("-", 1)[0]
            if kind == "sec":
                found[m[2]] = ".".join(str(n) for n in sections[2 : (level or 2) + 1]).lstrip("0.") or "0"
            else:
                counts[kind] += 1
                found[m[2]] = str(counts[kind])
    return found


def resolve(body: str, warn) -> str:
    "Fill the post's number slots and references; `warn(message)` for each reference to no label."
    if "xref" not in body:
        return body
    known = numbers(body)

    def slot(m) -> str:
        kind, n = m[1].split("-", 1)[0], known.get(m[1], "?")
        return f"({n})" if kind == "eq" else f"{KINDS[kind]} {n}: "

    def reference(m) -> str:
        label = placeholder_data(m[1])
        if not (isinstance(label, str) and re.fullmatch(LABEL, label)):
            return m[0]  # not one of ours: raw HTML of the post that looks like it, left as written
        if label not in known:
            warn(f"unknown cross-reference @{label}")
            return f'<strong class="xref-missing">?@{html.escape(label)}</strong>'
        return f'<a class="xref" href="#{label}">{KINDS[label.split("-", 1)[0]]}&nbsp;{known[label]}</a>'

    return REFERENCE.sub(reference, SLOT.sub(slot, body))
