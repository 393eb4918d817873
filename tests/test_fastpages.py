"""A fastpages blog builds unchanged: its `_config.yml`, Jekyll's permalinks, `_pages/`, Liquid and includes,
its image links, pagination, footer links and comments. One small fixture per construct, written the way
fastpages blogs write it (see ../shared/fastpages-corpus for the real thing)."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import CONFIG, built, markdown_post, notebook, page, site
from nbformat.v4 import new_code_cell, new_markdown_cell, new_output

from lib.blog import audit
from lib.blog.build import build
from lib.blog.errors import BuildError

# The helpers' config, less its `permalink:`, so posts get Jekyll's default URLs.
JEKYLL = "title: Test Blog\nurl: https://example.org\ngithub_username: someone\ngithub_repo: blog\n"
PARITY = Path(__file__).parents[2] / "shared" / "tools" / "fastpages_parity.py"
OUTSIDE_LOAD = re.compile(r"""\bsrc\s*=\s*["']?(?:https?:)?//""", re.I)


def warnings_of(root: Path, **kw) -> list[str]:
    "Build `root` and return the warning lines it logged."
    logged = []
    build(root, root / "_site", search=False, log=logged.append, **kw)
    return [line for line in logged if line.startswith("warning:")]


def post(front_matter: str, body: str) -> str:
    "A markdown post: YAML front matter, then the body."
    return f"---\n{front_matter.strip()}\n---\n{body}"


def content(html: str) -> str:
    "The post's own text: its page less the header, footer and meta tags around it."
    return html.split('<div class="post-content">')[1].split("</article>")[0]


def files(root: Path) -> set[str]:
    "Every file of the built site, outside assets/."
    out = root / "_site"
    return {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file() and "assets" not in p.parts}


# _config.yml

FASTPAGES_CONFIG = (
    JEKYLL
    + """
theme: minima
remote_theme: jekyll/minima
plugins: [jekyll-feed, jekyll-gist, jekyll-octicons, jekyll-toc, jekyll-twitter-plugin, jekyll-seo-tag]
gems: [jekyll-paginate]
kramdown: {math_engine: katex, input: GFM, auto_ids: true, hard_wrap: false, syntax_highlighter: rouge}
markdown: kramdown
highlighter: rouge
exclude: [docker-compose.yml, action.yml, Makefile]
include: [_pages]
future: true
google_analytics: UA-57531313-5
annotations: false
html_escape: {description: false}
titles_from_headings: {enabled: true, strip_title: true, collections: true}
feed: {posts_limit: 5, excerpt_only: true}
minima: {social_links: {twitter: fastdotai, github: fastai}}
paginate: 15
paginate_path: /page:num/
"""
)


def test_a_fastpages_config_with_jekyll_keys_builds_without_a_warning(tmp_path):
    root = site(tmp_path, FASTPAGES_CONFIG)
    markdown_post(root, post("title: Hello", "Body."))
    assert warnings_of(root) == []
    assert "Body." in page(root, "2020/01/02/note.html")


def test_an_unknown_config_key_is_one_warning_naming_it(tmp_path):
    root = site(tmp_path, JEKYLL + "colour_scheme: dark\n")
    assert warnings_of(root) == [f"warning: {root / '_config.yml'}: unknown key(s) colour_scheme, ignored"]


def test_an_unknown_config_key_is_an_error_with_strict_true(tmp_path):
    root = site(tmp_path, JEKYLL + "colour_scheme: dark\nstrict: true\n")
    with pytest.raises(BuildError, match=r"_config.yml: unknown key\(s\) colour_scheme; known: "):
        built(root)


def test_an_unknown_config_key_is_an_error_with_the_strict_flag(tmp_path):
    root = site(tmp_path, JEKYLL + "colour_scheme: dark\n")
    with pytest.raises(BuildError, match=r"unknown key\(s\) colour_scheme"):
        built(root, strict=True)


# Permalinks


def test_jekylls_default_permalink_puts_lower_cased_categories_first_and_keeps_the_title_case(tmp_path):
    root = site(tmp_path, JEKYLL)
    markdown_post(root, post("title: T\ncategories: [Fastpages, Jupyter]", "Body."), name="2020-01-02-My-Note.md")
    built(root)
    assert "fastpages/jupyter/2020/01/02/My-Note.html" in files(root)


def test_a_post_without_categories_gets_the_default_permalink_without_them(tmp_path):
    root = site(tmp_path, JEKYLL)
    markdown_post(root, post("title: T", "Body."))
    built(root)
    assert "2020/01/02/note.html" in files(root)


