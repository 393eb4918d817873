"""Inline values (`{python} expr`): written into the markdown by `make execute`, checked by the gate and
the lint, shown by the site, and readable as plain numbers in Jupyter, GitHub and every markdown renderer.

Small notebooks are built in memory; the ones that execute run for real in execnb's shell.
"""

import functools
import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from helpers import built, notebook, site
from markdown_it import MarkdownIt
from nbformat.v4 import new_markdown_cell

from lib.blog.errors import BuildError
from lib.blog.execute import execute, key_parts
from lib.blog.gate import check
from lib.blog.inline import escape, expressions, fill, markup, problems, unescape, written
from lib.blog.lint import inline_values, lint

quiet = dict(log=lambda _: None)
ANSWER = "The answer is <span><!--{python} f'{answer:.1f}'-->42.0</span>."


def prose(text: str, stored: dict | None = None, tags: list[str] | None = None):
    cell = new_markdown_cell(text)
    if stored is not None:
        cell.metadata["blog"] = {"inline": stored}
    if tags:
        cell.metadata["tags"] = tags
    return cell


def cells(path: Path) -> list:
    return nbformat.read(path, 4).cells


# The written form, without a kernel.


def test_quarto_syntax_is_written_as_the_value_with_its_expression_in_a_comment():
    text = "The answer is `{python} f'{answer:.1f}'`."
    assert fill(text, {"f'{answer:.1f}'": "42.0"}) == ANSWER
    assert expressions(ANSWER) == ["f'{answer:.1f}'"] and written(ANSWER) == [("f'{answer:.1f}'", "42.0")]


def test_a_changed_value_is_replaced_and_the_rest_stays_byte_for_byte():
    text = f"*Before*  {ANSWER}\n| a |\n|---|\n| <span><!--{{python}}  x-->1</span> |"
    assert fill(text, {"f'{answer:.1f}'": "42.0", "x": "1"}) == text
    changed = fill(text, {"f'{answer:.1f}'": "43.0", "x": "1"})
    assert changed == text.replace("42.0", "43.0")


def test_a_value_is_escaped_so_markdown_reads_it_as_it_is():
    value = "2*3 <b> | $5 & a_b `c` \\"
    assert unescape(escape(value)) == value
    html = MarkdownIt("commonmark", {"html": True}).render(markup("x", value))
    assert html == "<p><span><!--{python} x-->2*3 &lt;b&gt; | $5 &amp; a_b `c` \\</span></p>\n"


RENDERED = {  # where a value stands: what CommonMark (markdown-it here; JupyterLab's marked below) makes of it
    "first on a line": ("{v} of the digits are *right*.\nmore", "<p>{h} of the digits are <em>right</em>.\nmore</p>"),
    "in a table cell": ("| a |\n|---|\n| {v} |", "<td>{h}</td>"),
    "in emphasis": ("**{v}**, *{v}*.", "<p><strong>{h}</strong>, <em>{h}</em>.</p>"),
    "next to punctuation": ("({v}, {v}).", "<p>({h}, {h}).</p>"),
    "in a list item": ("- {v} items", "<li>{h} items</li>"),
    "in a heading": ("# Accuracy {v}", "<h1>Accuracy {h}</h1>"),
}


@pytest.mark.parametrize("where", RENDERED)
def test_a_written_value_stays_inline_wherever_it_stands(where):
    text, want = RENDERED[where]
    value = markup('f"{acc:.2%}"', "66.85|%")
    html = MarkdownIt("commonmark", {"html": True}).enable("table").render(text.format(v=value))
    assert want.format(h='<span><!--{python} f"{acc:.2%}"-->66.85|%</span>') in html


@functools.cache
def marked_chunk() -> Path | None:
    "JupyterLab's own copy of marked, the renderer of markdown cells in Jupyter, if it is installed."
    static = Path(sys.prefix) / "share" / "jupyter" / "lab" / "static"
    for chunk in sorted(static.glob("*.js")) if static.is_dir() else []:
        if chunk.stat().st_size < 200_000 and b"marked(): input parameter" in (text := chunk.read_bytes()):
            return chunk if b"Lexer:()=>" in text else None
    return None


