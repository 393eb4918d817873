"Jekyll's `_data/` folder: its JSON and YAML files are `site.data` in Liquid, as fastpages blogs use them."

import json
from pathlib import Path

import pytest
from helpers import built, markdown_post, page, site

from lib.blog.errors import BuildError
from lib.blog.jekyll import load_data

NOTE = "2020/01/02/note.html"


def post_showing(root: Path, liquid: str) -> None:
    markdown_post(root, f"---\ntitle: Data\n---\nValue: {liquid}.\n")


def test_a_yaml_file_is_site_data_under_its_name(tmp_path):
    root = site(tmp_path)
    (root / "_data").mkdir()
    (root / "_data" / "team.yml").write_text("lead: Ada\n")
    post_showing(root, "{{ site.data.team.lead }}")
    built(root)
    assert "Value: Ada." in page(root, NOTE)


def test_a_json_file_in_a_subfolder_is_a_map_of_that_folder(tmp_path):
    root = site(tmp_path)
    (root / "_data" / "course").mkdir(parents=True)
    (root / "_data" / "course" / "times.json").write_text('{"intro": {"minutes": 10}}')
    assert load_data(root) == {"course": {"times": {"intro": {"minutes": 10}}}}


def test_a_changed_data_file_renders_the_page_again(tmp_path):
    root = site(tmp_path)
    (root / "_data").mkdir()
    post_showing(root, "{{ site.data.n.value }}")
    for value in ("first", "second"):
        (root / "_data" / "n.json").write_text(json.dumps({"value": value}))
        built(root, cache=tmp_path / "cache")
    assert "second" in page(root, NOTE)


def test_bad_json_in_a_data_file_names_the_file(tmp_path):
    root = site(tmp_path)
    (root / "_data").mkdir()
    (root / "_data" / "times.json").write_text("{")
    with pytest.raises(BuildError, match=r"_data/times.json: bad JSON: Expecting property name"):
        load_data(root)


def test_a_data_file_no_reader_handles_is_an_error(tmp_path):
    root = site(tmp_path)
    (root / "_data").mkdir()
    (root / "_data" / "members.csv").write_text("name\nAda\n")
    with pytest.raises(BuildError, match=r"_data/members.csv: no reader for .csv files in _data/"):
        load_data(root)


def test_a_data_file_linked_from_outside_the_repository_is_refused(tmp_path):
    root = site(tmp_path)
    (root / "_data").mkdir()
    (tmp_path / "secret.yml").write_text("key: value\n")
    (root / "_data" / "secret.yml").symlink_to(tmp_path / "secret.yml")
    with pytest.raises(BuildError, match=r"_data/secret.yml: is a link to .*secret.yml, outside the repository"):
        load_data(root)
