"""The search page in Chromium, searching the full index merged with the delta of an edit and a deletion (see
test_search_delta.py): the edit is found, what it took out and the deleted page are not, and nothing twice."""

import shutil

import pytest
from browsing import require_chromium, served, watch
from test_search_delta import blog, edited

from lib.blog.search import DELTA, delta_index
from lib.blog.write import swap

require_chromium()


@pytest.fixture
def searched(tmp_path, browser):
    """Search the blog's search page in Chromium, the full index merged with the delta of the edit and the
    deletion: a function of a term that gives the results' titles and the console's errors."""
    root = blog(tmp_path)
    out = root / "_site"
    work = delta_index(out, *edited(root))
    swap(work / DELTA, out / "pagefind" / DELTA)
    shutil.rmtree(work)
    context = browser.new_context()
    context.set_default_timeout(15_000)
    with served(out) as url:

        def search(term: str) -> tuple[list[str], list[str]]:
            page = context.new_page()
            errors, _ = watch(page, url)
            page.goto(f"{url}/search.html?q={term}", wait_until="networkidle")
            page.locator(".pagefind-ui__message").filter(has_text="result").wait_for()
            return page.locator(".pagefind-ui__result-link").all_inner_texts(), errors

        yield search
    context.close()


def test_search_finds_an_edit_from_the_delta(searched):
    assert searched("tundra") == (["Bison"], [])


def test_search_no_longer_finds_what_an_edit_took_out(searched):
    assert searched("prairie") == ([], [])


def test_search_no_longer_finds_a_deleted_page(searched):
    assert searched("cassowary") == ([], [])


def test_search_shows_a_page_in_both_indexes_once(searched):
    assert searched("bison") == (["Bison"], [])


def test_search_still_finds_the_unchanged_pages(searched):
    assert searched("aardvark") == (["Aardvark"], [])
