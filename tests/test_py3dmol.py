"""py3Dmol's molecule viewers from the site: the script tag their output adds for 3Dmol.js at runtime points at
the site's copy, outputs of py3Dmol before 2.0 get the site's jQuery, and a viewer that would still load from
another host waits for a click.

fixtures/py3dmol/2020-01-01-molecules.ipynb holds what py3Dmol 0.8.0 and 2.5.5 wrote when run on two small
molecules of our own: 0.8.0 loads https://3dmol.csb.pitt.edu/build/3Dmol.js and finds its element with `$`,
2.5.5 loads jsdelivr's 3dmol@2.5.5 and uses getElementById. A third viewer (2.5.5) downloads its molecule
from the Protein Data Bank by its id."""

import re
import shutil
from pathlib import Path

import pytest
from browsing import launch, needs_chromium, served
from helpers import built, notebook, page, site
from nbformat.v4 import new_code_cell, new_output

from lib.blog.build import build
from lib.blog.vendor import download_url, localize

FIXTURE = Path(__file__).parent / "fixtures" / "py3dmol" / "2020-01-01-molecules.ipynb"
URL = "2020/01/01/molecules.html"
LOCAL_3DMOL = "/assets/vendor/3dmol@2.5.5/3Dmol-min.js"
JQUERY_TAG = '<script src="/assets/vendor/jquery@3.7.1/jquery.min.js"></script>'
# An address in a script: `src="https://..."`, `loadScriptAsync('https://...')`, `"//host/..."`.
SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>", re.S)
REMOTE = re.compile(r"""["'](?:https?:)?//""")
DRAWN = '[id^="3dmolviewer_"] canvas'


def molecules_site(tmp_path: Path) -> Path:
    root = site(tmp_path)
    shutil.copy(FIXTURE, root / "_notebooks" / FIXTURE.name)
    built(root)
    return root


def fixture_output(index: int) -> str:
    "The text/html of the fixture's viewer `index` (0: py3Dmol 0.8.0, 1: 2.5.5, 2: 2.5.5 downloading its molecule)."
    import nbformat

    cell = nbformat.read(FIXTURE, as_version=4).cells[1 + index]
    return cell.outputs[0].data["text/html"]


def viewer_cell(html: str):
    "A cell with one py3Dmol output, typed as py3Dmol types it."
    data = {"application/3dmoljs_load.v0": html, "text/html": html}
    return new_code_cell("view.show()", outputs=[new_output("display_data", data=data)])


def scripts(html: str) -> list[str]:
    return [s for s in SCRIPT.findall(html) if "application/ld+json" not in s]


def test_the_viewers_scripts_load_nothing_from_another_host(tmp_path):
    html = page(molecules_site(tmp_path), URL)
    viewers = [s for s in scripts(html) if "$3Dmol" in s]
    assert len(viewers) == 3  # the third inside its click-to-load card
    assert [s for s in scripts(html) if REMOTE.search(s)] == []
    assert all(f"loadScriptAsync('{LOCAL_3DMOL}')" in s for s in viewers)


def test_the_sites_jquery_comes_once_before_the_viewer_that_calls_it(tmp_path):
    root = molecules_site(tmp_path)
    for url in (URL, "slides/molecules.html"):
        html = page(root, url)
        assert html.count(JQUERY_TAG) == 1, url
        assert html.index(JQUERY_TAG) < html.index('$3Dmol.createViewer($("#3dmolviewer_'), url
    vendor = root / "_site" / "assets" / "vendor"
    assert sorted(f.name for f in vendor.iterdir()) == ["3dmol@2.5.5", "jquery@3.7.1"]
    assert all((f / "LICENSE").is_file() for f in vendor.iterdir())


def test_a_page_of_py3dmol_2_viewers_loads_no_jquery(tmp_path):
    root = site(tmp_path)
    notebook(root, viewer_cell(fixture_output(1)))
    built(root)
    html = page(root)
    assert LOCAL_3DMOL in html and "jquery" not in html
    assert [f.name for f in (root / "_site" / "assets" / "vendor").iterdir()] == ["3dmol@2.5.5"]


