"""Jekyll and fastpages compatibility, in one place: config keys, permalinks, and Liquid.

Everything here exists so that a blog made with fastpages builds unchanged. Liquid is python-liquid
(a real engine, not regular expressions) with the site's config as `site` and the post's front
matter as `page`. fastpages' includes (note, tip, youtube, ...) are this project's own templates
under `templates/includes/`, so embeds render as link cards that load nothing until clicked; a
blog's own `_includes/` serves any other name. A tag or filter Liquid cannot render is a warning
naming the file and line, and is removed from the text rather than shown raw. Liquid sees data only and its cost
is bounded (`liquid_engine.py`): a limit reached is an error naming the file and line.
"""

from __future__ import annotations

import html
import json
import posixpath
import re
import unicodedata
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import NamedTuple
from urllib.parse import quote, urlparse, urlsplit

from lib.blog.errors import BuildError, read_text

TEMPLATES = Path(__file__).parent / "templates" / "includes"
# Jekyll and fastpages keys that have no meaning here: accepted without a word.
IGNORED_KEYS = {
    "theme", "remote_theme", "plugins", "gems", "kramdown", "markdown", "highlighter", "exclude", "include",
    "future", "google_analytics", "annotations", "titles_from_headings", "feed", "use_math", "keep_files",
    "encoding", "sass", "collections", "defaults", "source", "destination", "layouts_dir", "data_dir",
    "includes_dir", "safe", "incremental", "livereload", "lsi", "excerpt_separator", "show_drafts", "limit_posts",
    "repository", "twitter", "logo", "social", "header_pages", "jekyll-archives", "search_exclude",
    "toc", "badges", "comments", "hide", "layout", "permalink_style", "port", "host", "github",
}  # fmt: skip
DEFAULT_PERMALINK = "/:categories/:year/:month/:day/:title:output_ext"
# A site's `permalink` may name a style instead of a pattern (a post's own `permalink` may not).
STYLES = {
    "date": DEFAULT_PERMALINK,
    "pretty": "/:categories/:year/:month/:day/:title/",
    "ordinal": "/:categories/:year/:y_day/:title:output_ext",
    "weekdate": "/:categories/:year/W:week/:short_day/:title:output_ext",
    "none": "/:categories/:title:output_ext",
}
# What each of Jekyll's `Utils.slugify` modes keeps besides letters, marks and decimal digits.
PRETTY_KEEPS = "._~!$&'()+,;=@"  # readable in a URL, and allowed in file names on every system
SLUG_RUNS = {"raw": re.compile(r"\s+"), "ascii": re.compile(r"[^A-Za-z0-9]+")}
SLUG_MODES = ("raw", "default", "pretty", "ascii", "latin")


def slugify(text: str, mode: str = "default", cased: bool = False) -> str:
    """Jekyll's `Utils.slugify`: each run of characters the mode does not keep becomes one dash, less a dash at
    either end. `default` keeps letters, marks and decimal digits, `pretty` also ._~!$&'()+,;=@ (and `_`, so
    `angr_notes` stays), `ascii` only A-Z, a-z and 0-9; `raw` replaces whitespace only."""
    if mode not in SLUG_MODES:
        return text if cased else text.lower()
    if mode == "latin":  # Jekyll transliterates first; dropping accents is that, for accented Latin letters
        text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    if mode in SLUG_RUNS:
        slug = SLUG_RUNS[mode].sub("-", text)
    else:  # Python's re has no \p{L}: each character is tested by its Unicode category instead
        keeps = PRETTY_KEEPS if mode == "pretty" else ""
        slug = re.sub("-+", "-", "".join(c if _letter_or_digit(c) or c in keeps else "-" for c in text))
    slug = re.sub("^-|-$", "", slug)
    return slug if cased else slug.lower()


def _letter_or_digit(c: str) -> bool:
    "Jekyll's [\\p{M}\\p{L}\\p{Nd}]: a mark, a letter or a decimal digit."
    kind = unicodedata.category(c)
    return kind[0] in "LM" or kind == "Nd"


