"Word posts: HTML from mammoth, images saved where fastpages saved them, title and summary, bad files."

import struct
import sys
import zipfile
from pathlib import Path

import pytest
from helpers import measured, site

from lib.blog.errors import BuildError
from lib.blog.word import docx_to_html, read_word, word_front_matter

CORPUS_WORD = Path(__file__).parents[2] / "shared" / "fastpages-corpus" / "fastpages" / "site" / "_word"
PNG = b"\x89PNG\r\n\x1a\nnot really a picture"
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
IMAGE_REL = f'<Relationship Id="rId1" Type="{R}/image" Target="media/image1.png"/>'
CONTENT_TYPES = (
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/><Default Extension="png" ContentType="image/png"/>'
    '<Override PartName="/word/document.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'
)
PACKAGE_RELS = (
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    f'<Relationship Id="rId1" Type="{R}/officeDocument" Target="word/document.xml"/></Relationships>'
)
# Word's own names: built-in headings are lower case in styles.xml.
STYLES = "".join(
    f'<w:style w:type="paragraph" w:styleId="{id}"><w:name w:val="{name}"/></w:style>'
    for id, name in [("Title", "Title"), ("Subtitle", "Subtitle"), ("Heading1", "heading 1"), ("Fancy", "Fancy")]
)


def para(text: str, style: str = "") -> str:
    props = f'<w:pPr><w:pStyle w:val="{style}"/></w:pPr>' if style else ""
    return f'<w:p>{props}<w:r><w:t xml:space="preserve">{text}</w:t></w:r></w:p>'


def picture(alt: str = "") -> str:
    "A paragraph holding the picture `rId1`, drawn the way Word writes it."
    return (
        '<w:p><w:r><w:drawing><wp:inline xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing">'
        f'<wp:docPr id="1" name="Picture 1" descr="{alt}"/>'
        '<a:graphic xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"><a:graphicData>'
        '<pic:pic xmlns:pic="http://schemas.openxmlformats.org/drawingml/2006/picture"><pic:blipFill>'
        '<a:blip r:embed="rId1"/></pic:blipFill></pic:pic></a:graphicData></a:graphic>'
        "</wp:inline></w:drawing></w:r></w:p>"
    )


def docx(folder: Path, *body: str, name: str = "2020-01-02-My-Word-Post.docx", image: bytes | None = None) -> Path:
    "The smallest .docx mammoth reads: the paragraphs in `body`, and `image` as word/media/image1.png."
    path = folder / name
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("[Content_Types].xml", CONTENT_TYPES)
        z.writestr("_rels/.rels", PACKAGE_RELS)
        z.writestr(
            "word/document.xml",
            f'<w:document xmlns:w="{W}" xmlns:r="{R}"><w:body>{"".join(body)}</w:body></w:document>',
        )
        z.writestr("word/styles.xml", f'<w:styles xmlns:w="{W}">{STYLES}</w:styles>')
        rels = IMAGE_REL if image is not None else ""
        z.writestr(
            "word/_rels/document.xml.rels",
            f'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{rels}</Relationships>',
        )
        if image is not None:
            z.writestr("word/media/image1.png", image)
    return path


def test_paragraphs_and_headings_become_html(tmp_path):
    html, images = docx_to_html(docx(tmp_path, para("First words."), para("A section", "Heading1"), para("More.")))
    assert (html, images) == ("<p>First words.</p><h1>A section</h1><p>More.</p>", {})


def test_an_image_becomes_a_file_where_fastpages_put_it(tmp_path):
    html, images = docx_to_html(docx(tmp_path, para("Look:"), picture(), image=PNG), baseurl="/blog/")
    site_path = "assets/img/2020-01-02-My-Word-Post/media/image1.png"
    assert images == {site_path: PNG}
    assert f'src="/blog/{site_path}"' in html and "data:" not in html


def test_image_alt_text_comes_from_the_document_or_is_empty(tmp_path):
    # The alt text is written XML-escaped in the document and must come out HTML-escaped.
    with_alt = docx_to_html(docx(tmp_path, para("x"), picture("A cat &amp; a dog"), image=PNG))[0]
    without_alt = docx_to_html(docx(tmp_path, para("x"), picture(), image=PNG, name="2020-01-03-b.docx"))[0]
    assert 'alt="A cat &amp; a dog"' in with_alt and 'alt=""' in without_alt


def test_title_comes_from_the_file_name(tmp_path):
    path = docx(tmp_path, para("Just text."), name="2020-01-01-Microsoft-Word-Example-Post.docx")
    assert word_front_matter(path) == {"title": "Microsoft Word Example Post", "categories": [], "summary": ""}


@pytest.mark.parametrize("style", ["Title", "Heading1"])
def test_a_title_styled_first_paragraph_wins_and_leaves_the_body(tmp_path, style):
    path = docx(tmp_path, para(""), para("The Real Title", style), para("Body."))
    assert word_front_matter(path)["title"] == "The Real Title"
    assert docx_to_html(path)[0] == "<p>Body.</p>"


def test_a_subtitle_paragraph_is_the_summary(tmp_path):
    path = docx(tmp_path, para("The Title", "Title"), para("In one line.", "Subtitle"), para("Body."))
    assert word_front_matter(path)["summary"] == "In one line."
    assert docx_to_html(path)[0] == "<p>Body.</p>"


