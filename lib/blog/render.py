"""Stage 3, render: nbconvert for notebook cells, Jinja for every page around them.

A rendered post is a dict of site files (path -> bytes): its HTML page plus the
images it owns. That dict is what the build caches by content hash.
"""

from __future__ import annotations

import copy
import html
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import jinja2
import nbformat
from markupsafe import Markup
from pygments.formatters import HtmlFormatter

from lib.blog.config import Site
from lib.blog.errors import BuildError
from lib.blog.handout import STUDENT_DIR, has_exercises, student_bytes
from lib.blog.markdown import ImageAssets, markdown_parser, render_markdown, slugify
from lib.blog.paths import is_remote, url_to_file
from lib.blog.read import Post

TEMPLATES = Path(__file__).parent / "templates"
ASSETS = TEMPLATES / "assets"


@dataclass
class Badge:
    name: str
    label: str
    url: str


def badges(post: Post, site: Site) -> list[Badge]:
    "fastpages' GitHub, Colab and Binder links for a notebook post, from _config.yml and the notebook's path."
    if post.kind != "notebook" or not post.badges or not (site.github_username and site.github_repo):
        return []
    repo, branch = f"{site.github_username}/{site.github_repo}", post.branch or site.branch
    nb_path = post.path.relative_to(site.root).as_posix()
    colab_path = (STUDENT_DIR / post.path.name).as_posix() if post.colab_student else nb_path
    links = {
        "github": ("View on GitHub", f"https://github.com/{repo}/blob/{branch}/{nb_path}"),
        "colab": ("Open in Colab", f"https://colab.research.google.com/github/{repo}/blob/{branch}/{colab_path}"),
        "binder": ("Launch Binder", f"https://mybinder.org/v2/gh/{repo}/{branch}?filepath={quote(nb_path, safe='')}"),
    }
    off = {"github": post.hide_github_badge, "colab": post.hide_colab_badge, "binder": post.hide_binder_badge}
    return [Badge(k, *v) for k, v in links.items() if site.default_badges.get(k, True) and not off[k]]


def page_env(site: Site) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES / "site"), autoescape=True, undefined=jinja2.StrictUndefined
    )
    env.filters["slug"] = slugify
    env.filters["link"] = lambda url: url if is_remote(url) else site.baseurl.rstrip("/") + url
    env.globals.update(site=site, base=site.baseurl.rstrip("/"), post=None, title="", description="")
    env.globals.update(social_image=absolute(site, site_image(site)[0]), toc=None, badges=[], stamp=None, downloads=[])
    return env


def site_image(site: Site) -> tuple[str, dict[str, bytes]]:
    "The site's default preview image as a URL without the baseurl, and its file to copy into the site."
    config = site.root / "_config.yml"
    if site.image and is_remote(site.image) and site.offline:
        raise BuildError(config, f"image {site.image} is loaded from another host, and offline: true is set")
    if not site.image or is_remote(site.image):
        return site.image, {}
    assets = ImageAssets(config, site.root, "", "")
    url = assets.add("/" + site.image.lstrip("/"))
    return url, {path: src.read_bytes() for path, src in assets.files.items()}


def render_page(env: jinja2.Environment, template: str, url: str, **context) -> bytes:
    return env.get_template(template).render(page_url=url, **context).encode()


def notebook_body(post: Post, site: Site, exporter, assets: ImageAssets) -> tuple[str, dict]:
    "The post's cells as HTML, and its output images (site path -> bytes)."
    exporter.md_env = {"images": assets}
    body, resources = exporter.from_notebook_node(copy.deepcopy(post.nb), export_resources(post, site))
    post.warnings += [f"{post.path}, {w}" for w in resources.get("warnings", [])]
    return body, {"toc": exporter.md_env.get("toc", []), **resources.get("outputs", {})}


def export_resources(post: Post, site: Site, **more) -> dict:
    "What the preprocessors and templates need to know of the post: where images go, how answers show."
    resources = {"unique_key": post.slug, "output_files_dir": f"images/{post.slug}", "outputs": {}}
    return resources | {"image_url": site.baseurl.rstrip("/"), "solutions": post.solutions, "source": post.path} | more


def validate(post: Post) -> None:
    try:
        nbformat.validate(post.nb)
    except nbformat.ValidationError as e:
        raise BuildError(post.path, f"not a valid notebook: {e.message}") from None


def slides(post: Post, site: Site, exporter, assets: ImageAssets) -> tuple[bytes, dict[str, bytes]]:
    """The notebook as reveal.js slides (a new slide at each heading, hidden cells hidden, long outputs cut),
    and its image files, which are the post's own."""
    exporter.md_env = {"images": assets}
    nb = copy.deepcopy(post.nb)
    # The title is text, not markdown: escaped, so a title like `<img onerror=...>` stays text.
    nb.cells[0] = nbformat.v4.new_markdown_cell(f"# {html.escape(post.title)}\n\n{html.escape(post.summary)}")
    nb.cells[0].id = "title"  # a fixed id: new cells get random ones, and builds must be byte-identical
    resources = export_resources(post, site, metadata={"name": post.title})
    deck, resources = exporter.from_notebook_node(nb, resources)
    return deck.encode(), resources.get("outputs", {})