def file_date(text: str) -> date:
    """The date of a post's file name (`2015-9-03`), read as Ruby's `Time.parse` reads it for Jekyll: a two-digit
    year is 1969-2068, and a day past the month's end runs into the next month (2021-02-30 is 2021-03-02)."""
    year, month, day = text.split("-")
    number = int(year) + (0 if len(year) > 2 else 1900 if int(year) >= 69 else 2000)
    if not 1 <= int(month) <= 12 or not 1 <= int(day) <= 31:
        raise ValueError(f"{text} is not a date")
    return date(number, int(month), 1) + timedelta(days=int(day) - 1)


class UrlParts(NamedTuple):
    "What Jekyll's URL placeholders are made of, for one post."

    day: date
    slug: str  # front matter's `slug`, or the file name after its date
    categories: Sequence[str] = ()
    name: str = ""  # the file name less its extension, date and all


PLACES: dict[str, Callable[[UrlParts], str]] = {
    "year": lambda p: f"{p.day.year:04d}", "month": lambda p: f"{p.day:%m}", "day": lambda p: f"{p.day:%d}",
    "i_month": lambda p: str(p.day.month), "i_day": lambda p: str(p.day.day), "short_year": lambda p: f"{p.day:%y}",
    "y_day": lambda p: f"{p.day:%j}", "short_day": lambda p: f"{p.day:%a}", "long_day": lambda p: f"{p.day:%A}",
    "short_month": lambda p: f"{p.day:%b}", "long_month": lambda p: f"{p.day:%B}",
    "week": lambda p: f"{p.day:%V}", "w_year": lambda p: f"{p.day:%G}", "w_day": lambda p: f"{p.day:%u}",
    "hour": lambda p: "00", "minute": lambda p: "00", "second": lambda p: "00",  # a file name's date is midnight
    "title": lambda p: slugify(p.slug, "pretty", cased=True), "slug": lambda p: slugify(p.slug),
    "name": lambda p: slugify(p.name), "collection": lambda p: "posts",
    "categories": lambda p: "/".join(dict.fromkeys(c.lower() for c in p.categories)),
    "slugified_categories": lambda p: "/".join(dict.fromkeys(slugify(c) for c in p.categories)),
}  # fmt: skip
# Longest first, so `:i_month` is not read as `:i` and `month`
PLACE = re.compile(":(" + "|".join(sorted([*PLACES, "output_ext"], key=len, reverse=True)) + ")")


def permalink(pattern: str, parts: UrlParts, ext: str = ".html") -> str:
    "A post's URL from a Jekyll permalink pattern, as Jekyll 4 builds it: each value escaped, then the URL tidied."
    fill = lambda m: escape_path(ext if m[1] == "output_ext" else PLACES[m[1]](parts))  # noqa: E731
    return sanitize_url(PLACE.sub(fill, pattern))


def site_pattern(style: str) -> str:
    "The pattern of a site's `permalink`, which may be a style name (`pretty`) or a pattern of its own."
    return STYLES.get(style, style or DEFAULT_PERMALINK)


def permalink_ext(pattern: str) -> str:
    "A post's output extension, as Jekyll takes it from its own `permalink`: `/feed.xml` is .xml ('' for none)."
    return "" if not pattern or pattern.endswith("/") else posixpath.splitext(posixpath.basename(pattern))[1]


def escape_path(value: str) -> str:
    "Jekyll's `URL.escape_path`: UTF-8 percent-encoded, but for what a URL path holds as it is (RFC 3986)."
    return quote(value, safe="!$&'()*+,/:;=?@")


def sanitize_url(url: str) -> str:
    "Jekyll's `URL.sanitize_url`: one leading slash, `..` made `/`, `./` dropped, and no runs of slashes."
    return re.sub("/+", "/", ("/" + url).replace("..", "/").replace("./", ""))


# Data files

DATA_READERS = {".json": "JSON", ".yml": "YAML", ".yaml": "YAML"}


