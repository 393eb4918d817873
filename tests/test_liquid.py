"""Liquid written by someone the build need not trust: it sees data only, costs a bounded amount, names the file
and line of whatever goes wrong, and never publishes raw Liquid or script. One attack or mistake per test.

In the browser: test_liquid_browser.py.
"""

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import CONFIG, PEAK_OF, built, markdown_post, notebook, page, site
from nbformat.v4 import new_markdown_cell

from lib.blog.build import build
from lib.blog.errors import BuildError

ROOT = Path(__file__).parents[1]
SECRET = "liquid-test-secret-7f3a"  # set in the build's environment, and never in a page
ENVIRON = "forloop.__init__.__globals__.sys.modules.os.environ._data"
UNTRUSTED = CONFIG + "sanitize_outputs: true\n"


def post(body: str) -> str:
    return f"---\ntitle: T\n---\n{body}"  # the body starts on line 4


def warnings_of(root: Path) -> list[str]:
    logged = []
    build(root, root / "_site", search=False, log=logged.append)
    return [line for line in logged if line.startswith("warning:")]


def published(root: Path) -> str:
    "Every file the build wrote, as one text."
    return "\n".join(p.read_bytes().decode(errors="replace") for p in (root / "_site").rglob("*") if p.is_file())


# Data only


@pytest.mark.parametrize(
    "attack",
    [
        f"{{% for x in (1..1) %}}{{% include note.html content={ENVIRON} %}}{{% endfor %}}",
        "{% include note.html content=site.__class__.__init__.__globals__ %}",
        "{% include note.html content=page.date.__class__.__module__ %}",
        "{{ page.date.__class__.__init__.__globals__ }}{{ site.__class__ }}{{ page.categories.__class__ }}",
    ],
)
def test_liquid_in_a_post_reaches_no_python_object(tmp_path, monkeypatch, attack):
    monkeypatch.setenv("LIQUID_SECRET", SECRET)
    root = site(tmp_path)
    markdown_post(root, post(f"{attack}\n"))
    built(root)
    assert SECRET not in published(root) and "environ" not in published(root)


def test_liquid_in_an_untrusted_notebook_reaches_no_python_object(tmp_path, monkeypatch):
    monkeypatch.setenv("LIQUID_SECRET", SECRET)
    root = site(tmp_path, UNTRUSTED)
    attack = f"{{% for x in (1..1) %}}{{% include note.html content={ENVIRON} %}}{{% endfor %}}"
    notebook(root, new_markdown_cell(attack))
    built(root)
    assert SECRET not in published(root)


def test_an_include_parameter_reads_keys_of_data(tmp_path):
    root = site(tmp_path)
    (root / "_data").mkdir()
    (root / "_data/people.yml").write_text("- name: Ada\n")
    markdown_post(root, post("{% include note.html content=site.data.people[0].name %}\n"))
    built(root)
    assert '<strong class="callout-label">Note:</strong> Ada</p>' in page(root, "2020/01/02/note.html")


# Includes stay in the repository


def test_an_includes_folder_linked_out_of_the_repository_is_an_error_naming_the_file(tmp_path):
    root = site(tmp_path)
    (root / "_includes").symlink_to("/etc")
    markdown_post(root, post("{% include passwd %}\n"))
    with pytest.raises(BuildError, match=r"_includes/passwd: is a link to /etc/passwd, outside the repository"):
        built(root)


def test_an_include_file_linked_out_of_the_repository_is_an_error_naming_the_file(tmp_path):
    root = site(tmp_path)
    (tmp_path / "secret.txt").write_text(SECRET)
    (root / "_includes").mkdir()
    (root / "_includes/secret.html").symlink_to(tmp_path / "secret.txt")
    markdown_post(root, post("{% include secret.html %}\n"))
    with pytest.raises(BuildError, match=r"_includes/secret.html: is a link to .*secret.txt, outside the repository"):
        built(root)


# A tag alone in a block still shows


@pytest.mark.parametrize(
    "tag, shown",
    [
        ('{% include note.html content="hi" %}', '<strong class="callout-label">Note:</strong> hi'),
        ("{% twitter https://twitter.com/jakevdp/status/1 %}", '<div class="embed embed-twitter">'),
        ("{% gist parente/6c0cfb7d %}", '<div class="embed embed-gist">'),
        ("{% fn 1 %}", '<sup id="fnref-1" class="footnote-ref">'),
    ],
)
def test_a_tag_alone_in_an_if_block_is_shown(tmp_path, tag, shown):
    root = site(tmp_path)
    markdown_post(root, post(f"{{% if page.title %}}{tag}{{% endif %}}\n"))
    built(root)
    assert shown in page(root, "2020/01/02/note.html")


