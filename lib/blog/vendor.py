"""Chart libraries served from the site: notebook outputs that load vega, vega-lite, vega-embed, plotly.js
or BokehJS from a CDN load the copies `make vendor` keeps in assets/vendor/<package>@<version>/ instead.

Altair's output lists its scripts as `https://cdn.jsdelivr.net/npm//vega@5?noext` (requirejs' paths, and
the same addresses for its own `loadScript`); Plotly's is `https://cdn.plot.ly/plotly-2.35.2.min.js`, or
the same without `.js` in a requirejs path. Only the major version has to match: a chart made for
vega-lite 4.8.1 draws with the vendored 4.17.0, as releases keep older specs of their major version
working. An address without a vendored copy (another library, another major version) stays as written:
the build's audit then reports a script tag that loads it, an error under `offline: true`.

Bokeh's output loads `https://cdn.bokeh.org/bokeh/release/bokeh-3.9.2.min.js` (and bokeh-gl-, -widgets-,
-tables-, -mathjax- of the same version). BokehJS reads the document that the Python bokeh of its release
wrote, and throws at a property it does not know; minor releases add properties and drop deprecated ones,
patch releases keep the models. So only the same major.minor maps, and any other version stays on its CDN.
"""

from __future__ import annotations

import functools
import html
import re
from pathlib import Path
from urllib.parse import urlparse

from nbconvert.preprocessors import Preprocessor
from nbformat.v4 import new_output

VENDOR = Path(__file__).parent / "templates" / "assets" / "vendor"
SCRIPT_OUTPUTS = ("text/html", "application/javascript")
# Other names of the same bundles. Altair's paths list vega-lib (vega's name before 5.0) beside vega.
ALIASES = {"vega-lib": "vega", "plotly.js": "plotly.js-dist-min", "plotly.js-dist": "plotly.js-dist-min"}
# An address ends where no name character follows, so a match is never a cut-off part of one.
END = r"(?![\w/.@-])"
NPM_CDN = re.compile(
    r"https?://(?:cdn\.jsdelivr\.net/npm/+|unpkg\.com/)"
    r"(?P<name>(?:@[\w.-]+/)?[\w.-]+)(?:@(?P<version>[\w.^~*-]+))?(?P<path>(?:/[\w.-]+)*)" + END
)
PLOTLY_CDN = re.compile(r"https?://cdn\.plot\.ly/plotly-(?P<version>\d+\.\d+\.\d+)(?:\.min)?(?P<ext>\.js)?" + END)
BOKEH_CDN = re.compile(
    r"https?://cdn\.bokeh\.org/bokeh/release/bokeh(?P<part>-[a-z]+)?-(?P<version>\d+\.\d+)\.\d+(?:\.min)?\.js" + END
)


@functools.cache
def vendored() -> dict[str, dict[int, str]]:
    "package -> {major version: folder}, from the folders `make vendor` wrote (the newest major last)."
    found = {}
    for folder in sorted(VENDOR.glob("*@*"), key=lambda f: _major(f.name.rpartition("@")[2])):
        name, _, version = folder.name.rpartition("@")
        found.setdefault(name, {})[_major(version)] = folder.name
    return found


def _major(version: str) -> int:
    "5 of `5`, `5.33.1`, `^5.2`; -1 of a tag like `latest`."
    found = re.match(r"[\^~=v]*(\d+)", version)
    return int(found[1]) if found else -1


def script(folder: str) -> str:
    "The one minified build in a vendored folder, as a path under assets/vendor."
    return f"{folder}/{next((VENDOR / folder).glob('*.min.js')).name}"


def pick(package: str, version: str | None) -> str | None:
    "The vendored folder for a requested version: same major; the newest when none or a tag is asked for."
    majors = vendored().get(ALIASES.get(package, package), {})
    if not majors:
        return None
    return majors.get(_major(version)) if version and _major(version) >= 0 else list(majors.values())[-1]


def npm_file(match: re.Match) -> str | None:
    "A jsdelivr or unpkg address: the package's default file, or its own build (`/build/vega.min.js`)."
    folder = pick(match["name"], match["version"])
    if not folder:
        return None
    local, name = script(folder), match["path"].rpartition("/")[2]
    stem = local.rpartition("/")[2].removesuffix(".min.js")
    if not match["path"] or re.fullmatch(rf"{re.escape(stem)}(\.min)?\.js", name):
        return local
    # requirejs adds `.js` to a path without one
    return local.removesuffix(".js") if re.fullmatch(rf"{re.escape(stem)}(\.min)?", name) else None


def plotly_file(match: re.Match) -> str | None:
    folder = pick("plotly.js-dist-min", match["version"])
    if not folder:
        return None
    return script(folder) if match["ext"] else script(folder).removesuffix(".js")


@functools.cache
def bokeh_folder(minor: str) -> str | None:
    "The vendored BokehJS of release `minor` (`3.9`), if any."
    return next((f.name for f in VENDOR.glob(f"bokehjs@{minor}.*")), None)


