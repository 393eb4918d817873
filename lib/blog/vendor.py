"""Chart libraries served from the site: notebook outputs that load vega, vega-lite, vega-embed, plotly.js,
BokehJS or 3Dmol.js from a CDN load the copies `make vendor` keeps in assets/vendor/<package>@<version>/ instead.

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

py3Dmol's output adds a script tag for 3Dmol.js from JavaScript: `https://3dmol.csb.pitt.edu/build/3Dmol.js`
or `https://3dmol.org/build/3Dmol.js` (py3Dmol before 1.8: that site's newest release, today a 2.x), jsdelivr's
`3dmol@latest/build/3Dmol-min.min.js` (1.8 and 2.0.0), cdnjs' `.../ajax/libs/3Dmol/2.0.4/3Dmol-min.js` (to 2.4)
or jsdelivr's `3dmol@2.5.5/build/3Dmol-min.js`. Outputs before py3Dmol 2.0 also call jQuery's `$`, which the
classic notebook had loaded: a page with such an output gets the site's jQuery in a tag before it. A viewer whose
3Dmol.js has no vendored copy, or that downloads its molecule from another host (`$3Dmol.download("pdb:1ubq",
...)`), waits for a click.
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
# 3Dmol.js' own full build, minified or not; `-nojquery` is the same viewer without the jQuery 1.x bundled in.
MOL_BUILD = r"(?P<file>3Dmol(?:-nojquery)?(?:[.-]min)*\.js)"
MOL_SITE = re.compile(r"https?://(?:3dmol\.csb\.pitt\.edu|(?:www\.)?3dmol\.org)/build/" + MOL_BUILD + END, re.I)
MOL_CDNJS = re.compile(r"https?://cdnjs\.cloudflare\.com/ajax/libs/3Dmol/(?P<version>[\w.-]+)/" + MOL_BUILD + END)


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
    "The one minified build in a vendored folder (`vega.min.js`, `3Dmol-min.js`), as a path under assets/vendor."
    return f"{folder}/{next(f.name for f in sorted((VENDOR / folder).glob('*.js')) if MINIFIED.search(f.name))}"


MINIFIED = re.compile(r"[.-]min\.js$")


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
    stem = MINIFIED.sub("", local.rpartition("/")[2])
    # `3Dmol-min.min.js` too: py3Dmol 1.8 asks jsdelivr for that, which minifies the minified build again
    same = re.fullmatch(rf"{re.escape(stem)}(?:[.-]min)*(?P<js>\.js)?", name)
    if not match["path"] or (same and same["js"]):
        return local
    # requirejs adds `.js` to a path without one
    return local.removesuffix(".js") if same else None


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


def mol_file(match: re.Match) -> str | None:
    "3Dmol's own site serves its newest release; cdnjs names the version."
    folder = pick("3dmol", match.groupdict().get("version"))
    return script(folder) if folder else None


CDNS = ((NPM_CDN, npm_file), (PLOTLY_CDN, plotly_file), (BOKEH_CDN, bokeh_file), (MOL_SITE, mol_file),
        (MOL_CDNJS, mol_file))  # fmt: skip


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


def on_click(html_text: str, urls: list[str], what: str = "chart", loads: str = "its data") -> str:
    """An output whose script fetches from another host, held in an inert <template> until the
    reader asks for it (`assets/embed.js` runs it then), so the page requests nothing by itself."""
    hosts = ", ".join(sorted({urlparse(u).netloc for u in urls}))
    return (f'<div class="embed embed-output"><template>{html_text}</template>'
            f"<span>This {what} loads {loads} from {html.escape(hosts)}.</span> "
            f'<button type="button" class="embed-load" data-load="output">Load the {what}</button></div>')  # fmt: skip


# A 3Dmol.js address left after `localize`: a build or release the site has no copy of.
REMOTE_MOL = re.compile(r"(?:https?:)?//[^\s\"'<>]+/3dmol[\w.-]*\.js", re.I)
# `$3Dmol.download("pdb:1ubq", viewer, ...)`: py3Dmol's `view(query=...)`, fetched when the viewer starts.
MOL_DOWNLOAD = re.compile(r"\$3Dmol\.download\(\s*([\"'])(?P<query>.*?)\1")
# Where 3Dmol.js 2.x fetches each kind of query (its `download`); `url:` names its own address.
MOL_QUERY_HOSTS = {"pdb": "https://models.rcsb.org/", "bcif": "https://models.rcsb.org/",
                   "mmtf": "https://models.rcsb.org/", "cid": "https://pubchem.ncbi.nlm.nih.gov/"}  # fmt: skip


def mol_remote(html_text: str) -> list[str]:
    "What a py3Dmol output would fetch from other hosts: a 3Dmol.js without a vendored copy, molecules by name."
    found = REMOTE_MOL.findall(html_text)
    return found + [url for m in MOL_DOWNLOAD.finditer(html_text) if (url := download_url(m["query"]))]


def download_url(query: str) -> str | None:
    "The address `$3Dmol.download(query)` fetches; None for a file of the site itself (a relative `url:`)."
    kind, colon, rest = query.partition(":")
    if not colon:  # 3Dmol.js guesses: four characters are a PDB id, digits a PubChem id, the rest an address
        kind, rest = "pdb" if len(query) == 4 else "cid" if query.isdigit() else "url", query
    address = rest if kind == "url" else query
    return MOL_QUERY_HOSTS.get(kind.lower()) or (address if urlparse(address).netloc else None)


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


# py3Dmol marks its outputs with this type beside text/html (which is what a page shows).
MOL_MIME = "application/3dmoljs_load.v0"
# A call of jQuery: `$("#id")`, `$.getScript(...)`, `jQuery(...)`; not `$3Dmol.createViewer`, not `${x}`.
JQUERY_CALL = re.compile(r"(?<![\w$])(?:\$|jQuery)\s*[(.]")


def needs_jquery(data) -> bool:
    "A py3Dmol output (before 2.0) whose script calls `$`, which only the classic notebook had defined."
    text = _text(data.get("text/html", ""))
    is_mol = MOL_MIME in data or "$3Dmol" in text
    return is_mol and "<script" in text and bool(JQUERY_CALL.search(text))


def jquery_script(base: str):
    "An output of the site's jQuery as a tag, which runs before the outputs after it do."
    src = html.escape(f"{base}/assets/vendor/{script(pick('jquery', None))}")
    return new_output("display_data", data={"text/html": f'<script src="{src}"></script>'})


class LocalScripts(Preprocessor):
    """Point outputs' CDN scripts at the copies the site serves (see the module's docstring); an output
    that would still fetch from another host waits for a click, with one warning naming the cell."""

    def preprocess_cell(self, cell, resources, index):
        base, outputs = resources.get("image_url", ""), []
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            for mime in SCRIPT_OUTPUTS:
                if mime in data:
                    data[mime] = localize(_text(data[mime]), base)
            outputs += [tags] if (tags := bokeh_scripts(output, base)) else []
            if needs_jquery(data) and not resources.get("jquery"):  # once a page: the first such output
                resources["jquery"] = True
                outputs.append(jquery_script(base))
            outputs.append(output)
            for warning in still_remote(data):
                resources.setdefault("warnings", []).append(f"cell {index + 1}: {warning}")
        if "outputs" in cell:
            cell.outputs = outputs
        return cell, resources


def still_remote(data) -> list[str]:
    """Warnings of what an output, its CDN addresses already the site's, loads from elsewhere; a chart's data
    and a molecule viewer that loads from another host wait for a click."""
    found, text = [], _text(data.get("text/html", ""))
    remote, mol = REMOTE_DATA.findall(text), mol_remote(text)
    if remote:
        data["text/html"] = on_click(text, remote)
        found.append(f"a chart loads data from another host ({', '.join(remote)}); it waits for a click")
    elif mol:
        data["text/html"] = on_click(text, mol, "molecule viewer", "its files")
        found.append(f"a 3Dmol viewer loads from another host ({', '.join(mol)}); it waits for a click")
    # Bokeh's loader adds its script tags from JavaScript, where the audit of the page's tags cannot see them
    bokeh = sorted({m[0] for mime in SCRIPT_OUTPUTS for m in BOKEH_CDN.finditer(_text(data.get(mime, "")))})
    if bokeh:
        found.append(f"loads BokehJS from its CDN ({', '.join(bokeh)}): the site has no copy of that release")
    return found
