"Machine-readable pages: the Atom feed (feedgen) and sitemap.xml. Dates come from the posts, never the clock."

from __future__ import annotations

from datetime import datetime, time, timezone
from xml.etree import ElementTree as ET

from lib.blog.config import Site
from lib.blog.pages import listed
from lib.blog.read import Post


def _when(post: Post) -> datetime:
    return datetime.combine(post.date, time(0, 0), tzinfo=timezone.utc)


def atom_feed(posts: list[Post], site: Site) -> bytes:
    from feedgen.feed import FeedGenerator  # lxml and all: imported only when the feed changed (see build.py)

    newest = sorted(listed(posts), key=lambda p: (p.date, p.slug))[-20:]
    fg = FeedGenerator()
    fg.id(site.full_url + "/")
    fg.title(site.title)
    fg.subtitle(site.description or site.title)
    fg.author(name=site.author or site.title)
    fg.link(href=site.full_url + "/", rel="alternate")
    fg.link(href=site.full_url + "/feed.xml", rel="self")
    fg.language(site.language)
    fg.updated(_when(newest[-1]) if newest else datetime(1970, 1, 1, tzinfo=timezone.utc))
    for post in newest:  # feedgen prepends each entry, so the newest ends up first
        entry = fg.add_entry()
        entry.id(site.full_url + post.url)
        entry.title(post.title)
        entry.link(href=site.full_url + post.url)
        entry.summary(post.summary or post.title)
        entry.published(_when(post))
        entry.updated(_when(post))
        for c in post.categories:
            entry.category(term=c)
    return fg.atom_str(pretty=True)


def sitemap(posts: list[Post], site: Site) -> bytes:
    urlset = ET.Element("urlset", xmlns="http://www.sitemaps.org/schemas/sitemap/0.9")
    pages = [("/", None), ("/categories.html", None)] + [(p.url, p.date) for p in listed(posts)]
    for path, day in pages:
        url = ET.SubElement(urlset, "url")
        ET.SubElement(url, "loc").text = site.full_url + path
        if day:
            ET.SubElement(url, "lastmod").text = day.isoformat()
    ET.indent(urlset)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(urlset) + b"\n"