@pytest.mark.parametrize(
    "address",
    [
        "https://3dmol.csb.pitt.edu/build/3Dmol.js",  # py3Dmol 0.x
        "https://3dmol.org/build/3Dmol.js",
        "https://3Dmol.org/build/3Dmol-min.js",
        "http://3dmol.csb.pitt.edu/build/3Dmol-nojquery.js",
        "https://cdn.jsdelivr.net/npm/3dmol@latest/build/3Dmol-min.min.js",  # py3Dmol 1.8 and 2.0.0
        "https://cdnjs.cloudflare.com/ajax/libs/3Dmol/2.0.4/3Dmol-min.js",  # py3Dmol 2.0.1 to 2.4
        "https://cdn.jsdelivr.net/npm/3dmol@2.5.5/build/3Dmol-min.js",  # py3Dmol 2.5
        "https://unpkg.com/3dmol@2.1.0/build/3Dmol.js",
    ],
)
def test_each_py3dmol_address_becomes_the_sites_3dmol(address):
    assert localize(f"loadScriptAsync('{address}');", "/blog") == f"loadScriptAsync('/blog{LOCAL_3DMOL}');"


@pytest.mark.parametrize(
    "address",
    [
        "https://cdnjs.cloudflare.com/ajax/libs/3Dmol/1.8.0/3Dmol-min.js",  # a major version not vendored
        "https://cdn.jsdelivr.net/npm/3dmol@1.8.0/build/3Dmol-min.js",
        "https://3dmol.org/build/3Dmol.ui-min.js",  # another build
    ],
)
def test_a_3dmol_without_a_copy_waits_for_a_click(tmp_path, address):
    root, messages = site(tmp_path), []
    html = fixture_output(1).replace("https://cdn.jsdelivr.net/npm/3dmol@2.5.5/build/3Dmol-min.js", address)
    notebook(root, viewer_cell(html))
    build(root, root / "_site", log=messages.append, search=False)
    out = page(root)
    # the address is only in the inert <template> that assets/embed.js runs when the reader clicks
    assert address in out.split("<template>")[1].split("</template>")[0] and out.count(address) == 1
    assert '<button type="button" class="embed-load" data-load="output">Load the molecule viewer</button>' in out
    assert any(f"a 3Dmol viewer loads from another host ({address})" in m for m in messages), messages


def test_a_viewer_that_downloads_its_molecule_waits_for_a_click(tmp_path):
    html = page(molecules_site(tmp_path), URL)
    card = html.split('<div class="embed embed-output"><template>')[1]
    assert '$3Dmol.download("pdb:1ubq"' in card.split("</template>")[0]
    assert card.split("</template>")[1].startswith("<span>This molecule viewer loads its files from models.rcsb.org.")
    assert html.count("$3Dmol.download") == 1


@pytest.mark.parametrize(
    ("query", "url"),
    [
        ("pdb:1ubq", "https://models.rcsb.org/"),
        ("1ubq", "https://models.rcsb.org/"),  # 3Dmol.js takes four characters for a PDB id
        ("cid:702", "https://pubchem.ncbi.nlm.nih.gov/"),
        ("702", "https://pubchem.ncbi.nlm.nih.gov/"),
        ("url:https://example.org/a.pdb", "https://example.org/a.pdb"),
        ("https://example.org/a.pdb", "https://example.org/a.pdb"),
        ("url:molecules/a.pdb", None),  # a file of the site itself
    ],
)
def test_where_a_download_comes_from(query, url):
    assert download_url(query) == url


@needs_chromium
def test_the_viewers_draw_with_no_request_to_another_host(tmp_path):
    """The two viewers of molecules in the notebook draw (3Dmol.js adds its WebGL canvas) with every request to
    another host refused and recorded: none is made. The third asks the Protein Data Bank only once clicked."""
    from playwright.sync_api import sync_playwright

    out = molecules_site(tmp_path) / "_site"
    with served(out) as base, sync_playwright() as p:
        browser = launch(p)
        tab = browser.new_page()
        outside, errors = [], []
        tab.route("**/*", lambda r: r.continue_() if r.request.url.startswith(base) else refuse(r, outside))
        tab.on("pageerror", lambda e: errors.append(str(e)))
        tab.goto(f"{base}/{URL}", wait_until="networkidle")
        tab.wait_for_function(f"document.querySelectorAll('{DRAWN}').length == 2")
        kinds = tab.evaluate("[typeof $3Dmol, typeof jQuery]")
        assert (outside, errors, kinds) == ([], [], ["object", "function"])
        tab.get_by_role("button", name="Load the molecule viewer").click()
        tab.wait_for_function(f"document.querySelectorAll('{DRAWN}').length == 3")
        tab.wait_for_timeout(1000)
        browser.close()
    assert outside and all(u.startswith(("https://models.rcsb.org/", "https://files.rcsb.org/")) for u in outside)


def refuse(route, outside: list) -> None:
    outside.append(route.request.url)
    route.abort()
