"Chart libraries from the site, not a CDN: notebook outputs of Altair and Plotly load the vendored copies."

import functools
import re
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from helpers import built, notebook, page, site
from nbformat.v4 import new_code_cell, new_output

from lib.blog.vendor import localize

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-quic", "--disable-gpu", "--no-first-run"]  # fmt: skip

# What Altair 4 writes for a chart (its `html` renderer, as in fastpages' own notebooks), cut to a small spec.
ALTAIR = """<div id="altair-viz-1"></div>
<script type="text/javascript">
  (function(spec, embedOpt){
    let outputDiv = document.currentScript.previousElementSibling;
    if (outputDiv.id !== "altair-viz-1") { outputDiv = document.getElementById("altair-viz-1"); }
    const paths = {
      "vega": "https://cdn.jsdelivr.net/npm//vega@5?noext",
      "vega-lib": "https://cdn.jsdelivr.net/npm//vega-lib?noext",
      "vega-lite": "https://cdn.jsdelivr.net/npm//vega-lite@4.8.1?noext",
      "vega-embed": "https://cdn.jsdelivr.net/npm//vega-embed@6?noext",
    };
    function loadScript(lib) {
      return new Promise(function(resolve, reject) {
        var s = document.createElement('script');
        s.src = paths[lib]; s.async = true;
        s.onload = () => resolve(paths[lib]);
        s.onerror = () => reject(`Error loading script: ${paths[lib]}`);
        document.getElementsByTagName("head")[0].appendChild(s);
      });
    }
    function showError(err) { outputDiv.innerHTML = `<div class="error" style="color:red;">${err}</div>`; throw err; }
    function displayChart(vegaEmbed) { vegaEmbed(outputDiv, spec, embedOpt).catch(err => showError(err.message)); }
    if(typeof define === "function" && define.amd) {
      requirejs.config({paths});
      require(["vega-embed"], displayChart, err => showError(`Error loading script: ${err.message}`));
    } else if (typeof vegaEmbed === "function") {
      displayChart(vegaEmbed);
    } else {
      loadScript("vega").then(() => loadScript("vega-lite")).then(() => loadScript("vega-embed"))
        .catch(showError).then(() => displayChart(vegaEmbed));
    }
  })({"mark": "bar", "data": {"values": [{"x": "a", "y": 1}, {"x": "b", "y": 3}]},
      "encoding": {"x": {"type": "nominal", "field": "x"}, "y": {"type": "quantitative", "field": "y"}},
      "selection": {"pick": {"type": "single"}},
      "$schema": "https://vega.github.io/schema/vega-lite/v4.8.1.json"}, {"mode": "vega-lite"});
</script>"""

# What Plotly writes for `fig.to_html(include_plotlyjs="cdn", full_html=False)`, cut to a small figure.
PLOTLY = """<div><script charset="utf-8" src="https://cdn.plot.ly/plotly-2.35.2.min.js"></script>
<div id="plot-1" class="plotly-graph-div" style="height:300px; width:100%;"></div>
<script type="text/javascript">Plotly.newPlot("plot-1", [{"type": "bar", "x": [1, 2], "y": [3, 4]}]);</script>
</div>"""


def html_cell(html: str):
    out = new_output("display_data", data={"text/html": html, "text/plain": "<Chart>"})
    return new_code_cell("chart", outputs=[out])


def chart_site(tmp_path: Path, html: str) -> Path:
    root = site(tmp_path)
    notebook(root, html_cell(html))
    built(root)
    return root


def test_altair_cdn_addresses_become_the_sites_copies(tmp_path):
    html = page(chart_site(tmp_path, ALTAIR))
    assert "cdn.jsdelivr.net" not in html
    for name in ("vega@5.", "vega-lite@4.", "vega-embed@6."):
        # ?noext stays: it keeps requirejs from adding `.js` to the path
        assert re.search(rf'"/assets/vendor/{re.escape(name)}[\d.]+/[\w-]+\.min\.js\?noext"', html), name


def test_plotly_cdn_script_becomes_the_sites_copy(tmp_path):
    html = page(chart_site(tmp_path, PLOTLY))
    assert "cdn.plot.ly" not in html
    assert re.search(r'src="/assets/vendor/plotly\.js-dist-min@2\.[\d.]+/plotly\.min\.js"', html)


def test_local_addresses_start_with_the_baseurl():
    assert localize('"https://cdn.jsdelivr.net/npm/vega@5"', "/blog").startswith('"/blog/assets/vendor/vega@5.')


def test_a_requirejs_path_stays_without_js():
    # requirejs adds `.js` to a path without one, as Plotly's notebook_connected output relies on
    local = localize("'plotly': ['https://cdn.plot.ly/plotly-2.35.2.min']", "")
    assert re.fullmatch(r"'plotly': \['/assets/vendor/plotly\.js-dist-min@2\.[\d.]+/plotly\.min'\]", local)


def test_the_charts_libraries_are_in_the_site_with_their_licenses(tmp_path):
    vendor = chart_site(tmp_path, ALTAIR) / "_site" / "assets" / "vendor"
    folders = sorted(f.name.rpartition("@")[0] for f in vendor.iterdir())
    assert folders == ["vega", "vega-embed", "vega-lite"]  # only what the post loads: no vega-lite 5, no plotly
    assert all((f / "LICENSE").is_file() and list(f.glob("*.min.js")) for f in vendor.iterdir())


def test_a_site_without_charts_carries_no_chart_library(tmp_path):
    root = site(tmp_path)
    notebook(root, "1 + 1")
    assert not (built(root) / "assets" / "vendor").exists()


def test_a_library_not_vendored_stays_on_its_cdn(tmp_path):
    bokeh = "https://cdn.bokeh.org/bokeh/release/bokeh-3.4.1.min.js"
    vega6 = "https://cdn.jsdelivr.net/npm/vega@6"  # a major version with no vendored copy
    html = page(chart_site(tmp_path, f'<script src="{bokeh}"></script><script src="{vega6}"></script>'))
    assert f'src="{bokeh}"' in html and f'src="{vega6}"' in html


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium is not installed (apt-get install -y chromium)")
def test_an_altair_chart_draws_with_nothing_from_another_host(tmp_path):
    from playwright.sync_api import sync_playwright

    out = chart_site(tmp_path, ALTAIR) / "_site"
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(out)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base, outside, errors = f"http://127.0.0.1:{server.server_port}", [], []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            tab = browser.new_page()
            tab.on("request", lambda r: outside.append(r.url) if not r.url.startswith((base, "data:")) else None)
            tab.on("pageerror", lambda e: errors.append(str(e)))
            tab.goto(f"{base}/2020/01/01/post.html", wait_until="networkidle")
            tab.wait_for_selector("#altair-viz-1 canvas, #altair-viz-1 svg", timeout=15_000)
            browser.close()
    finally:
        server.shutdown()
    assert outside == [] and errors == []
