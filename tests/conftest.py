import pytest


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    "Each test gets its own tensor cache, so no test sees another's cached stacks."
    monkeypatch.setenv("LIB_CACHE", str(tmp_path / "cache"))
