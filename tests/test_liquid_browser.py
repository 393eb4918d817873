"""Liquid that tries to run script, in Chromium: the page is opened, every click-to-load button is clicked, and no
script of the attack runs (no dialog opens, and `window.__pwned` stays undefined). Untrusted notebooks are built with
`sanitize_outputs: true`; a trusted post's include parameters are escaped all the same.
"""

import pytest
from browsing import require_chromium, served
from helpers import CONFIG, built, markdown_post, notebook, site
from nbformat.v4 import new_markdown_cell

require_chromium()

RUN = "window.__pwned=1;alert(1)"
NOTEBOOK_ATTACKS = {
    "url_decode": "{{ '%3Cscript%3Ewindow.__pwned%3D1%3Balert(1)%3C/script%3E' | url_decode }}",
    "video include": f"{{% include video.html url='javascript:{RUN}' %}}",
    "link address": f"<a href=\"{{{{ 'javascript:{RUN}' }}}}\">x</a>",
    "image include": f"{{% include image.html file='x.png' caption='<img src=x onerror=\"{RUN}\">' %}}",
}
POST_ATTACKS = {
    "screenshot url": f"{{% include screenshot url='\"><script>{RUN}</script>' caption='x' %}}",
    "screenshot caption": f"{{% include screenshot url='x.png' caption='\"><script>{RUN}</script>' %}}",
    "image alt": f"{{% include image.html file='x.png' alt='\"><img src=x onerror=\"{RUN}\">' %}}",
    "video include": f"{{% include video.html url='javascript:{RUN}' %}}",
}


def no_script_runs(browser, folder, path: str) -> None:
    "Open the page, click every embed's button and link, and check that nothing of the attack ran."
    dialogs = []
    with served(folder) as base:
        page = browser.new_page()
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(f"{base}/{path}", wait_until="load")
        for element in page.query_selector_all(".post-content button.embed-load, .post-content .embed a"):
            if element.is_visible():
                element.click(no_wait_after=True)
        page.wait_for_timeout(300)
        assert page.evaluate("typeof window.__pwned") == "undefined"
        assert page.locator('[href^="javascript:" i], [data-load^="javascript:" i]').count() == 0
        page.close()
    assert dialogs == []


@pytest.mark.parametrize("attack", NOTEBOOK_ATTACKS.values(), ids=NOTEBOOK_ATTACKS)
def test_liquid_in_an_untrusted_notebook_runs_no_script(browser, tmp_path, attack):
    root = site(tmp_path, CONFIG + "sanitize_outputs: true\n")
    notebook(root, new_markdown_cell(attack))
    no_script_runs(browser, built(root), "2020/01/01/post.html")


@pytest.mark.parametrize("attack", POST_ATTACKS.values(), ids=POST_ATTACKS)
def test_an_include_parameter_in_a_trusted_post_runs_no_script(browser, tmp_path, attack):
    root = site(tmp_path)
    markdown_post(root, f"---\ntitle: T\n---\n{attack}\n")
    no_script_runs(browser, built(root), "2020/01/02/note.html")


def test_the_check_sees_script_that_runs(browser, tmp_path):
    "The same check fails on a trusted post's own script, which is published as written."
    root = site(tmp_path)
    markdown_post(root, f"---\ntitle: T\n---\n<script>{RUN}</script>\n")
    with pytest.raises(AssertionError):
        no_script_runs(browser, built(root), "2020/01/02/note.html")
