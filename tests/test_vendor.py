"Chart libraries from the site, not a CDN: notebook outputs of Altair, Plotly and Bokeh load the vendored copies."

import re
from pathlib import Path

from browsing import launch, needs_chromium, served
from helpers import built, notebook, page, site
from nbformat.v4 import new_code_cell, new_markdown_cell, new_output

from lib.blog.build import build
from lib.blog.vendor import localize

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

# What bokeh 3.9.2 writes for `output_notebook()` (its application/javascript output; the text/html one beside
# it is the "Loading BokehJS ..." line), cut to the steps that run outside the classic notebook: the
# registration of its Jupyter renderer, the CSS loader and the load-failure warning are gone.
BOKEH_LOAD = """'use strict';
(function(root) {
  const force = true;
  if (typeof root._bokeh_onload_callbacks === "undefined" || force === true) {
    root._bokeh_onload_callbacks = [];
    root._bokeh_is_loading = undefined;
  }
  if (typeof (root._bokeh_timeout) === "undefined" || force === true) {
    root._bokeh_timeout = Date.now() + 5000;
    root._bokeh_failed_load = false;
  }
  function display_loaded(error = null) {
    const el = document.getElementById("bk-loading");
    if (el != null) {
      el.innerHTML = `BokehJS ${root.Bokeh.version} successfully loaded.`;
    } else if (Date.now() < root._bokeh_timeout) {
      setTimeout(() => display_loaded(error), 100);
    }
  }
  function run_callbacks() {
    try {
      root._bokeh_onload_callbacks.forEach(function(callback) {
        if (callback != null)
          callback();
      });
    } finally {
      delete root._bokeh_onload_callbacks
    }
  }
  function load_libs(css_urls, js_urls, callback) {
    root._bokeh_onload_callbacks.push(callback);
    if (root._bokeh_is_loading > 0) {
      return null;
    }
    if (js_urls == null || js_urls.length === 0) {
      run_callbacks();
      return null;
    }
    root._bokeh_is_loading = css_urls.length + js_urls.length;
    function on_load() {
      root._bokeh_is_loading--;
      if (root._bokeh_is_loading === 0) {
        run_callbacks()
      }
    }
    function on_error(url) {
      console.error("failed to load " + url);
    }
    for (let i = 0; i < js_urls.length; i++) {
      const url = js_urls[i];
      const element = document.createElement('script');
      element.onload = on_load;
      element.onerror = on_error.bind(null, url);
      element.async = false;
      element.src = url;
      document.head.appendChild(element);
    }
  };
  const js_urls = ["https://cdn.bokeh.org/bokeh/release/bokeh-3.9.2.min.js",
     "https://cdn.bokeh.org/bokeh/release/bokeh-gl-3.9.2.min.js",
     "https://cdn.bokeh.org/bokeh/release/bokeh-widgets-3.9.2.min.js",
     "https://cdn.bokeh.org/bokeh/release/bokeh-tables-3.9.2.min.js",
     "https://cdn.bokeh.org/bokeh/release/bokeh-mathjax-3.9.2.min.js"];
  const css_urls = [];
  const inline_js = [    function(Bokeh) {
      Bokeh.set_log_level("info");
    },
function(Bokeh) {
    }
  ];
  function run_inline_js() {
    if (root.Bokeh !== undefined || force === true) {
      try {
            for (let i = 0; i < inline_js.length; i++) {
      inline_js[i].call(root, root.Bokeh);
    }
      } catch (error) {display_loaded(error);throw error;
      }if (force === true) {
        display_loaded();
      }} else if (Date.now() < root._bokeh_timeout) {
      setTimeout(run_inline_js, 100);
    }
  }
  if (root._bokeh_is_loading === 0) {
    run_inline_js();
  } else {
    load_libs(css_urls, js_urls, function() {
      run_inline_js();
    });
  }
}(window));"""