def load_data(root: Path) -> dict:
    """Jekyll's `site.data`: each JSON or YAML file of `_data/` under its name without the suffix, a subfolder as a
    map of its own (`_data/a/b.yml` is `site.data.a.b`). A file of another kind, a bad file or a link out of the
    repository is an error naming the file; hidden files and a README are skipped, and linked folders not followed."""
    folder = root / "_data"
    if folder.is_symlink() and not folder.resolve().is_relative_to(root.resolve()):
        raise BuildError(folder, f"is a link to {folder.resolve()}, outside the repository")
    return _data_folder(folder, root.resolve())


def _data_folder(folder: Path, root: Path) -> dict:
    data = {}
    for path in sorted(folder.iterdir()) if folder.is_dir() else []:
        if path.is_symlink() and not path.resolve().is_relative_to(root):
            raise BuildError(path, f"is a link to {path.resolve()}, outside the repository")
        if path.name.startswith(".") or path.name.lower() == "readme.md" or path.is_symlink() and path.is_dir():
            continue
        if path.is_dir():
            data[path.name] = _data_folder(path, root)
        elif path.suffix in DATA_READERS:
            data[path.stem] = _data_file(path)
        else:
            raise BuildError(
                path, f"no reader for {path.suffix or 'files without a suffix'} files in _data/ (JSON, YAML)"
            )
    return data


def _data_file(path: Path):
    "The data in a JSON or YAML file, as `yamlfile` bounds it (a few hundred bytes of YAML can hold a billion values)."
    import yaml

    from lib.blog import yamlfile

    text, kind = read_text(path), DATA_READERS[path.suffix]
    try:
        return json.loads(text) if kind == "JSON" else yamlfile.load(text)
    except (ValueError, yaml.YAMLError) as e:
        raise BuildError(path, f"bad {kind}: {e}") from None
    except RecursionError:  # JSON nested deeper than Python's stack
        raise BuildError(path, f"bad {kind}: nested too deep") from None


# Liquid


def web_url(url: str) -> bool:
    "An http(s) or relative address: what an embed may load, and what a link of an untrusted notebook may lead to."
    return urlsplit(str(url).strip()).scheme.lower() in ("", "http", "https")


def card(kind: str, url: str, label: str, load: str = "") -> str:
    """A link to an outside embed. Nothing is requested from the other host until the reader clicks
    the button, which `assets/embed.js` turns into the iframe or script named in `data-load`. An address
    of another scheme (`javascript:`, `data:`) is refused: in an iframe's `src` it would run in the page."""
    if not web_url(url) or not web_url(load):
        raise ValueError(f"{kind} address {url if not web_url(url) else load!r} is not http(s) or relative")
    button = f'<button type="button" class="embed-load" data-load="{html.escape(load)}">Load it here</button>'
    link = f'<a href="{html.escape(url)}" rel="noopener">{html.escape(label)}</a>'
    return f'<div class="embed embed-{kind}">{link} {button if load else ""}</div>'


def image_card(src: str, alt: str) -> str:
    "An image on another host: a link to it, and a button that shows it in the page."
    link, host, label = html.escape(src), html.escape(urlparse(src).netloc), html.escape(alt or "an image")
    return (f'<span class="embed embed-image"><a href="{link}" rel="noopener">{label} (on {host})</a> '
            f'<button type="button" class="embed-load" data-load="{link}">Show it</button></span>')  # fmt: skip


def twitter_card(args: str, _context=None) -> str:
    url = args.strip().split()[0] if args.strip() else ""
    return card("twitter", url, f"Post on X/Twitter: {url}", "https://platform.twitter.com/widgets.js")


def gist_card(args: str, _context=None) -> str:
    gist = args.strip().split()[0].strip("'\"") if args.strip() else ""
    url = f"https://gist.github.com/{gist}"
    return card("gist", url, f"Gist {gist}", f"{url}.pibb")  # .pibb is the gist as a page, for an iframe


