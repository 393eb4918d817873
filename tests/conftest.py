import pytest


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    "Each test gets its own tensor cache, so no test sees another's cached stacks."
    monkeypatch.setenv("LIB_CACHE", str(tmp_path / "cache"))


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "slow: takes several seconds (a fresh virtual environment); -m 'not slow' skips it"
    )
