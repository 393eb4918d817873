import pytest


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    "Each test gets its own tensor cache, so no test sees another's cached stacks."
    monkeypatch.setenv("LIB_CACHE", str(tmp_path / "cache"))


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "slow: takes several seconds (a fresh virtual environment); -m 'not slow' skips it"
    )


@pytest.fixture(scope="module")
def browser():
    "Debian's Chromium, driven by Playwright (browsing.py), one per test module."
    from browsing import launch
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()