# What bokeh 3.9.2 writes for `show(plot)`, a Plot with one line and no tools or axes: a text/html output with
# the plot's div, then this application/javascript one, which waits for BokehJS and draws into the div.
BOKEH_PLOT = """(function(root) {
  function embed_document(root) {
  const docs_json = {"78d1cbad-531b-43e2-9f7d-bb5ceac78b03":{"version":"3.9.2","title":"Bokeh Application",
    "config":{"type":"object","name":"DocumentConfig","id":"p1022",
    "attributes":{"notifications":{"type":"object","name":"Notifications","id":"p1023"}}},
    "roots":[{"type":"object","name":"Plot","id":"p1008","attributes":{"width":300,"height":200,
    "x_range":{"type":"object","name":"DataRange1d","id":"p1009"},"y_range":{"type":"object",
    "name":"DataRange1d","id":"p1010"},"x_scale":{"type":"object","name":"LinearScale","id":"p1011"},
    "y_scale":{"type":"object","name":"LinearScale","id":"p1012"},"title":{"type":"object","name":"Title",
    "id":"p1013"},"renderers":[{"type":"object","name":"GlyphRenderer","id":"p1019",
    "attributes":{"data_source":{"type":"object","name":"ColumnDataSource","id":"p1015",
    "attributes":{"selected":{"type":"object","name":"Selection","id":"p1016","attributes":{"indices":[],
    "line_indices":[]}},"selection_policy":{"type":"object","name":"UnionRenderers","id":"p1017"},
    "data":{"type":"map","entries":[["x",[1,2,3]],["y",[1,3,2]]]}}},"view":{"type":"object","name":"CDSView",
    "id":"p1020","attributes":{"filter":{"type":"object","name":"AllIndices","id":"p1021"}}},
    "glyph":{"type":"object","name":"Line","id":"p1018","attributes":{"x":{"type":"field","field":"x"},
    "y":{"type":"field","field":"y"}}}}}],"toolbar":{"type":"object","name":"Toolbar","id":"p1014"},
    "toolbar_location":null}}]}};
  const render_items = [{"docid":"78d1cbad-531b-43e2-9f7d-bb5ceac78b03","roots":{"p1008":"bk-plot"},
    "root_ids":["p1008"]}];
  void root.Bokeh.embed.embed_items_notebook(docs_json, render_items);
  }
  if (root.Bokeh !== undefined) {
    embed_document(root);
  } else {
    let attempts = 0;
    const timer = setInterval(function(root) {
      if (root.Bokeh !== undefined) {
        clearInterval(timer);
        embed_document(root);
      } else {
        attempts++;
        if (attempts > 100) {
          clearInterval(timer);
          console.log("Bokeh: ERROR: Unable to run BokehJS code because BokehJS library is missing");
        }
      }
    }, 10, root)
  }
})(window);"""
BOKEH_BUILDS = ("bokeh", "bokeh-gl", "bokeh-widgets", "bokeh-tables", "bokeh-mathjax")


def html_cell(html: str):
    out = new_output("display_data", data={"text/html": html, "text/plain": "<Chart>"})
    return new_code_cell("chart", outputs=[out])


def bokeh_cells():
    "The two cells of a Bokeh plot in a notebook: output_notebook(), then show(plot)."
    loading = '<div><span id="bk-loading">Loading BokehJS ...</span></div>'
    load = new_output("display_data", data={"text/html": loading})
    load_js = new_output("display_data", data={"application/javascript": BOKEH_LOAD})
    plot = new_output("display_data", data={"text/html": '<div id="bk-plot" data-root-id="p1008"></div>'})
    plot_js = new_output("display_data", data={"application/javascript": BOKEH_PLOT})
    load_cell = new_code_cell("output_notebook()", outputs=[load, load_js])
    return load_cell, new_code_cell("show(p)", outputs=[plot, plot_js])


def bokeh_site(tmp_path: Path) -> Path:
    root = site(tmp_path)
    notebook(root, *bokeh_cells())
    built(root)
    return root


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


def test_bokeh_cdn_addresses_become_the_sites_copies(tmp_path):
    root = bokeh_site(tmp_path)
    html = page(root)
    assert "cdn.bokeh.org" not in html
    # as tags the page loads before show()'s output looks for BokehJS, which its loader then need not add
    tags = "".join(f'<script src="/assets/vendor/bokehjs@3.9.2/{name}.min.js"></script>' for name in BOKEH_BUILDS)
    assert tags in html and "const js_urls = [];" in html
    vendor = root / "_site" / "assets" / "vendor"
    assert [f.name for f in vendor.iterdir()] == ["bokehjs@3.9.2"]
    assert sorted(f.name for f in (vendor / "bokehjs@3.9.2").iterdir()) == sorted(
        ["LICENSE", *(f"{name}.min.js" for name in BOKEH_BUILDS)]
    )