def test_a_site_wide_permalink_applies_to_every_post(tmp_path):
    root = site(tmp_path, JEKYLL + "permalink: /blog/:year/:title/\n")
    markdown_post(root, post("title: T\ncategories: [ignored]", "Body."), name="2020-01-02-First.md")
    markdown_post(root, post("title: T", "Body."), name="2021-03-04-second.md")
    built(root)
    assert {"blog/2020/First/index.html", "blog/2021/second/index.html"} <= files(root)


def test_a_post_permalink_fills_in_jekylls_placeholders(tmp_path):
    root = site(tmp_path, JEKYLL)
    front = "title: T\ncategories: [Data]\npermalink: /:categories/:year/:short_year/:i_month/:title.html"
    markdown_post(root, post(front, "Body."), name="2020-01-02-My-Note.md")
    built(root)
    assert "data/2020/20/1/My-Note.html" in files(root)


def test_an_extensionless_permalink_is_an_html_file(tmp_path):
    root = site(tmp_path, JEKYLL)
    markdown_post(root, post("title: Codespaces\npermalink: /codespaces", "Body."))
    built(root)
    assert "Body." in page(root, "codespaces.html")


def test_a_permalink_ending_in_a_slash_is_a_folder_with_an_index(tmp_path):
    root = site(tmp_path, JEKYLL)
    markdown_post(root, post("title: About\npermalink: /about/", "Body."))
    built(root)
    assert "Body." in page(root, "about/index.html")


@pytest.mark.parametrize(
    "style, path",
    [("pretty", "news/2020/01/02/note/index.html"), ("none", "news/note.html"), ("date", "news/2020/01/02/note.html")],
)
def test_a_permalink_style_name_is_jekylls_pattern(tmp_path, style, path):
    root = site(tmp_path, JEKYLL + f"permalink: {style}\n")
    markdown_post(root, post("title: T\ncategories: [News]", "Body."))
    built(root)
    assert "Body." in page(root, path)


# Which files are posts


def test_readme_and_undated_files_are_skipped_with_one_warning(tmp_path):
    root = site(tmp_path)
    (root / "_posts/README.md").write_text("# How to write posts\n")
    (root / "_posts/draft.md").write_text(post("title: Draft", "Not yet."))
    (root / "_notebooks/README.md").write_text("# How to write notebooks\n")
    notebook(root, "x = 1", name="scratch.ipynb")
    assert warnings_of(root) == [
        "warning: skipped 4 file(s) without a date in the name, as Jekyll does: "
        "_notebooks/README.md, _notebooks/scratch.ipynb, _posts/README.md, _posts/draft.md"
    ]
    assert files(root).isdisjoint({"README.html", "draft.html", "scratch.html"})


def test_a_dot_markdown_file_is_a_post(tmp_path):
    root = site(tmp_path)
    markdown_post(root, post("title: Old style", "Body."), name="2020-01-02-old.markdown")
    built(root)
    assert "Body." in page(root, "2020/01/02/old.html")


def test_a_post_in_a_posts_subfolder_is_a_post(tmp_path):
    root = site(tmp_path, JEKYLL)
    (root / "_posts/2020").mkdir()
    markdown_post(root, post("title: Nested", "Body."), name="2020/2020-01-02-nested.md")
    built(root)
    assert "Body." in page(root, "2020/01/02/nested.html")


# _pages/

SEARCH_PAGE = """---
layout: default
permalink: /search/
title: Search
search_exclude: true
---
<script type="text/javascript" src="{{ '/assets/js/search.js' | relative_url }}"></script>
<input type="text" placeholder="Search {{ site.title }}">
"""
TAGS_PAGE = """---
layout: categories
permalink: /categories/
title: Tags
search_exclude: true
---
{% assign categories = "" | split:"" %}
{% for c in site.categories %}{% assign categories = categories | push: c[0] %}{% endfor %}
{% for category in categories %}<h3 id="{{ category }}">{{ category }}</h3>{% endfor %}
"""


def test_an_about_page_with_a_permalink_is_a_page_in_the_header(tmp_path):
    root = site(tmp_path)
    (root / "_pages").mkdir()
    (root / "_pages/about.md").write_text(post("layout: page\ntitle: About Me\npermalink: /about/", "I write."))
    built(root)
    assert "<p>I write.</p>" in page(root, "about/index.html")
    assert '<a href="/about/">About Me</a>' in page(root, "index.html")