LOAD_MARKED = """
global.self = global;
require(process.argv[2]);
const chunk = Object.values(self).find((v) => Array.isArray(v) && v.length && Array.isArray(v[0]))[0][1];
const marked = {};
const r = {r() {}, d(t, defs) { for (const k in defs) Object.defineProperty(t, k, {get: defs[k], enumerable: true}); }};
chunk[Object.keys(chunk)[0]]({exports: marked}, marked, r);
const cases = JSON.parse(require('fs').readFileSync(0, 'utf8'));
console.log(JSON.stringify(cases.map((md) => marked.marked.parse(md, {gfm: true}))));
"""


def marked(tmp_path: Path, cases: list[str]) -> list[str]:
    "HTML that JupyterLab's marked makes of each markdown text; skips where node or JupyterLab's marked is missing."
    chunk, node = marked_chunk(), shutil.which("node")
    if not (chunk and node):
        pytest.skip("needs node and JupyterLab's bundled marked")
    shutil.copy(chunk, tmp_path / "chunk.cjs")  # .cjs: loaded as CommonJS, whatever a package.json says
    (tmp_path / "load.cjs").write_text(LOAD_MARKED)
    cmd = [node, "load.cjs", "./chunk.cjs"]
    run = subprocess.run(cmd, input=json.dumps(cases), cwd=tmp_path, capture_output=True, text=True)
    if run.returncode:
        pytest.skip(f"JupyterLab's marked could not be loaded: {run.stderr[-200:]}")
    return json.loads(run.stdout)


def test_jupyterlab_shows_the_value_and_hides_the_expression(tmp_path):
    value = markup('f"{acc:.2%}"', "66.85|%")
    html = marked(tmp_path, [text.format(v=value) for text, _ in RENDERED.values()])
    for where, got in zip(RENDERED, html, strict=True):
        assert RENDERED[where][1].format(h='<span><!--{python} f"{acc:.2%}"-->66.85|%</span>') in got, where


def test_a_pair_of_comments_would_lose_the_markdown_of_a_line_it_starts(tmp_path):
    "Why the value is in a <span>: in Jupyter, a line that begins with a comment is raw HTML."
    [html] = marked(tmp_path, ["<!--{python} acc-->66.85%<!--/--> of the digits are *right*."])
    assert "*right*" in html and "<em>" not in html


def test_markup_that_cannot_be_read_is_named():
    assert problems(ANSWER) == []
    assert problems("a <!--{python} x-->1 b") == [
        "malformed inline value '<!--{python} x-->1 b': expected <span><!--{python} expr-->value</span>"
    ]
    assert problems("`{python} x--1`") == ["inline `{python} x--1` holds `--`, which cannot stand in an HTML comment"]
    assert problems("`{python} f'${x}'`") == [
        "inline `{python} f'${x}'` holds `$`, which Jupyter reads as math; write it as \\x24"
    ]
    assert problems("`{python} (x\n+ 1)`") == ["inline `{python} (x\n+ 1)` spans lines; write it on one line"]


# `make execute`, the gate, the lint and the site, with a kernel.


def test_execute_writes_the_value_into_the_cell_and_keeps_it_in_the_metadata(tmp_path):
    root = site(tmp_path)
    path = notebook(root, "answer = 6 * 7", prose("The answer is `{python} f'{answer:.1f}'`."), prose("*Other*"))
    execute([path], root, **quiet)
    _, code, answer, other = cells(path)
    assert answer.source == ANSWER and other.source == "*Other*" and code.source == "answer = 6 * 7"
    assert answer.metadata["blog"]["inline"] == {"f'{answer:.1f}'": "42.0"}
    before, logs = path.read_bytes(), []
    assert execute([path], root, log=logs.append) == [] and logs == [f"  fresh  {path}"]
    assert path.read_bytes() == before
    assert lint(path) == [] and check([path], root) == []


def test_execute_replaces_a_value_when_it_changes(tmp_path):
    root = site(tmp_path)
    path = notebook(root, "answer = 6 * 7", prose("The answer is `{python} f'{answer:.1f}'`."))
    execute([path], root, **quiet)
    nb = nbformat.read(path, 4)
    nb.cells[1].source = "answer = 6 * 8"
    nbformat.write(nb, path)
    execute([path], root, **quiet)
    assert cells(path)[2].source == ANSWER.replace("42.0", "48.0")


