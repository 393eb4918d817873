"""Raw HTML that loads from another host waits for a click: an `<iframe>`, `<img>`, `<script src>`, `<video>`,
`<object data>` or stylesheet `<link>` written into a post, a notebook's markdown or an output becomes a card with the
address as a link and a button that loads it (`assets/embed.js`). So a page requests nothing from another
host by itself, as `> youtube:` and the includes already promised.

Written by hand over the tags that load: a full HTML parser would re-serialise the rest of the author's
HTML, and a post's markup must come out as written.
"""

from __future__ import annotations

import html
import re
from urllib.parse import urlparse

from lib.blog.jekyll import card, image_card, youtube_card
from lib.blog.paths import is_remote

ATTR = re.compile(r"""([\w:-]+)\s*=\s*("[^"]*"|'[^']*'|[^\s"'>]+)""")
# A loading tag with its content and closing tag, where it has them (an iframe's fallback text, a script).
LOADING = re.compile(
    r"<(?P<tag>iframe|script|video|audio|embed|object|img|link)\b(?P<attrs>[^>]*)>"
    r"(?:(?P<inner>(?:(?!<(?P=tag)\b).)*?)</(?P=tag)\s*>)?",
    re.I | re.S,
)
STYLESHEET = {"stylesheet", "preload", "modulepreload", "icon"}


def attributes(text: str) -> dict[str, str]:
    return {k.lower(): html.unescape(v.strip("\"'")) for k, v in ATTR.findall(text)}


def deferred(html_text: str) -> str:
    "`html_text` with each tag that loads from another host turned into a click-to-load card."
    if "//" not in html_text:
        return html_text  # the common case: nothing that could name another host
    return LOADING.sub(_card_for, html_text)


def _card_for(m: re.Match) -> str:
    tag, found = m["tag"].lower(), attributes(m["attrs"])
    if tag == "link":
        url = found.get("href", "")
        if not is_remote(url) or not set(found.get("rel", "").lower().split()) & STYLESHEET:
            return m[0]
        return card("style", url, f"Styles from {host(url)}", url)
    url = found.get("data" if tag == "object" else "src", "")
    if not is_remote(url):
        return m[0]
    if tag == "img":
        return image_card(url, found.get("alt", "")) + (m["inner"] or "")
    if tag == "script":
        return card("script", url, f"A script from {host(url)}", url)
    if "youtube.com/embed/" in url or "youtube-nocookie.com/embed/" in url:
        return youtube_card(url)
    return card("frame", url, found.get("title") or f"Embedded content from {host(url)}", url)


def host(url: str) -> str:
    return urlparse(url if "://" in url else "https:" + url).netloc