def test_fastpages_search_tags_and_404_pages_are_not_rendered_but_give_their_permalinks(tmp_path):
    root = site(tmp_path)
    (root / "_pages").mkdir()
    (root / "_pages/search.html").write_text(SEARCH_PAGE)
    (root / "_pages/tags.html").write_text(TAGS_PAGE)
    (root / "_pages/404.html").write_text(post("permalink: /404.html\nlayout: default", "<h1>404</h1>"))
    markdown_post(root, post("title: T\ncategories: [news]", "Body."))
    assert warnings_of(root) == []  # their Liquid was never rendered
    assert {"search/index.html", "categories/index.html", "404.html"} <= files(root)
    assert files(root).isdisjoint({"search.html", "categories.html", "tags.html", "tags/index.html"})
    assert "search.js" not in page(root, "search/index.html")
    index = page(root, "index.html")
    assert '<a href="/search/">Search</a>' in index and '<a href="/categories/">Categories</a>' in index
    assert index.count('href="/search/"') == 1 and index.count('href="/categories/"') == 1  # not nav pages too


# Liquid


def test_liquid_fills_in_site_and_page_variables(tmp_path):
    root = site(tmp_path, CONFIG + "baseurl: /blog\n")
    markdown_post(root, post("title: My Title", "[{{ site.title }}]({{ site.baseurl }}/) says {{ page.title }}."))
    built(root)
    assert '<a href="/blog/">Test Blog</a> says My Title.' in page(root, "2020/01/02/note.html")


def test_raw_keeps_liquid_syntax_as_text(tmp_path):
    root = site(tmp_path)
    markdown_post(root, post("title: T", "{% raw %}\n```\npassword: ${{ secrets.pypi_password }}\n```\n{% endraw %}\n"))
    built(root)
    assert "password: ${{ secrets.pypi_password }}" in page(root, "2020/01/02/note.html")


@pytest.mark.parametrize(
    "include, css, label",
    [
        ('note.html content="mind the **gap**"', "note", "Note"),
        ('tip.html content="mind the **gap**"', "tip", "Tip"),
        ('warning.html content="mind the **gap**"', "warning", "Warning"),
        ('important.html content="mind the **gap**"', "important", "Important"),
        ('alert.html text="mind the **gap**"', "warning", "Alert"),
        ('info.html text="mind the **gap**"', "note", "Info"),
    ],
)
def test_each_fastpages_callout_include_is_a_callout(tmp_path, include, css, label):
    root = site(tmp_path)
    markdown_post(root, post("title: T", f"{{% include {include} %}}\n"))
    built(root)
    assert (
        f'<div class="callout {css}">\n<p><strong class="callout-label">{label}:</strong> '
        "mind the <strong>gap</strong></p>\n</div>"
    ) in page(root, "2020/01/02/note.html")


def test_the_image_include_is_a_captioned_figure_whose_image_is_copied(tmp_path):
    root = site(tmp_path, CONFIG + "baseurl: /blog\n")
    (root / "images").mkdir()
    (root / "images/chart.png").write_bytes(b"png")
    markdown_post(root, post("title: T", '{% include image.html file="/images/chart.png" caption="A chart" %}\n'))
    built(root)
    html = page(root, "2020/01/02/note.html")
    assert '<img src="/blog/images/chart.png" alt="" />' in html
    assert "<figcaption>A chart</figcaption>" in html
    assert (root / "_site/images/chart.png").read_bytes() == b"png"


def test_the_screenshot_include_shows_an_image_from_images_and_copies_it(tmp_path):
    root = site(tmp_path, CONFIG + "baseurl: /blog\n")
    (root / "images").mkdir()
    (root / "images/shot.png").write_bytes(b"png")
    markdown_post(root, post("title: T", '{% include screenshot url="shot.png" caption="The app" %}\n'))
    built(root)
    html = page(root, "2020/01/02/note.html")
    assert '<img src="/blog/images/shot.png" alt="The app" />' in html
    assert "<figcaption>The app</figcaption>" in html
    assert (root / "_site/images/shot.png").read_bytes() == b"png"


@pytest.mark.parametrize(
    "markup, kind, load",
    [
        (
            '{% include youtube.html content="https://youtu.be/XfoYk_Z5AkI" %}',
            "youtube",
            "https://www.youtube-nocookie.com/embed/XfoYk_Z5AkI",
        ),
        (
            '{% include video.html url="https://github.com/org/demos/raw/master/e2e.mp4" %}',
            "video",
            "https://github.com/org/demos/raw/master/e2e.mp4",
        ),
        (
            "{% twitter https://twitter.com/jakevdp/status/1204765621767901185?s=20 %}",
            "twitter",
            "https://platform.twitter.com/widgets.js",
        ),
        ("{% gist parente/6c0cfb7d %}", "gist", "https://gist.github.com/parente/6c0cfb7d.pibb"),
    ],
)
def test_an_embed_is_a_card_that_loads_nothing_until_clicked(tmp_path, markup, kind, load):
    root = site(tmp_path)
    markdown_post(root, post("title: T", f"{markup}\n"))
    assert warnings_of(root) == []
    html = page(root, "2020/01/02/note.html")
    assert f'<div class="embed embed-{kind}">' in html
    assert f'<button type="button" class="embed-load" data-load="{load}">Load it here</button>' in html
    assert OUTSIDE_LOAD.findall(html) == []