def test_a_fresh_notebook_still_in_quarto_form_is_run_to_write_its_values(tmp_path):
    "The posts executed before values were written into the cells: their key matches, their values are not there."
    root = site(tmp_path)
    path = notebook(root, "answer = 42", prose("The answer is `{python} answer`.", {"answer": "42"}))
    nb = json.loads(path.read_text())
    nb["metadata"]["blog"] = {"key": key_parts(nb, path, root)}
    path.write_text(json.dumps(nb))
    logs = []
    assert execute([path], root, log=logs.append) == [path]
    assert logs == [f"  run    {path} (inline values to write)"]
    assert cells(path)[2].source == "The answer is <span><!--{python} answer-->42</span>."


@pytest.mark.parametrize(
    "expr, message",
    [
        ("x--1", "inline `{python} x--1` holds `--`, which cannot stand in an HTML comment"),
        ("'a\\nb'", "inline `{python} 'a\\nb'` gives 'a\\nb', more than one line; an inline value must be one line"),
    ],
)
def test_execute_refuses_what_it_cannot_write_naming_the_cell(tmp_path, expr, message):
    root = site(tmp_path)
    path = notebook(root, "x = 1", prose(f"Value: `{{python}} {expr}`."))
    before = path.read_bytes()
    with pytest.raises(BuildError) as error:
        execute([path], root, **quiet)
    assert (error.value.path, error.value.cell, error.value.message) == (path, 3, message)
    assert path.read_bytes() == before


def test_the_gate_compares_the_written_value_with_a_fresh_evaluation(tmp_path):
    root = site(tmp_path)
    stale = prose("The answer is <span><!--{python} answer-->41</span>.", {"answer": "41"})
    path = notebook(root, "answer = 6 * 7", stale)
    [finding] = check([path], root)
    assert str(finding) == f"{path}, cell 3: inline `{{python}} answer` shows '41', a fresh run gives '42'"


def test_the_gate_reads_the_value_in_the_cell_not_the_metadata(tmp_path):
    root = site(tmp_path)
    edited = prose("The answer is <span><!--{python} answer-->41</span>.", {"answer": "42"})
    [finding] = check([notebook(root, "answer = 6 * 7", edited)], root)
    assert finding.message == "inline `{python} answer` shows '41', a fresh run gives '42'"


def test_a_no_check_cell_keeps_its_value_out_of_the_gate(tmp_path):
    root = site(tmp_path)
    timing = prose("Took <span><!--{python} f'{t:.0f}'-->3</span> s.", {"f'{t:.0f}'": "3"}, tags=["no-check"])
    assert check([notebook(root, "import time\nt = time.time()", timing)], root) == []


def test_the_site_shows_the_written_value_without_its_markup(tmp_path):
    root = site(tmp_path)
    stored = {"answer": "2*3*4", "f'{answer:.1f}'": "42.0"}
    notebook(root, prose(f"{ANSWER}\n<span><!--{{python}} answer-->2\\*3\\*4</span> *is* it.", stored))
    html = (built(root) / "2020/01/01/post.html").read_text()
    assert 'The answer is <span class="inline-value">42.0</span>.' in html
    assert '<span class="inline-value">2*3*4</span> <em>is</em> it.' in html
    assert "{python}" not in html and "answer:.1f" not in html


def test_the_lint_finds_values_make_execute_did_not_write(tmp_path):
    root = site(tmp_path)
    path = notebook(
        root,
        prose("<span><!--{python} a-->1</span>, <span><!--{python} b-->2</span>", {"b": "3"}),
        prose("<span><!--{python} c-->2\\*3</span> and <span><!--{python} d-->2*3</span>", {"c": "2*3", "d": "2*3"}),
        prose("Broken: <!--{python} e-->5 and `{python} f`."),
    )
    assert [str(f).split(", ", 1)[1] for f in inline_values(path, nbformat.read(path, 4))] == [
        "cell 2: inline `{python} a` shows '1', but was never evaluated; run `make execute`",
        "cell 2: inline `{python} b` shows '2', but `make execute` stored '3'; run `make execute`",
        "cell 3: inline `{python} d` is written '2*3', unescaped: '2\\\\*3' reads as '2*3'; run `make execute`",
        "cell 4: malformed inline value '<!--{python} e-->5 and `{python} f`.': "
        "expected <span><!--{python} expr-->value</span>",
        "cell 4: inline `{python} f` shows its code in Jupyter; run `make execute`",
    ]