def notebook_files(post: Post, site: Site, get_exporter: Callable, assets: ImageAssets) -> dict[str, bytes]:
    "Slides and their images, the notebook itself (the answer key) and, with exercises, the student notebook."
    deck, images = slides(post, site, get_exporter("deck"), assets)
    files = {
        f"slides/{post.slug}.html": deck,
        **images,
        f"notebooks/{post.slug}.ipynb": post.path.read_bytes(),
    }
    if has_exercises(post.nb):
        files[f"notebooks/{post.slug}-student.ipynb"] = student_bytes(post.nb)
    return files


def render_post(post: Post, site: Site, env: jinja2.Environment, get_exporter: Callable) -> dict[str, bytes]:
    """Every file one post owns in the site. `get_exporter(kind)` gives nbconvert's post or deck exporter.
    Sets `post.linked_images` (repository files copied in) and `post.image_url`."""
    assets = ImageAssets(post.path, site.root, site.baseurl.rstrip("/"), post.slug)
    extra = {}
    if post.kind == "notebook":
        validate(post)
        body, outputs = notebook_body(post, site, get_exporter("post"), assets)
        toc = outputs.pop("toc")
        extra = notebook_files(post, site, get_exporter, assets)
    else:
        md_env = {"images": assets}
        body, outputs = render_markdown(markdown_parser(), post.text, md_env), {}
        toc = md_env.get("toc", [])
    post.image_url = preview_image(post, site, assets)
    post.linked_images = list(assets.files.values())
    files = {path: src.read_bytes() for path, src in assets.files.items()} | outputs | extra
    stamp = post.nb.metadata.get("blog", {}).get("stamp") if post.nb else None
    page = render_page(
        env, "post.html", post.url, post=post, title=post.title, description=post.summary,
        content=Markup(body), toc=toc if post.toc else None, badges=badges(post, site), stamp=stamp,
        social_image=absolute(site, post.image_url), downloads=downloads(post, extra),
    )  # fmt: skip
    return files | {url_to_file(post.url): page}


def preview_image(post: Post, site: Site, assets: ImageAssets) -> str:
    """The post's `image` (or the site's) as a URL without the baseurl: a local one is copied into the
    site like any linked image; a remote one is an outside resource, refused when `offline` is set."""
    src = post.image or site.image
    if not src or not is_remote(src):
        return assets.add(src if src.startswith("/") else f"/{src}")[len(assets.baseurl) :] if src else ""
    message = f"image {src} is loaded from another host"
    if site.offline:
        raise BuildError(post.path, f"{message}, and offline: true is set; save it under images/")
    post.warnings.append(f"{post.path}: {message}")
    return src


def absolute(site: Site, url: str) -> str:
    "A full URL for social previews, which other sites fetch."
    return url if not url or is_remote(url) else site.full_url + url


def downloads(post: Post, files: dict[str, bytes]) -> list[tuple[str, str]]:
    "(label, site path) of the post's slides and notebooks, for links under its title."
    labels = {"slides/": "Slides", "-student.ipynb": "Student notebook", ".ipynb": "Notebook with answers"}
    found = []
    ours = [p for p in files if p.startswith(("slides/", "notebooks/"))]
    for path in sorted(ours, key=lambda p: (not p.startswith("slides/"), "-student" not in p)):
        found.append((next(label for key, label in labels.items() if key in path), path))
    return found


def listed(posts: list[Post]) -> list[Post]:
    "Posts for the index: hidden ones left out, sticky ones first (by rank), then newest first."
    shown = sorted((p for p in posts if not p.hide), key=lambda p: (p.date, p.slug), reverse=True)
    return sorted(shown, key=lambda p: p.sticky_rank if p.sticky_rank is not None else float("inf"))


def by_category(posts: list[Post]) -> list[tuple[str, list[Post]]]:
    groups = defaultdict(list)
    for post in listed(posts):
        for c in post.categories:
            groups[c].append(post)
    return sorted(groups.items(), key=lambda kv: kv[0].lower())


def asset_files() -> list[Path]:
    "The stylesheet, icon and vendored reveal.js that every site carries."
    return sorted(p for p in ASSETS.rglob("*") if p.is_file())


def render_site_pages(posts: list[Post], env: jinja2.Environment) -> dict[str, bytes]:
    "Index, categories, search and 404 pages, plus the stylesheets and the site's preview image."
    return site_image(env.globals["site"])[1] | {
        "index.html": render_page(env, "index.html", "/", posts=listed(posts)),
        "categories.html": render_page(env, "categories.html", "/categories.html", title="Categories",
                                       categories=by_category(posts)),
        "search.html": render_page(env, "search.html", "/search.html", title="Search"),
        "404.html": render_page(env, "404.html", "/404.html", title="Page not found"),
        **{f"assets/{p.relative_to(ASSETS).as_posix()}": p.read_bytes() for p in asset_files()},
        "assets/pygments.css": HtmlFormatter(style="default").get_style_defs(".highlight").encode(),
    }  # fmt: skip


def render_error(post: Post, e: Exception) -> BuildError:
    return e if isinstance(e, BuildError) else BuildError(post.path, f"{type(e).__name__}: {e}")