def test_a_footnote_tag_links_to_its_detail(tmp_path):
    root = site(tmp_path)
    markdown_post(root, post("title: T", "A claim.{% fn 1 %}\n\n{{ 'The source.' | fndetail: 1 }}\n"))
    built(root)
    html = page(root, "2020/01/02/note.html")
    assert '<sup id="fnref-1" class="footnote-ref"><a href="#fn-1">1</a></sup>' in html
    back = '<a href="#fnref-1" aria-label="Back">↩</a>'
    assert f'<p id="fn-1" class="footnote"><sup>1</sup> The source. {back}</p>' in html
    assert "<p><p" not in html


def test_an_unsupported_tag_is_a_warning_naming_the_file_and_is_left_out(tmp_path):
    root = site(tmp_path)
    path = markdown_post(root, post("title: T", "Before.\n\n{% post_url 2020-01-01-other %}\n\nAfter.\n"))
    [warning] = warnings_of(root)
    assert warning.startswith(f"warning: {path}: line ")
    assert "Liquid '{% post_url 2020-01-01-other %}' was left out" in warning
    html = page(root, "2020/01/02/note.html")
    assert "<p>Before.</p>" in html and "<p>After.</p>" in html and "post_url" not in html


def test_an_unsupported_filter_is_a_warning_naming_the_file_and_is_left_out(tmp_path):
    root = site(tmp_path)
    path = markdown_post(root, post("title: T", "Posted {{ page.date | date_to_long_string }}.\n"))
    [warning] = warnings_of(root)
    assert warning.startswith(f"warning: {path}: line ")
    assert "Liquid '{{ page.date | date_to_long_string }}' was left out" in warning
    html = page(root, "2020/01/02/note.html")
    assert "<p>Posted .</p>" in html and "date_to_long_string" not in html


def test_a_liquid_warning_names_the_line_in_the_file(tmp_path):
    root = site(tmp_path)
    path = markdown_post(root, post("title: T", "Before.\n\n{% post_url 2020-01-01-other %}\n"))
    assert warnings_of(root)[0].startswith(f"warning: {path}: line 6: ")  # lines 1-3 are the front matter


def test_a_blogs_own_include_serves_a_name_this_site_lacks(tmp_path):
    root = site(tmp_path)
    (root / "_includes").mkdir()
    (root / "_includes/custom.html").write_text('<aside class="custom">{{ include.text }}</aside>')
    markdown_post(root, post("title: T", '{% include custom.html text="Hello" %}\n'))
    built(root)
    assert '<aside class="custom">Hello</aside>' in page(root, "2020/01/02/note.html")


def test_this_sites_include_wins_over_the_blogs_copy_of_a_fastpages_include(tmp_path):
    root = site(tmp_path)
    (root / "_includes").mkdir()
    (root / "_includes/note.html").write_text('<div class="flash">{% octicon info %}{{ include.content }}</div>')
    markdown_post(root, post("title: T", '{% include note.html content="Careful." %}\n'))
    built(root)
    html = page(root, "2020/01/02/note.html")
    assert '<strong class="callout-label">Note:</strong> Careful.' in html and "flash" not in html


# Notebooks


def test_notebook_markdown_cells_go_through_liquid(tmp_path):
    root = site(tmp_path, CONFIG + "baseurl: /blog\n")
    notebook(root, new_markdown_cell("[Home]({{ site.baseurl }}/) of {{ site.title }}"))
    built(root)
    assert '<a href="/blog/">Home</a> of Test Blog' in page(root)


def test_a_youtube_line_in_a_notebook_cell_is_a_video_card(tmp_path):
    root = site(tmp_path)
    notebook(root, new_markdown_cell("> youtube: https://youtu.be/XfoYk_Z5AkI"))
    built(root)
    html = content(page(root))
    assert 'data-load="https://www.youtube-nocookie.com/embed/XfoYk_Z5AkI"' in html and "youtube:" not in html


def test_a_twitter_line_in_a_notebook_cell_is_a_post_card(tmp_path):
    root = site(tmp_path)
    notebook(root, new_markdown_cell("> twitter: https://twitter.com/jakevdp/status/1204765621767901185?s=20"))
    built(root)
    html = content(page(root))
    assert 'data-load="https://platform.twitter.com/widgets.js"' in html and "twitter:" not in html


