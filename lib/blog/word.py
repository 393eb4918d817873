"""Word posts: `_word/YYYY-MM-DD-Title.docx` becomes a post, as fastpages did it, with mammoth.

The body is mammoth's HTML. Images become site files where fastpages put them,
`assets/img/<file stem>/media/imageN.<ext>`, not base64 `data:` URIs: pages stay small and
image URLs stay those of sites moved from fastpages. The title comes from the file name unless
the document opens with a Title (or Heading 1) paragraph; a Subtitle paragraph gives the summary.
Both are shown in the page header, so they are dropped from the body.

A document is converted whole for each call (it has to be, to find its first paragraph); Word
posts are few and small, so `read_word` is there for a caller that wants a single pass.

A .docx is a zip file, and a small one can inflate to gigabytes: before mammoth sees it, every part
is inflated once, in pieces, and counted (`check_package`). mammoth holds a document's XML as Python
objects, some 70 bytes of memory for each byte of dense XML, hence the lower limit for XML parts.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from urllib.parse import quote

import mammoth
from mammoth import documents, html
from mammoth.raw_text import extract_raw_text_from_element
from mammoth.transforms import get_descendants_of_type

from lib.blog.errors import BuildError, read_bytes
from lib.blog.read import Post, date_and_slug, make_post

TITLE_STYLES = ("title", "heading1")
MB = 2**20
MAX_XML = 10 * MB  # one XML part, inflated: word/document.xml of a long document is a few MB
MAX_PART = 50 * MB  # any other part, inflated: a picture
MAX_TOTAL = 200 * MB  # the whole document: its file, and all its parts inflated
MAX_PARTS = 10_000


def docx_to_html(path: Path, baseurl: str = "", warnings: list[str] | None = None) -> tuple[str, dict[str, bytes]]:
    """The document's HTML and its images as {site path: bytes}; image `src`s are `{baseurl}/assets/img/...`.
    mammoth's messages are added to `warnings`, when given, each naming the file."""
    html_text, images, _, messages = convert(path, baseurl)
    if warnings is not None:
        warnings += messages
    return html_text, images


def word_front_matter(path: Path) -> dict:
    "Front matter for a Word post: title, summary and (empty) categories; a bad file name is a BuildError."
    return front_matter(path, convert(path)[2])


def read_word(path: Path, strict: bool = False, baseurl: str = "") -> tuple[Post, dict[str, bytes]]:
    """A `_word/*.docx` file as a Post of kind "word" whose `text` is HTML, and the images it needs
    as {site path: bytes}; the images travel beside the Post, which has no field for files it makes.
    mammoth's messages are in `post.warnings`."""
    html_text, images, found, messages = convert(path, baseurl)
    post = make_post(path, "word", front_matter(path, found), strict, text=html_text)
    post.warnings += messages
    return post, images


def convert(path: Path, baseurl: str = "") -> tuple[str, dict[str, bytes], dict, list[str]]:
    "One pass over the document: (html, images, the title and summary it holds, warnings)."
    data = read_document(path)
    check_package(path, data)
    meta = {}
    images = ImageFiles(path, baseurl)

    def take_front_matter(document):
        title, subtitle = front_paragraphs(document)
        if title:
            meta["title"] = text_of(title)
        if subtitle:
            meta["summary"] = text_of(subtitle)
        return document.copy(children=[c for c in document.children if c is not title and c is not subtitle])

    try:
        result = mammoth.convert_to_html(io.BytesIO(data), transform_document=take_front_matter, convert_image=images)
    except Exception as e:
        raise BuildError(path, f"cannot read Word document: {str(e) or type(e).__name__}") from None
    # mammoth repeats a message for every paragraph it applies to; once per file is enough.
    messages = [f"{path}: {m.message}" for m in result.messages] + images.warnings
    return result.value, images.files, meta, list(dict.fromkeys(messages))


def front_matter(path: Path, found: dict) -> dict:
    "The title from the file name (dashes as spaces) and an empty summary, unless the document holds its own."
    return {"title": date_and_slug(path)[1].replace("-", " "), "categories": [], "summary": ""} | found


def read_document(path: Path) -> bytes:
    try:
        if path.is_file() and path.stat().st_size > MAX_TOTAL:
            raise BuildError(path, f"is over {MAX_TOTAL // MB} MB, the most a Word post may be")
        return read_bytes(path)
    except BuildError as e:
        raise BuildError(path, f"cannot read Word document: {e.message}") from None