def test_bokeh_maps_only_to_the_same_minor_release():
    cdn = "https://cdn.bokeh.org/bokeh/release/"
    # a patch release writes the same models; the unminified build is the same code
    assert localize(f'"{cdn}bokeh-gl-3.9.0.js"', "") == '"/assets/vendor/bokehjs@3.9.2/bokeh-gl.min.js"'
    for kept in ("bokeh-3.8.2.min.js", "bokeh-3.10.0.min.js", "bokeh-api-3.9.2.min.js", "bokeh-3.9.0rc1.min.js"):
        assert localize(f'"{cdn}{kept}"', "") == f'"{cdn}{kept}"', kept


def test_javascript_outputs_need_no_jquery(tmp_path):
    root = bokeh_site(tmp_path)
    for html in (page(root), page(root, "slides/post.html")):
        assert "$('#" not in html and html.count("(function (element) {") == 2


def test_a_version_not_vendored_loads_from_its_cdn_only_on_a_click(tmp_path):
    bokeh = "https://cdn.bokeh.org/bokeh/release/bokeh-3.4.1.min.js"  # a minor release with no vendored copy
    vega6 = "https://cdn.jsdelivr.net/npm/vega@6"  # a major version with no vendored copy
    html = page(chart_site(tmp_path, f'<script src="{bokeh}"></script><script src="{vega6}"></script>'))
    assert f'data-load="{bokeh}"' in html and f'data-load="{vega6}"' in html
    assert f'src="{bokeh}"' not in html and f'src="{vega6}"' not in html


def test_bokeh_left_on_its_cdn_is_a_warning(tmp_path):
    # Bokeh's loader adds its script tags from JavaScript, out of sight of the audit of the page's tags
    root, messages = site(tmp_path), []
    load, _ = bokeh_cells()
    load.outputs[1].data["application/javascript"] = BOKEH_LOAD.replace("3.9.2", "3.4.1")
    notebook(root, load)
    build(root, root / "_site", log=messages.append, search=False)
    warning = "loads BokehJS from its CDN (https://cdn.bokeh.org/bokeh/release/bokeh-3.4.1.min.js"
    assert any(warning in m for m in messages), messages


def draw_offline(out: Path, *selectors: str, url: str = "2020/01/01/post.html") -> tuple[list, list]:
    "Open `url` of the site in `out` in Chromium until the selectors show: (requests to other hosts, page errors)."
    from playwright.sync_api import sync_playwright

    outside, errors = [], []
    with served(out) as base, sync_playwright() as p:
        browser = launch(p)
        tab = browser.new_page()
        tab.on("request", lambda r: outside.append(r.url) if not r.url.startswith((base, "data:")) else None)
        tab.on("pageerror", lambda e: errors.append(str(e)))
        tab.goto(f"{base}/{url}", wait_until="networkidle")
        for selector in selectors:
            tab.wait_for_selector(selector, timeout=15_000)
        browser.close()
    return outside, errors


@needs_chromium
def test_an_altair_chart_draws_with_nothing_from_another_host(tmp_path):
    out = chart_site(tmp_path, ALTAIR) / "_site"
    assert draw_offline(out, "#altair-viz-1 canvas, #altair-viz-1 svg") == ([], [])


@needs_chromium
def test_a_bokeh_plot_draws_with_nothing_from_another_host(tmp_path):
    # BokehJS puts its plot's element in place of the div, and draws in its shadow root, which Playwright's
    # CSS selectors reach into
    out = bokeh_site(tmp_path) / "_site"
    loaded = "#bk-loading:has-text('BokehJS 3.9.2 successfully loaded.')"  # the loader ran to its end
    assert draw_offline(out, ".bk-Plot canvas", loaded) == ([], [])


def math_site(tmp_path: Path, text: str) -> Path:
    root = site(tmp_path)
    notebook(root, new_markdown_cell(text))
    built(root)
    return root


def test_slides_draw_unconverted_math_with_the_sites_katex(tmp_path):
    root = math_site(tmp_path, r"Red: $\bbox[red]{x}$")  # latex2mathml has no \bbox: TeX for KaTeX
    deck = page(root, "slides/post.html")
    assert '<span class="math-tex">' in deck
    for name in ("katex.min.css", "katex.min.js"):
        assert f'"/assets/vendor/katex@0.19.1/{name}"' in deck
        assert (root / "_site" / "assets" / "vendor" / "katex@0.19.1" / name).is_file()


def test_slides_without_such_math_load_no_katex(tmp_path):
    deck = page(math_site(tmp_path, "Plain: $x^2$"), "slides/post.html")
    assert "<math" in deck and "katex" not in deck