# Errors name the right file and line


def test_an_error_inside_an_include_names_the_include_file_and_line_and_leaves_out_that_include(tmp_path):
    root = site(tmp_path)
    (root / "_includes").mkdir()
    (root / "_includes/broken.html").write_text("Fine.\n{{ 'x' | no_such_filter }}\n")
    path = markdown_post(root, post("# {{ page.title }}\n\nBefore. {% include broken.html %} After.\n"))
    [warning] = warnings_of(root)
    assert warning.startswith(f"warning: {path}: line 6: Liquid '{{% include broken.html %}}' was left out (")
    assert "in _includes/broken.html, line 2: UnknownFilterError: unknown filter 'no_such_filter'" in warning
    html = page(root, "2020/01/02/note.html")
    assert "<h1" in html and ">T</h1>" in html and "<p>Before.  After.</p>" in html


def test_an_include_that_does_not_parse_names_the_include_file(tmp_path):
    root = site(tmp_path)
    (root / "_includes").mkdir()
    (root / "_includes/unclosed.html").write_text("{% if x %}never closed\n")
    markdown_post(root, post("{% include unclosed.html %}\n"))
    [warning] = warnings_of(root)
    assert "(in _includes/unclosed.html: LiquidSyntaxError: expected tag endif" in warning


def test_an_embed_whose_address_would_run_script_is_left_out_with_a_warning(tmp_path):
    root = site(tmp_path)
    path = markdown_post(root, post("{% include video.html url='javascript:alert(1)' %}\n"))
    [warning] = warnings_of(root)
    assert warning.startswith(f"warning: {path}: line 4: Liquid ")
    assert "video address 'javascript:alert(1)' is not http(s) or relative" in warning
    assert "javascript:" not in page(root, "2020/01/02/note.html")


def test_more_failing_tags_than_the_limit_stop_the_build_naming_the_file(tmp_path):
    root = site(tmp_path)
    path = markdown_post(root, post("{{ page.title }}\n" + "{% post_url 2020-01-01-other %}\n" * 51))
    started = time.monotonic()
    with pytest.raises(BuildError, match="more than 50 Liquid tags fail") as error:
        built(root)
    assert error.value.path == path and time.monotonic() - started < 10
    assert not (root / "_site/2020/01/02/note.html").exists()


def test_fifty_failing_tags_are_each_left_out_and_the_rest_rendered(tmp_path):
    root = site(tmp_path)
    markdown_post(root, post("{{ page.title }}\n" + "{% post_url 2020-01-01-other %}\n" * 50))
    assert len(warnings_of(root)) == 50
    html = page(root, "2020/01/02/note.html")
    assert "<p>T</p>" in html and "{%" not in html and "post_url" not in html


# What shows nothing is said


def test_an_undefined_variable_in_a_code_block_is_a_warning_naming_the_line(tmp_path):
    root = site(tmp_path)
    path = markdown_post(root, post("```yaml\ntoken: ${{ secrets.TOKEN }}\n```\n"))
    [warning] = warnings_of(root)
    assert warning.startswith(f"warning: {path}: line 5: Liquid '{{{{ secrets.TOKEN }}}}' shows nothing: ")
    assert "{% raw %}" in warning


def test_double_braces_in_latex_are_a_warning_naming_the_line(tmp_path):
    root = site(tmp_path)
    path = markdown_post(root, post("Bold: $\\mathbf{{x}}$\n"))
    assert f"warning: {path}: line 4: Liquid '{{{{x}}}}' shows nothing: 'x' is undefined" in warnings_of(root)[0]


def test_an_undefined_variable_in_a_notebook_cell_names_the_cell_and_line(tmp_path):
    root = site(tmp_path)
    path = notebook(root, new_markdown_cell("One.\n\nTwo {{ nothing }}."))
    assert any(w.startswith(f"warning: {path}: cell 2, line 3: Liquid '{{{{ nothing }}}}'") for w in warnings_of(root))


def test_a_test_of_an_undefined_variable_says_nothing(tmp_path):
    root = site(tmp_path)
    markdown_post(root, post("{% if page.comments %}C{% endif %}{{ page.nothing | default: 'D' }}\n"))
    assert warnings_of(root) == []


# Untrusted notebooks: what Liquid writes is cleaned too


def test_script_written_by_a_filter_in_an_untrusted_notebook_is_text(tmp_path):
    root = site(tmp_path, UNTRUSTED)
    notebook(root, new_markdown_cell("{{ '%3Cscript%3Ealert(1)%3C/script%3E' | url_decode }}"))
    built(root)
    assert "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>" in page(root)