def test_mammoth_messages_are_warnings_naming_the_file(tmp_path):
    path = docx(tmp_path, para("One", "Fancy"), para("Two", "Fancy"))
    warnings = []
    docx_to_html(path, warnings=warnings)
    assert warnings == [f"{path}: Unrecognised paragraph style: Fancy (Style ID: Fancy)"]


def test_read_word_gives_a_post_and_its_images(tmp_path):
    post, images = read_word(docx(tmp_path, para("Hi", "Title"), picture(), image=PNG))
    assert (post.kind, post.title, post.url) == ("word", "Hi", "/2020/01/02/My-Word-Post.html")
    assert post.text.startswith("<p><img") and list(images) == ["assets/img/2020-01-02-My-Word-Post/media/image1.png"]


def broken_zip(path: Path) -> None:
    docx(path.parent, para("x"), name=path.name)
    path.write_bytes(path.read_bytes()[:200])


def missing_document(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("readme.txt", "no word/document.xml here")


def bad_xml(path: Path) -> None:
    docx(path.parent, "<w:p><w:r>", name=path.name)


@pytest.mark.parametrize(
    "spoil",
    [lambda p: p.write_bytes(b"not a zip at all"), broken_zip, missing_document, bad_xml, lambda p: p.mkdir()],
    ids=["not-a-zip", "truncated", "no-document", "bad-xml", "folder"],
)
def test_a_bad_file_is_a_build_error_naming_it(tmp_path, spoil):
    path = tmp_path / "2020-01-02-Broken.docx"
    spoil(path)
    for convert in (docx_to_html, word_front_matter):
        with pytest.raises(BuildError, match="cannot read Word document") as e:
            convert(path)
        assert e.value.path == path and str(e.value).startswith(str(path))


@pytest.mark.skipif(not CORPUS_WORD.is_dir(), reason="the fastpages corpus in /work/shared is not here")
def test_the_fastpages_example_document():
    path = CORPUS_WORD / "2020-01-01-Microsoft-Word-Example-Post.docx"
    html, images = docx_to_html(path)
    folder = "assets/img/2020-01-01-Microsoft-Word-Example-Post/media"
    assert list(images) == [f"{folder}/image1.png", f"{folder}/image2.png"]
    with zipfile.ZipFile(path) as z:
        assert images[f"{folder}/image2.png"] == z.read("word/media/image2.png")
    assert html.startswith("<p>When writing a blog post with Microsoft Word") and html.count("<img") == 2


# A .docx is a zip file: a small one can inflate to gigabytes.


def bomb(folder: Path, part: str, size: int) -> Path:
    "A Word post whose `part` inflates to `size` bytes of one repeated piece of XML, some MB on disk."
    plain = docx(folder, para("x"), picture(), image=PNG, name="plain.docx")
    path = folder / "2020-01-02-Bomb.docx"
    with zipfile.ZipFile(plain) as old, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as new:
        for info in old.infolist():
            if info.filename != part:
                new.writestr(info, old.read(info))
        with new.open(part, "w", force_zip64=True) as f:
            f.write(f'<w:document xmlns:w="{W}"><w:body>'.encode())  # well-formed as far as it goes
            chunk = b"<w:p/>" * (2**20 // 6)
            for _ in range(size // len(chunk)):
                f.write(chunk)
    plain.unlink()
    return path


@pytest.mark.parametrize("part, size", [("word/document.xml", 2**30), ("word/media/image1.png", 2**31)])
def test_a_word_post_that_inflates_to_gigabytes_stops_the_build_at_once(tmp_path, part, size):
    root = site(tmp_path)
    (root / "_word").mkdir()
    path = bomb(root / "_word", part, size)
    cmd = [sys.executable, "-m", "lib.blog", "build", "--root", str(root), "--no-search"]
    code, seconds, memory = measured(cmd, 60, tmp_path / "build.log")
    output = (tmp_path / "build.log").read_text()
    assert code == 1 and seconds < 30 and memory < 2**30, (code, seconds, memory, output)
    assert f"error: {path}: cannot read Word document: {part} inflates to over" in output
    assert "Traceback" not in output


def declare(path: Path, part: str, size: int) -> None:
    "Make the zip file say that `part` inflates to `size` bytes, in its local header and its central directory."
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as z:
        info, start = z.getinfo(part), z.start_dir
    struct.pack_into("<I", data, info.header_offset + 22, size)
    while data[start : start + 4] == b"PK\x01\x02":  # the central directory's records, one per part
        name_size, extra, comment = struct.unpack_from("<HHH", data, start + 28)
        if data[start + 46 : start + 46 + name_size] == part.encode():
            struct.pack_into("<I", data, start + 24, size)
        start += 46 + name_size + extra + comment
    path.write_bytes(bytes(data))


def test_a_part_that_inflates_to_more_than_its_declared_size_is_refused(tmp_path):
    path = docx(tmp_path, para("x" * 2**20), name="2020-01-02-Liar.docx")
    declare(path, "word/document.xml", 1000)
    with pytest.raises(BuildError, match="cannot read Word document: Bad CRC-32 for file 'word/document.xml'"):
        docx_to_html(path)


def test_a_part_compressed_as_word_never_does_is_refused(tmp_path):
    path = docx(tmp_path, para("x"), name="2020-01-02-Odd.docx")
    with zipfile.ZipFile(path, "a") as z:
        z.writestr("word/extra.xml", "<x/>", compress_type=zipfile.ZIP_BZIP2)
    with pytest.raises(BuildError, match="word/extra.xml is compressed in a way Word never uses"):
        docx_to_html(path)