def bokeh_file(match: re.Match) -> str | None:
    "Minified or not, the address gets the minified build of the same part (bokeh-gl-3.9.2.js: bokeh-gl.min.js)."
    folder, name = bokeh_folder(match["version"]), f"bokeh{match['part'] or ''}.min.js"
    return f"{folder}/{name}" if folder and (VENDOR / folder / name).is_file() else None


CDNS = ((NPM_CDN, npm_file), (PLOTLY_CDN, plotly_file), (BOKEH_CDN, bokeh_file))


def localize(text: str, base: str) -> str:
    "`text` with each CDN address of a vendored library replaced by its copy under `{base}/assets/vendor/`."
    for pattern, local in CDNS:
        text = pattern.sub(functools.partial(_local_url, local, base), text)
    return text


def _local_url(local, base: str, match: re.Match) -> str:
    path = local(match)
    return f"{base}/assets/vendor/{path}" if path else match[0]


def folders_used(nb) -> set[str]:
    "The vendored folders that the notebook's outputs load, so the site copies only those."
    used = set()
    for text in script_texts(nb):
        for pattern, local in CDNS:
            used |= {path.partition("/")[0] for m in pattern.finditer(text) if (path := local(m))}
    return used


def script_texts(nb):
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            yield from (_text(data[mime]) for mime in SCRIPT_OUTPUTS if mime in data)


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else value


# A chart spec's data on another host: `"url": "https://vega.github.io/vega-datasets/data/stocks.csv"`.
REMOTE_DATA = re.compile(r'"url":\s*"((?:https?:)?//[^"]+)"')


def on_click(html_text: str, urls: list[str]) -> str:
    """An output whose script fetches data from another host, held in an inert <template> until the
    reader asks for it (`assets/embed.js` runs it then), so the page requests nothing by itself."""
    hosts = ", ".join(sorted({urlparse(u).netloc for u in urls}))
    return (f'<div class="embed embed-output"><template>{html_text}</template>'
            f"<span>This chart loads its data from {html.escape(hosts)}.</span> "
            '<button type="button" class="embed-load" data-load="output">Load the chart</button></div>')  # fmt: skip


# Bokeh's output_notebook() output adds BokehJS's script tags from this list, and show()'s output waits one
# second for BokehJS, then gives up: in the notebook the loading cell had long finished, but a page may still
# be fetching the 4 MB. So the site's copies load as tags in the page itself, before the outputs run.
BOKEH_LOADER = re.compile(r"((?:const|var) js_urls = )\[([^\]]*)\]")


def bokeh_scripts(output, base: str):
    """For Bokeh's loader `output` whose BokehJS addresses are all the site's: a new output of `<script src>`
    tags for them, which the page loads before it goes on, and the loader's list emptied. None for any other."""
    js = _text(output.get("data", {}).get("application/javascript", ""))
    found = BOKEH_LOADER.search(js)
    urls = re.findall(r"[\"']([^\"']+)[\"']", found[2]) if found else []
    if not urls or not all(u.startswith(f"{base}/assets/vendor/bokehjs@") for u in urls):
        return None
    output.data["application/javascript"] = js[: found.start()] + f"{found[1]}[]" + js[found.end() :]
    tags = "".join(f'<script src="{html.escape(u)}"></script>' for u in urls)
    return new_output("display_data", data={"text/html": tags})


class LocalScripts(Preprocessor):
    """Point outputs' CDN scripts at the copies the site serves (see the module's docstring); an output
    that would still fetch data from another host waits for a click, with one warning naming the cell."""

    def preprocess_cell(self, cell, resources, index):
        base, outputs = resources.get("image_url", ""), []
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            for mime in SCRIPT_OUTPUTS:
                if mime in data:
                    data[mime] = localize(_text(data[mime]), base)
            outputs += [tags] if (tags := bokeh_scripts(output, base)) else []
            outputs.append(output)
            for warning in still_remote(data):
                resources.setdefault("warnings", []).append(f"cell {index + 1}: {warning}")
        if "outputs" in cell:
            cell.outputs = outputs
        return cell, resources


def still_remote(data) -> list[str]:
    "Warnings of what an output, its CDN addresses already the site's, loads from elsewhere; data waits for a click."
    found = []
    remote = REMOTE_DATA.findall(data.get("text/html", ""))
    if remote:
        data["text/html"] = on_click(data["text/html"], remote)
        found.append(f"a chart loads data from another host ({', '.join(remote)}); it waits for a click")
    # Bokeh's loader adds its script tags from JavaScript, where the audit of the page's tags cannot see them
    bokeh = sorted({m[0] for mime in SCRIPT_OUTPUTS for m in BOKEH_CDN.finditer(_text(data.get(mime, "")))})
    if bokeh:
        found.append(f"loads BokehJS from its CDN ({', '.join(bokeh)}): the site has no copy of that release")
    return found
