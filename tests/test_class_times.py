"""Time in class: each section of each notebook post, measured in a fresh process into `_data/class_times.json`,
and the teacher's guide, which shows those measurements through Liquid next to its planned minutes."""

import json
import re
import sys
from pathlib import Path

import pytest
from helpers import notebook, site
from nbformat.v4 import new_markdown_cell

from lib.blog.config import load_config
from lib.blog.jekyll import load_data
from lib.classtime import SETUP, measure, notebook_posts, sections

ROOT = Path(__file__).parents[1]
GUIDE = ROOT / "_posts" / "2021-09-04-teachers-guide.md"


def guide_liquid() -> str:
    "The guide's text, its front matter left out."
    return GUIDE.read_text().split("\n---\n", 1)[1]


def test_every_class_time_the_guide_shows_was_measured():
    "Rendered with strict Liquid, a section the measurements lack (a renamed heading) is an error, not a blank."
    import liquid

    site = load_config(ROOT).raw | {"data": load_data(ROOT), "baseurl": load_config(ROOT).baseurl}
    env = liquid.Environment(undefined=liquid.StrictUndefined)
    for solutions in ("hidden", "shown"):  # the public guide, and the teacher's copy with its answers
        env.from_string(guide_liquid()).render(site=site, page={"solutions": solutions})


def shown_sections(text: str) -> dict[str, set[str]]:
    'The sections whose times the guide shows, by notebook: `{% assign x = ...notebooks.SLUG.sections %}`, `x["..."]`.'
    slugs = dict(re.findall(r"{% assign (\w+) = site\.data\.class_times\.notebooks\.([\w-]+)\.sections %}", text))
    found = {slug: set() for slug in slugs.values()}
    for name, heading in re.findall(r'(\w+)\["([^"]+)"\]\.first_run', text):
        found[slugs[name]].add(heading)
    return found


def test_the_guide_shows_every_measured_section():
    times = load_data(ROOT)["class_times"]["notebooks"]
    assert shown_sections(guide_liquid()) == {slug: set(times[slug]["sections"]) for slug in times}


def test_the_measured_sections_are_the_notebooks_headings():
    "The data file is as current as the notebooks' headings: after renaming one, run `make class-times`."
    times = load_data(ROOT)["class_times"]["notebooks"]
    for path in notebook_posts():
        assert list(times[path.stem[11:]]["sections"]) == list(sections(json.loads(path.read_text())))


def test_the_guides_plans_add_up_to_60_and_90_minutes():
    "Each plan row ends with its minutes in the 60-minute and the 90-minute class."
    rows = re.findall(r"^\|.*\| (\d+) \| (\d+) \|$", guide_liquid(), re.M)
    assert [sum(int(row[i]) for row in rows) for i in (0, 1)] == [60, 90]


def test_the_code_above_the_first_heading_is_the_setup_section():
    nb = {"cells": [{"cell_type": "markdown", "source": '# "Title"'}, {"cell_type": "code", "source": "import x"}]}
    assert sections(nb) == {SETUP: [nb["cells"][1]]}


def test_only_a_first_level_heading_starts_a_section():
    md = {"cell_type": "markdown", "source": "# One\n\n## One point one"}
    nb = {"cells": [{"cell_type": "markdown", "source": '# "Title"'}, md, {"cell_type": "code", "source": "x = 1"}]}
    assert list(sections(nb)) == [SETUP, "One"]


@pytest.mark.slow
def test_each_section_is_timed_in_a_fresh_process(tmp_path):
    path = notebook(site(tmp_path), new_markdown_cell("# Quick"), "x = 1", new_markdown_cell("# Slow"),
                    "import time; time.sleep(0.5)")  # fmt: skip
    times = measure(path, {"PATH": str(Path(sys.executable).parent)})
    assert list(times) == [SETUP, "Quick", "Slow"] and times["Slow"] >= 0.5 > times["Quick"]