# Images


def test_an_image_linked_under_the_baseurl_is_copied_and_linked(tmp_path):
    root = site(tmp_path, CONFIG + "baseurl: /blog\n")
    (root / "images").mkdir()
    (root / "images/logo.png").write_bytes(b"png")
    markdown_post(root, post("title: T", '![]({{ site.baseurl }}/images/logo.png "fast.ai\'s logo")\n'))
    built(root)
    assert '<img src="/blog/images/logo.png" alt="" title="fast.ai\'s logo" />' in page(root, "2020/01/02/note.html")
    assert (root / "_site/images/logo.png").read_bytes() == b"png"


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/someone/blog/raw/master/images/logo.png",
        "https://raw.githubusercontent.com/someone/blog/master/images/logo.png",
    ],
)
def test_an_image_in_the_blogs_own_repository_on_github_is_the_local_file(tmp_path, url):
    root = site(tmp_path)
    (root / "images").mkdir()
    (root / "images/logo.png").write_bytes(b"png")
    markdown_post(root, post("title: T", f"![Logo]({url})\n"))
    assert warnings_of(root) == []
    assert '<img src="/images/logo.png" alt="Logo" />' in page(root, "2020/01/02/note.html")
    assert (root / "_site/images/logo.png").read_bytes() == b"png"


def test_another_remote_image_is_a_card_and_one_warning_per_post(tmp_path):
    root = site(tmp_path)
    body = (
        "![A](https://example.com/a.png)\n\n![B](https://example.com/b.png)\n\n![A again](https://example.com/a.png)\n"
    )
    path = markdown_post(root, post("title: T", body))
    assert warnings_of(root) == [
        f"warning: {path}: images from other hosts: https://example.com/a.png, https://example.com/b.png"
    ]
    html = page(root, "2020/01/02/note.html")
    assert '<button type="button" class="embed-load" data-load="https://example.com/b.png">Show it</button>' in html
    assert OUTSIDE_LOAD.findall(html) == []


def test_a_remote_image_is_an_error_when_offline(tmp_path):
    root = site(tmp_path, CONFIG + "offline: true\n")
    markdown_post(root, post("title: T", "![A](https://example.com/a.png)\n"))
    with pytest.raises(BuildError, match="image https://example.com/a.png is loaded from another host, and offline"):
        built(root)


def test_a_front_matter_image_is_copied_and_is_the_preview_image(tmp_path):
    root = site(tmp_path)
    (root / "images").mkdir()
    (root / "images/card.png").write_bytes(b"card")
    markdown_post(root, post("title: T\nimage: images/card.png", "Body."))
    built(root)
    assert '<meta property="og:image" content="https://example.org/images/card.png">' in page(
        root, "2020/01/02/note.html"
    )
    assert (root / "_site/images/card.png").read_bytes() == b"card"


# Index pages, footer, comments


def test_paginate_splits_the_index_with_newer_and_older_links(tmp_path):
    root = site(tmp_path, CONFIG + "paginate: 2\npaginate_path: /page:num/\n")
    for day in range(1, 6):
        markdown_post(root, post(f"title: Post {day}", "Body."), name=f"2020-01-0{day}-p{day}.md")
    built(root)
    first, second, third = page(root, "index.html"), page(root, "page2/index.html"), page(root, "page3/index.html")
    assert [re.findall(r">(Post \d)</a>", p) for p in (first, second, third)] == [
        ["Post 5", "Post 4"],
        ["Post 3", "Post 2"],
        ["Post 1"],
    ]
    assert '<a href="/page2/" rel="next">Older posts</a>' in first and 'rel="prev"' not in first
    assert '<a href="/" rel="prev">Newer posts</a>' in second and '<a href="/page3/" rel="next">' in second
    assert '<a href="/page2/" rel="prev">Newer posts</a>' in third and 'rel="next"' not in third
    assert "page4/index.html" not in files(root)


def test_minima_social_links_are_in_the_footer(tmp_path):
    root = site(tmp_path, CONFIG + "minima:\n  social_links:\n    twitter: fastdotai\n    github: fastai\n")
    built(root)
    footer = page(root, "index.html").split('<footer class="site-footer">')[1]
    assert '<a href="https://twitter.com/fastdotai" rel="me noopener">twitter</a>' in footer
    assert '<a href="https://github.com/fastai" rel="me noopener">github</a>' in footer