def youtube_card(url: str) -> str:
    video = re.split(r"[/=]", url.rstrip("/"))[-1].split("?")[0]
    embed = f"https://www.youtube-nocookie.com/embed/{video}"
    return card("youtube", f"https://www.youtube.com/watch?v={video}", f"Video on YouTube: {video}", embed)


def link_of(content) -> str:
    "fastpages passed embeds as a URL, or as the `<a href=...>` nbdev made of one."
    content = str(content or "").replace("<code>", "").replace("</code>", "")
    found = re.search(r'href="([^"]+)"', content)
    return (found[1] if found else re.sub(r"<[^>]+>", "", content)).strip()


def video_card(url) -> str:
    return card("video", link_of(url), f"Video: {link_of(url)}", link_of(url))


def footnote_ref(args: str, _context=None) -> str:
    n = html.escape(args.strip())
    return f'<sup id="fnref-{n}" class="footnote-ref"><a href="#fn-{n}">{n}</a></sup>'


def footnote_detail(text, n) -> str:
    n = html.escape(str(n))
    return f'<p id="fn-{n}" class="footnote"><sup>{n}</sup> {text} <a href="#fnref-{n}" aria-label="Back">↩</a></p>'


FILTERS = {
    "relative_url": lambda v, base="": f"{base}{v}",
    "slugify": lambda v, mode=None, cased=False: slugify(str(v), str(mode or "default"), bool(cased)),
    "slugize": lambda v, *a: slugify(str(v)),
    "jsonify": lambda v: json.dumps(v, default=str),
    "xml_escape": lambda v: html.escape(str(v)),
    "cgi_escape": lambda v: __import__("urllib.parse").parse.quote_plus(str(v)),
    "uri_escape": lambda v: __import__("urllib.parse").parse.quote(str(v), safe="/:?#[]@!$&'()*+,;="),
    "number_of_words": lambda v: len(str(v).split()),
    "markdownify": lambda v: v,
    "smartify": lambda v: v,
    "push": lambda v, item: [*(v or []), item],
    "fndetail": footnote_detail,
    "youtube_card": lambda v: youtube_card(link_of(v)),
    "twitter_card": lambda v: twitter_card(link_of(v)),
    "video_card": video_card,
    "date_to_xmlschema": lambda v: v.isoformat() if hasattr(v, "isoformat") else str(v),
    "date_to_string": lambda v: f"{v:%d %b %Y}" if hasattr(v, "strftime") else str(v),
}