def check_package(path: Path, data: bytes) -> None:
    """Refuse a .docx that inflates past the limits above, before anything inflates it whole. The sizes a zip file
    declares are the writer's word, so each part is also inflated here a megabyte at a time, and counted."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            parts = package.infolist()
            if len(parts) > MAX_PARTS:
                raise BuildError(path, f"cannot read Word document: it has over {MAX_PARTS:,} parts")
            for part in parts:
                check_declared(path, part)
            if sum(part.file_size for part in parts) > MAX_TOTAL:
                raise too_big(path, "it", MAX_TOTAL)
            total = 0
            for part in parts:
                total += inflated(path, package, part)
                if total > MAX_TOTAL:
                    raise too_big(path, "it", MAX_TOTAL)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as e:
        raise BuildError(path, f"cannot read Word document: {e}") from None


def limit(part: zipfile.ZipInfo) -> int:
    return MAX_XML if part.filename.endswith((".xml", ".rels")) else MAX_PART


def check_declared(path: Path, part: zipfile.ZipInfo) -> None:
    "Word compresses with deflate, or not at all: bzip2 and LZMA inflate without a bound on each step."
    if part.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise BuildError(path, f"cannot read Word document: {part.filename} is compressed in a way Word never uses")
    if part.file_size > limit(part):
        raise too_big(path, part.filename, limit(part))


def inflated(path: Path, package: zipfile.ZipFile, part: zipfile.ZipInfo) -> int:
    "The bytes `part` inflates to, counted a megabyte at a time; past its limit, an error."
    size = 0
    with package.open(part) as f:
        while chunk := f.read(MB):
            size += len(chunk)
            if size > limit(part):
                raise too_big(path, part.filename, limit(part))
    return size


def too_big(path: Path, what: str, most: int) -> BuildError:
    "`what` (a part's name, or `it`: the document) inflates past `most` bytes."
    kind = "a whole document" if what == "it" else "an XML part" if most == MAX_XML else "a picture or other part"
    return BuildError(path, f"cannot read Word document: {what} inflates to over {most // MB} MB, the limit for {kind}")


def front_paragraphs(document) -> tuple:
    "The opening Title or Heading 1 paragraph and the first Subtitle paragraph, or None for each."
    first = next((c for c in document.children if not is_empty(c)), None)
    title = first if is_paragraph(first) and style(first) in TITLE_STYLES else None
    subtitle = next((c for c in document.children if is_paragraph(c) and style(c) == "subtitle"), None)
    return title, subtitle


def is_paragraph(element) -> bool:
    return isinstance(element, documents.Paragraph)


def is_empty(element) -> bool:
    # Word documents often open with blank paragraphs; a paragraph holding only a picture is not blank.
    return not text_of(element) and not get_descendants_of_type(element, documents.Image)


def style(paragraph) -> str:
    # Word names its style `heading 1`, other tools `Heading 1`; a document without styles.xml has only the ID.
    return re.sub(r"\s", "", paragraph.style_name or paragraph.style_id or "").lower()


def text_of(element) -> str:
    return " ".join(extract_raw_text_from_element(element).split())


class ImageFiles:
    "mammoth's `convert_image`: each image becomes the next `imageN` file, numbered as pandoc did for fastpages."

    def __init__(self, path: Path, baseurl: str):
        self.path, self.folder, self.baseurl = path, f"assets/img/{path.stem}/media", baseurl.rstrip("/")
        self.files: dict[str, bytes] = {}
        self.warnings: list[str] = []

    def __call__(self, image) -> list:
        try:
            with image.open() as file:
                data = file.read()
        except Exception as e:
            # A picture linked from outside the document: the build fetches nothing, so the post goes without it.
            self.warnings.append(f"{self.path}: image left out: {e}")
            return []
        name = f"{self.folder}/image{len(self.files) + 1}.{extension(image.content_type)}"
        self.files[name] = data
        return [html.element("img", {"src": f"{self.baseurl}/{quote(name)}", "alt": image.alt_text or ""})]


def extension(content_type: str | None) -> str:
    "`image/png` gives png, `image/svg+xml` svg, `image/x-emf` emf; an unknown type gives bin."
    subtype = (content_type or "").partition("/")[2].split("+")[0]
    return subtype.removeprefix("x-") or "bin"