def test_comments_are_a_button_that_loads_utterances_only_when_clicked(tmp_path):
    root = site(tmp_path)
    markdown_post(root, post("title: T\ncomments: true", "Body."))
    built(root)
    html = page(root, "2020/01/02/note.html")
    assert (
        '<button type="button" class="embed-load" data-load="https://utteranc.es/client.js" '
        'data-repo="someone/blog">Show comments</button>'
    ) in html
    assert html.count("utteranc.es") == 1 and OUTSIDE_LOAD.findall(html) == []


# The real blogs


@pytest.mark.skipif(not PARITY.exists(), reason="../shared/tools/fastpages_parity.py is not here")
def test_the_fastpages_corpus_builds_with_its_urls_and_no_raw_liquid():
    repo = Path(__file__).parents[1]
    result = subprocess.run(
        [sys.executable, str(PARITY)], cwd=repo, capture_output=True, text=True, timeout=900, check=False
    )
    blogs = [line for line in result.stdout.splitlines() if line.startswith(("ok", "SHORT"))]
    assert result.returncode == 0, result.stdout + result.stderr
    assert blogs and all(line.startswith("ok") for line in blogs), result.stdout


MIRROR_PARITY = PARITY.parent / "fastpages_mirror_parity.py"
MIRRORS = Path(os.environ.get("MIRROR", PARITY.parents[2] / ".mirror"))
BLOGS = PARITY.parents[1] / "fastpages-corpus" / "more-blogs.txt"
# The folders the mirror check extracts from each repository (its KEEP); a link into another one (a blog's
# docs/ of PDFs, say) has no target in its build, though a blogger who copies the folder gets it (see the README).
EXTRACTED = ("images", "_notebooks", "_posts", "_pages", "_word", "_includes", "_data")
PARITY_LINE = re.compile(
    r"exit 0 in .*deployed URLs kept (\d+)/(\d+), raw Liquid (\d+) .*broken links (\d+) .*outside loads (\d+) "
)


def mirrored_blogs() -> list[str]:
    "The lines of more-blogs.txt whose repository has a mirror here."
    lines = BLOGS.read_text().split() if BLOGS.exists() else []
    return [line for line in lines if (MIRRORS / line.split(":")[0].replace("/", "+") / "repo").exists()]


@pytest.mark.skipif(not mirrored_blogs(), reason="no mirror of the blogs in more-blogs.txt is beside ../shared")
def test_real_fastpages_blogs_from_their_repositories_build_with_their_urls(tmp_path):
    repo = Path(__file__).parents[1]
    result = subprocess.run(
        [sys.executable, str(MIRROR_PARITY), str(repo), sys.executable, str(tmp_path), *mirrored_blogs()],
        cwd=repo, capture_output=True, text=True, timeout=1800, check=False,
    )  # fmt: skip
    lines = [line for line in result.stdout.splitlines() if line.startswith(("ok", "SHORT"))]
    assert len(lines) == len(mirrored_blogs()), result.stdout + result.stderr
    for line in lines:
        found = PARITY_LINE.search(line)
        assert found, line  # exit 0
        kept, wanted, liquid, broken, loads = map(int, found.groups())
        assert kept >= 0.95 * wanted and liquid == 0 and loads == 0, line
        links = re.findall(r"-> ([^']+)'", line.partition("broken e.g.")[2])
        into_extracted = [link for link in links if set(link.split("/")) & set(EXTRACTED)]
        assert broken == 0 or links and not into_extracted, line


# Odd sources that fastpages and Jekyll published: built, with a warning naming the file


def test_a_notebook_and_its_markdown_export_at_one_url_publish_the_notebook(tmp_path):
    root = site(tmp_path)
    notebook(root, "from_the_notebook = 1", name="2020-01-01-post.ipynb")
    markdown_post(root, post("title: Old export", "From the export."), name="2020-01-01-post.md")
    warned = warnings_of(root)
    assert "from_the_notebook" in page(root) and "From the export." not in page(root)
    assert [w for w in warned if "2020-01-01-post.md: has the URL /2020/01/01/post.html of" in w]


def test_a_notebook_and_its_markdown_export_fail_a_strict_build(tmp_path):
    root = site(tmp_path)
    notebook(root, "x = 1", name="2020-01-01-post.ipynb")
    markdown_post(root, post("title: Old export", "From the export."), name="2020-01-01-post.md")
    with pytest.raises(BuildError, match="2020-01-01-post.md: has the URL /2020/01/01/post.html"):
        built(root, strict=True)