def test_an_untrusted_notebooks_include_parameter_may_not_be_a_script_address(tmp_path):
    root = site(tmp_path, UNTRUSTED)
    path = notebook(root, new_markdown_cell("{% include image.html file='data:image/png;base64,AA' %}"))
    [warning] = [w for w in warnings_of(root) if "Liquid" in w]
    assert warning.startswith(f"warning: {path}: cell 2, line 1: Liquid ")
    assert "include parameter file='data:image/png;base64,AA' is an address that is not http(s) or relative" in warning


def test_an_untrusted_notebooks_includes_still_work(tmp_path):
    root = site(tmp_path, UNTRUSTED)
    (root / "images").mkdir()
    (root / "images/my chart.png").write_bytes(b"png")
    image = '{% include image.html file="/images/my chart.png" caption="A chart" %}'
    video = '{% include youtube.html content="https://youtu.be/XfoYk_Z5AkI" %}'
    notebook(root, *map(new_markdown_cell, [image, video, '{% include note.html content="Mind the gap." %}']))
    built(root)
    html = page(root)
    assert '<img src="/images/my chart.png" alt="" />' in html and "<figcaption>A chart</figcaption>" in html
    assert (root / "_site/images/my chart.png").read_bytes() == b"png"
    assert 'data-load="https://www.youtube-nocookie.com/embed/XfoYk_Z5AkI"' in html
    assert '<strong class="callout-label">Note:</strong> Mind the gap.' in html


def test_an_address_written_by_liquid_into_an_untrusted_link_is_dropped(tmp_path):
    root = site(tmp_path, UNTRUSTED)
    notebook(root, new_markdown_cell("<a href=\"{{ 'javascript:alert(1)' }}\">x</a>"))
    built(root)
    assert "javascript:" not in page(root) and "<a>x</a>" in page(root)


# Denial of service: each stops in seconds, in bounded memory, naming the file and line

PEAK = """
import resource, sys
from lib.blog.cli import main
code = main(["build", "--root", sys.argv[1], "--no-search"])
peak = max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
print(f"peak {peak} KiB", file=sys.stderr)
sys.exit(code)
"""
GIB = 1024 * 1024  # ru_maxrss is in KiB on Linux


def limit_memory():
    "A runaway build fails here rather than take the machine's memory: 3 GiB of address space."
    resource.setrlimit(resource.RLIMIT_AS, (3 * 1024 * GIB, 3 * 1024 * GIB))


@pytest.mark.parametrize(
    "body, line, message",
    [
        ("{% for i in (1..100000000) %}{{ i }}{% endfor %}", 4, "a loop over 100,000,000 items"),
        ("{% for i in (1..10000) %}{% for j in (1..10000) %}x{% endfor %}{% endfor %}", 4, "loop iteration limit"),
        ("{% for i in (1..100000000) reversed %}{{ i }}{% endfor %}", 4, "a loop over 100,000,000 items"),
        (
            '{% assign s = "ab" %}\n{% for i in (1..31) %}{% assign s = s | append: s %}{% endfor %}{{ s }}',
            5,
            "append: a value of 1,048,576 characters",
        ),
        ('{{ "' + "a" * 5_000_000 + '" | upcase | split: "" | size }}', 4, "runs on for more than 100,000 characters"),
        ('{% assign s = "' + "a" * 99_000 + '" %}\n{{ s | split: "" | join: s }}', 5, "filters took and gave"),
        ("{% for i in (1..90000) %}{% endfor %}\n" * 20, 15, "more than 1,000,000 steps"),
        (
            "{% capture c %}{% for i in (1..99999) %}" + "x" * 100 + "{% endfor %}{% endcapture %}",
            4,
            "output stream limit",
        ),
    ],
    ids=["long loop", "nested loops", "reversed", "doubling", "5 MB literal", "join", "many loops", "capture"],
)
def test_liquid_that_would_run_away_stops_in_seconds_naming_the_file_and_line(tmp_path, body, line, message):
    root = site(tmp_path)
    path = markdown_post(root, post(f"{body}\n"))
    started = time.monotonic()
    done = subprocess.run(
        # Through PEAK_OF's small process: a process forked from the test run would count the test run's memory too.
        [sys.executable, "-c", PEAK_OF, str(tmp_path / "peak"), sys.executable, "-c", PEAK, str(root)],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
        preexec_fn=limit_memory, env=os.environ | {"PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert done.returncode == 1, done.stderr[-2000:]
    assert time.monotonic() - started < 10
    assert done.stderr.startswith(f"error: {path}: line {line}: "), done.stderr[:500]
    assert message in done.stderr.splitlines()[0]
    assert int(done.stderr.split("peak ")[1].split()[0]) < GIB
