"The site configuration: `_config.yml`, with fastpages' keys and defaults."

from __future__ import annotations

import typing
from dataclasses import dataclass, field, fields
from pathlib import Path

import yaml

from lib.blog.errors import BuildError, read_text
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
    branch: str = "main"
    default_badges: dict = field(default_factory=lambda: {"github": True, "colab": True, "binder": True})
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
    root: Path = Path(".")

    @property
    def full_url(self) -> str:
        return self.url.rstrip("/") + self.baseurl.rstrip("/")


KNOWN_KEYS = {f.name for f in fields(Site)} - {"root"}
TYPES = {name: typing.get_origin(kind) or kind for name, kind in typing.get_type_hints(Site).items() if name != "root"}


def load_config(root: Path) -> Site:
    "Read `root/_config.yml`; a missing file means all defaults, an unknown key is an error."
    path = root / "_config.yml"
    if not path.exists():
        return Site(root=root)
    try:
        data = yaml.safe_load(read_text(path)) or {}
    except yaml.YAMLError as e:
        raise BuildError(path, f"bad YAML: {e}") from None
    if not isinstance(data, dict):
        raise BuildError(path, "expected a mapping of keys to values")
    unknown = sorted(set(data) - KNOWN_KEYS)
    if unknown:
        raise BuildError(path, f"unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(KNOWN_KEYS))}")
    data = {k: v for k, v in data.items() if v is not None}  # `key:` with no value means the default
    return Site(root=root, **typed(data, TYPES, path))