def test_a_missing_image_is_a_broken_image_with_a_warning_and_counted(tmp_path):
    root = site(tmp_path)
    markdown_post(root, post("title: T\nimage: images/some_folder/your_image.png", "![chart](/images/chart.png)"))
    logged = []
    build(root, root / "_site", search=False, log=logged.append)
    assert '<img src="/images/chart.png" alt="chart"' in page(root, "2020/01/02/note.html")
    assert [w for w in logged if "2020-01-02-note.md: image(s) not found, left as broken links: /images/chart.png" in w]
    assert "2 image link(s) broken" in logged[-1]  # the preview image too, which the page then leaves out


def test_a_missing_image_fails_a_strict_build(tmp_path):
    root = site(tmp_path)
    markdown_post(root, post("title: T", "![chart](/images/chart.png)"))
    with pytest.raises(BuildError, match="image.s. not found"):
        built(root, strict=True)


def test_an_image_path_above_the_root_resolves_as_a_browser_resolves_it(tmp_path):
    root = site(tmp_path)
    (root / "images").mkdir()
    (root / "images/header.png").write_bytes(b"png")
    markdown_post(root, post("title: T", "![header](/../images/header.png)"))
    assert (built(root) / "images/header.png").read_bytes() == b"png"
    assert 'src="/images/header.png"' in page(root, "2020/01/02/note.html")


def test_a_markdown_cell_with_outputs_is_mended_with_a_warning(tmp_path):
    root = site(tmp_path)
    path = notebook(root, "x = 1")
    nb = json.loads(path.read_text())
    nb["cells"][0] |= {"outputs": [], "execution_count": None}
    path.write_text(json.dumps(nb))
    warned = warnings_of(root)
    assert [w for w in warned if "not a valid notebook" in w and "mended" in w]
    assert ">x<" in page(root)


# The hidden-line check looks for whole lines where the page shows them


def test_a_hidden_line_named_in_the_prose_is_no_leak(tmp_path):
    root = site(tmp_path)
    prose = new_markdown_cell("We look at `berlin_budget.shape` first, and then at the selection.")
    notebook(root, prose, "#hide\nberlin_budget.shape", "#hide\nselection_of_rows")
    assert "We look at" in page(built(root).parent)


def test_a_hidden_line_inside_a_longer_shown_line_is_no_leak(tmp_path):
    root = site(tmp_path)
    notebook(root, "#hide\ndf.head()", "test_df.head()")
    build(root, root / "_site", search=True, log=lambda _: None)
    assert "test_df" in page(root)


def test_a_hidden_inputs_html_output_is_shown_without_a_leak(tmp_path):
    root = site(tmp_path)
    cell = new_code_cell('#hide_input\nHTML("""\nA sentence the output shows on its own line\n""")')
    cell.outputs = [new_output("display_data", {"text/html": "<p>\nA sentence the output shows on its own line\n</p>"})]
    notebook(root, cell)
    assert "A sentence the output shows" in page(built(root).parent)


def test_a_hidden_line_shown_whole_in_highlighted_code_is_a_leak(tmp_path):
    root = site(tmp_path)
    notebook(root, "#hide\nsecret_token = 'abc123'")
    found = build(root, root / "_site", search=False, log=lambda _: None)[0]
    code = '<pre><span class="n">secret_token</span> <span class="o">=</span> <span>&#39;abc123&#39;</span></pre>'
    leaks = list(audit.own_leaks(found, {"2020/01/01/post.html": code.encode()}))
    assert leaks == [("2020/01/01/post.html", "secret_token = 'abc123'")]


# redirect_from (jekyll-redirect-from): old addresses keep working


def test_redirect_from_writes_a_page_at_each_old_url_that_sends_readers_on(tmp_path):
    root = site(tmp_path, JEKYLL + "baseurl: /blog\n")
    markdown_post(root, post("title: T\nredirect_from:\n  - /old/address/\n  - /older.html", "Moved here."))
    out = built(root)
    for old in ("old/address/index.html", "older.html"):
        text = (out / old).read_text()
        assert '<meta http-equiv="refresh" content="0; url=/blog/2020/01/02/note.html">' in text
        assert '<a href="/blog/2020/01/02/note.html">' in text


def test_a_redirect_out_of_the_site_is_an_error(tmp_path):
    root = site(tmp_path)
    markdown_post(root, post("title: T\nredirect_from: /../../outside", "Body."))
    with pytest.raises(BuildError, match="2020-01-02-note.md: permalink '/../../outside' has an empty, '.' or '..'"):
        built(root)


# Raw HTML that loads from another host waits for a click


