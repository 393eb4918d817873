"Jekyll's `_data/` folder: its JSON and YAML files are `site.data` in Liquid, as fastpages blogs use them."

import json
import sys
from pathlib import Path

import pytest
from helpers import built, markdown_post, measured, page, site

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


def laughs(levels: int = 9) -> str:
    "The billion laughs: ten lines, each an anchor of nine aliases of the one before, 9**10 values in all."
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


BOMBS = {
    "the billion laughs": (laughs(), "its aliases (*name) expand its"),
    "lists nested 100,000 deep": ("[" * 100_000 + "]" * 100_000, "lists and maps are nested more than 100 deep"),
}


@pytest.mark.parametrize("text, message", BOMBS.values(), ids=BOMBS.keys())
def test_a_yaml_bomb_in_an_unused_data_file_stops_the_build_at_once(tmp_path, text, message):
    root = site(tmp_path)
    (root / "_data").mkdir()
    (root / "_data" / "bomb.yml").write_text(text)
    markdown_post(root, "---\ntitle: Plain\n---\nNo data used.\n")
    cmd = [sys.executable, "-m", "lib.blog", "build", "--root", str(root), "--no-search"]
    code, seconds, memory = measured(cmd, 60, tmp_path / "build.log")
    output = (tmp_path / "build.log").read_text()
    assert code == 1 and seconds < 30 and memory < 2**30, (code, seconds, memory, output)
    assert f"error: {root}/_data/bomb.yml: bad YAML: {message}" in output and "Traceback" not in output


def test_a_few_aliases_are_data_as_written(tmp_path):
    root = site(tmp_path)
    (root / "_data").mkdir()
    (root / "_data" / "team.yml").write_text(
        "base: &base {role: dev}\nada:\n  <<: *base\n  name: Ada\nall: [*base, *base]\n"
    )
    assert load_data(root)["team"] == {
        "base": {"role": "dev"},
        "ada": {"role": "dev", "name": "Ada"},
        "all": [{"role": "dev"}, {"role": "dev"}],
    }


def test_an_alias_inside_its_own_value_is_an_error_naming_the_file(tmp_path):
    root = site(tmp_path)
    (root / "_data").mkdir()
    (root / "_data" / "loop.yml").write_text("a: &a [1, *a]\n")
    with pytest.raises(BuildError, match=r"_data/loop.yml: bad YAML: an alias stands for a value that holds"):
        load_data(root)


def test_json_nested_deeper_than_python_can_follow_is_an_error_naming_the_file(tmp_path):
    root = site(tmp_path)
    (root / "_data").mkdir()
    (root / "_data" / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(BuildError, match=r"_data/deep.json: bad JSON: nested too deep"):
        load_data(root)
