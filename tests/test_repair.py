"Notebooks repaired before export (repair.py), and the math fastpages blogs wrote for kramdown and MathJax."

import base64
import re

import nbformat
from helpers import CONFIG, notebook, page, site, text_output
from nbformat.v4 import new_code_cell, new_markdown_cell

from lib.blog.build import build
from lib.blog.render import ASSETS

PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=")


def warnings_of(path) -> list[str]:
    "Build the notebook's site without the search index; the warnings about the notebook, without its path."
    root, log = path.parent.parent, []
    build(root, root / "_site", search=False, log=log.append)
    return [line.removeprefix(f"warning: {path}, ") for line in log if line.startswith(f"warning: {path}, ")]


def test_colab_widget_metadata_without_state_is_dropped_with_a_warning(tmp_path):
    root = site(tmp_path)
    # A rich output: nbconvert reads the widget state when it picks one of its types.
    path = notebook(root, new_code_cell("6 * 7", outputs=[text_output("42")]))
    nb = nbformat.read(path, as_version=4)
    # What Colab saves (nbconvert#1731): the widget-state key without "state", a KeyError in nbconvert's exporter.
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"version_major": 2, "version_minor": 0}}
    nbformat.write(nb, path)
    assert warnings_of(path) == ["widget metadata without state was dropped"]
    assert "42" in page(root) and "widget-state" not in page(root)


def test_an_image_pasted_into_a_markdown_cell_becomes_a_file(tmp_path):
    root = site(tmp_path)
    pasted = new_markdown_cell("![a chart](attachment:image.png)\nUnder **it**", attachments={
        "image.png": {"image/png": base64.b64encode(PNG).decode()}})  # fmt: skip
    assert warnings_of(notebook(root, pasted)) == []
    html = page(root)
    img = re.search(r'<img [^>]*src="(/images/[^"]+/2-image\.png)"[^>]*>', html)
    assert img and 'alt="a chart"' in img[0] and (root / "_site" / img[1].lstrip("/")).read_bytes() == PNG
    assert "Under <strong>it</strong>" in html  # the line under the image is still markdown


def test_math_latex2mathml_cannot_convert_is_drawn_by_the_sites_katex(tmp_path):
    root = site(tmp_path, CONFIG + "offline: true\n")  # any load from another host fails the build
    path = notebook(root, new_markdown_cell("Boxed: $\\bbox[red]{x}$ and $y$"), new_markdown_cell("$$ $$"))
    assert warnings_of(path) == [
        "cell 2: math $\\bbox[red]{x}$ rendered in the browser by KaTeX (latex2mathml: unknown command \\bbox)",
        "cell 3: empty math rendered in the browser by KaTeX (latex2mathml: NoAvailableTokensError)",
    ]
    html = page(root)
    assert '<span class="math-tex">\\bbox[red]{x}</span>' in html and '<div class="math-tex"></div>' in html
    loads = re.findall(r'(?:href|src)="/assets/(vendor/katex@[^"]+)"', html)
    assert sorted(loads) == ["vendor/katex@0.19.1/katex.min.css", "vendor/katex@0.19.1/katex.min.js"]
    assert all((ASSETS / load).is_file() for load in loads)  # the site serves its own copy: `make vendor`


def test_kramdown_math_renders_as_mathml_and_loads_no_katex(tmp_path):
    root = site(tmp_path)
    text = "Right under text\n$$\nx^2\n$$\n\n<ul><li>$y_1$ costs $5 or $6</li></ul>\n\nkramdown's inline $$z$$ too"
    assert warnings_of(notebook(root, new_markdown_cell(text))) == []
    html = page(root)
    math = re.compile(r'<math [^>]*display="(\w+)"[^>]*><mrow>(.+?)</mrow>')
    assert math.findall(html) == [
        ("block", "<msup><mi>x</mi><mn>2</mn></msup>"),  # `$$` right under text: display math
        ("inline", "<msub><mi>y</mi><mn>1</mn></msub>"),  # inside raw HTML
        ("inline", "<mi>z</mi>"),  # kramdown's `$$z$$` in a sentence: inline
    ]
    assert "</math> costs $5 or $6</li>" in html  # dollars that are money stay text
    assert "$$" not in html and "katex" not in html