@pytest.mark.parametrize(
    "raw, kind",
    [
        ('<iframe src="https://example.com/map" width="600"></iframe>', "embed-frame"),
        ('<iframe width="560" src="https://www.youtube.com/embed/abc123"></iframe>', "embed-youtube"),
        ('<img src="https://example.com/chart.png" alt="A chart">', "embed-image"),
        ('<script src="https://platform.twitter.com/widgets.js" async></script>', "embed-script"),
        ('<link rel="stylesheet" href="//cdnjs.example.com/font.css">', "embed-style"),
        ('<object data="https://docs.example.com/view?url=cv.pdf"></object>', "embed-frame"),
    ],
)
def test_raw_html_that_loads_from_another_host_becomes_a_card(tmp_path, raw, kind):
    root = site(tmp_path)
    markdown_post(root, post("title: T", f"Before.\n\n{raw}\n\nAfter."))
    shown = content(page(built(root).parent, "2020/01/02/note.html"))
    assert f'class="embed {kind}"' in shown and "Before." in shown and "After." in shown
    assert not OUTSIDE_LOAD.search(shown) and "<link" not in shown


def test_a_notebook_outputs_iframe_waits_for_a_click_in_the_page_and_the_slides(tmp_path):
    root = site(tmp_path)
    cell = new_code_cell("IFrame('https://example.com/app', 600, 400)")
    cell.outputs = [new_output("display_data", {"text/html": '<iframe src="https://example.com/app"></iframe>'})]
    notebook(root, cell)
    out = built(root)
    for shown in (page(root), (out / "slides/post.html").read_text()):
        assert 'data-load="https://example.com/app"' in shown and not OUTSIDE_LOAD.search(shown)


def test_html_that_loads_from_the_site_itself_or_is_shown_as_code_is_left_as_written(tmp_path):
    root = site(tmp_path)
    (root / "images").mkdir()
    (root / "images/a.png").write_bytes(b"png")
    body = '<img src="/images/a.png" alt="local">\n\n```html\n<iframe src="https://example.com/x"></iframe>\n```'
    markdown_post(root, post("title: T", body))
    shown = content(page(built(root).parent, "2020/01/02/note.html"))
    assert '<img src="/images/a.png" alt="local">' in shown and "embed-" not in shown
    assert '<span class="nt">iframe</span>' in shown


def test_strict_names_every_file_with_a_warning_in_one_error(tmp_path):
    root = site(tmp_path)
    markdown_post(root, post("title: A", "![a](/images/a.png)"), name="2020-01-02-a.md")
    markdown_post(root, post("title: B", "![b](/images/b.png)"), name="2020-01-03-b.md")
    with pytest.raises(BuildError) as error:
        built(root, strict=True)
    assert "2020-01-02-a.md: image(s) not found" in str(error.value)
    assert "and 1 more with --strict:\n  " in str(error.value) and "2020-01-03-b.md: image(s) not found" in str(
        error.value
    )
    assert not (root / "_site").exists()


# Other files of the repository that a post links to are published, as Jekyll published them


def test_a_linked_file_of_the_repository_is_copied_at_its_path(tmp_path):
    root = site(tmp_path, JEKYLL + "baseurl: /blog\n")
    (root / "docs").mkdir()
    (root / "docs/paper one.pdf").write_bytes(b"%PDF")
    markdown_post(root, post("title: T", "[the paper]({{ site.baseurl }}/docs/paper%20one.pdf#page=2)"))
    out = built(root)
    assert (out / "docs/paper one.pdf").read_bytes() == b"%PDF"
    assert '<a href="/blog/docs/paper%20one.pdf#page=2">the paper</a>' in page(root, "2020/01/02/note.html")


def test_two_posts_may_link_one_file(tmp_path):
    root = site(tmp_path)
    (root / "docs").mkdir()
    (root / "docs/a.pdf").write_bytes(b"%PDF")
    markdown_post(root, post("title: A", "[a](/docs/a.pdf)"), name="2020-01-02-a.md")
    markdown_post(root, post("title: B", '<a href="/docs/a.pdf">a</a>'), name="2020-01-03-b.md")
    assert (built(root) / "docs/a.pdf").read_bytes() == b"%PDF"


@pytest.mark.parametrize("target", ["/_config.yml", "/.env", "/_notebooks/secret.py", "../../outside.txt"])
def test_a_link_to_a_file_jekyll_never_published_copies_nothing(tmp_path, target):
    root = site(tmp_path)
    (root / ".env").write_text("TOKEN=1")
    (tmp_path / "outside.txt").write_text("outside")
    (root / "_notebooks/secret.py").write_text("KEY = 1")
    markdown_post(root, post("title: T", f"[x]({target})"))
    out = built(root)
    assert not [p for p in out.rglob("*") if p.name in ("_config.yml", ".env", "secret.py", "outside.txt")]