class Liquid:
    """One Liquid environment per build: site variables, includes, fastpages' tags and filters. python-liquid is
    imported, and the environment made, when a text first holds Liquid markup: most posts hold none."""

    DROP_LIMIT = 50  # failing tags left out of one text: past that, each try to render it again costs too much

    def __init__(self, site: dict, root: Path):
        self.site, self.root, self._env = site, root, None

    @property
    def env(self):
        if self._env is None:
            from lib.blog import liquid_engine as engine

            site, root = engine.plain(self.site), self.root
            tags = {"fn": footnote_ref, "twitter": twitter_card, "gist": gist_card, "octicon": lambda *_: "",
                    "seo": lambda *_: ""}  # fmt: skip
            base = str(site.get("baseurl") or "").rstrip("/")
            filters = FILTERS | {"relative_url": lambda v: f"{base}{v}"}
            filters["absolute_url"] = lambda v: f"{str(site.get('url') or '').rstrip('/')}{base}{v}"
            loaders = [engine.RepoLoader(TEMPLATES, TEMPLATES), engine.RepoLoader(root / "_includes", root)]
            self._env, self._site = engine.environment(root, loaders, tags, filters), site
        return self._env

    def render(
        self,
        text: str,
        page: dict,
        warn: Callable[[str], None],
        path: Path | str = "",
        first_line: int = 0,
        cell: int | None = None,
        untrusted: bool = False,
    ) -> str:
        """`text` with its Liquid rendered. Each tag or output that fails is warned about and dropped, naming its
        line (`first_line` lines of the file `path` come before `text`); a limit reached, or more than DROP_LIMIT tags
        failing, is a BuildError naming the file and line. `untrusted`: the text is a notebook's under
        `sanitize_outputs`, whose include parameters may only be http(s) or relative addresses."""
        if "{{" not in text and "{%" not in text:
            return text
        from lib.blog import liquid_engine as engine

        where = (f"{path}: " if path else "") + (f"cell {cell}, " if cell is not None else "")
        if (at := engine.overlong(text)) >= 0:
            line = first_line + text.count("\n", 0, at) + 1
            raise BuildError(path, f"line {line}: a Liquid tag or output runs on for more than "
                                   f"{engine.MARKUP_LIMIT:,} characters", cell)  # fmt: skip
        env, page = self.env, engine.plain(page)
        env.output_stream_limit = engine.OUTPUT_LIMIT + len(text.encode())  # the text itself is not Liquid's doing
        with engine.rendering(untrusted) as spent:
            for _ in range(self.DROP_LIMIT + 1):
                spent.shown.clear()
                spent.in_time()  # each try parses the whole text again
                try:
                    rendered = env.from_string(text).render(site=self._site, page=page)
                except engine.ResourceLimitError as e:
                    line = first_line + _line_of(text, e)
                    raise BuildError(path, f"line {line}: Liquid stopped: {engine.describe(e)}", cell) from None
                except engine.LiquidError as e:
                    text = self.drop(text, e, warn, where, first_line)
                    continue
                self.warn_undefined(text, spent.shown, warn, where, first_line)
                return rendered
        raise BuildError(path, f"more than {self.DROP_LIMIT} Liquid tags fail; put {{% raw %}} around text that "
                               "is not Liquid", cell)  # fmt: skip

    @staticmethod
    def drop(text: str, error, warn: Callable[[str], None], where: str, first_line: int = 0) -> str:
        "Remove the tag or output at the error (or the first Liquid markup, if it has no place)."
        from lib.blog.liquid_engine import describe

        at = _index_of(text, error)
        start = max(text.rfind("{%", 0, at + 1), text.rfind("{{", 0, at + 1))
        start = start if start >= 0 else min(i for i in (text.find("{%"), text.find("{{")) if i >= 0)
        close = text.find("%}" if text.startswith("{%", start) else "}}", start)
        end = len(text) if close < 0 else close + 2
        line = first_line + text.count("\n", 0, start) + 1
        warn(f"{where}line {line}: Liquid {_excerpt(text[start:end])!r} was left out ({describe(error)})")
        return text[:start] + text[end:]

    @staticmethod
    def warn_undefined(text: str, shown: list, warn: Callable[[str], None], where: str, first_line: int) -> None:
        """Each `{{ name }}` of `text` that showed nothing because `name` is not defined: Jekyll shows nothing too,
        but it is often code or LaTeX (`\\mathbf{{x}}`) that was meant as text."""
        said = set()
        for undefined in shown:
            at = _index_of(text, undefined)
            start = text.rfind("{{", 0, at + 1)
            if at < 0 or start < 0 or (start, undefined.hint) in said:
                continue  # an include's own variable: the include decides what to show
            said.add((start, undefined.hint))
            markup, line = text[start : text.find("}}", at) + 2], first_line + text.count("\n", 0, start) + 1
            why = undefined.hint or f"{undefined.name} is undefined"
            warn(f"{where}line {line}: Liquid {markup!r} shows nothing: {why} (as in Jekyll; put {{% raw %}} and "
                 "{% endraw %} around it to show it as written)")  # fmt: skip


def _index_of(text: str, error) -> int:
    "Where in `text` an error or undefined value arose, or -1 when it arose elsewhere (in an include)."
    token = getattr(error, "token", None)
    return token.start_index if token and token.source == text and token.start_index >= 0 else -1


def _excerpt(markup: str) -> str:
    return markup if len(markup) <= 200 else f"{markup[:100]} ... {markup[-50:]}"


def _line_of(text: str, error) -> int:
    return text.count("\n", 0, max(_index_of(text, error), 0)) + 1
