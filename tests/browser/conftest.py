"""Fixtures for the real-browser suite: Debian's Chromium through Playwright, and a JupyterLab server.

Locally, a missing Chromium skips these tests with the install hint; with ``CI=true`` it fails
them (``make test`` installs Chromium first when it can).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, async_playwright

from tests.browser.lab import CHROMIUM, SCREENSHOTS, JupyterLab
from tests.conftest import IN_CI

pytestmark = pytest.mark.browser

INSTALL_HINT = "install it with `apt-get update && apt-get install -y chromium` (or set CHROMIUM_PATH)"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def chromium() -> str:
    """The Chromium binary: fails in CI, skips elsewhere, when there is none."""
    if not Path(CHROMIUM).exists():
        message = f"no Chromium at {CHROMIUM}: {INSTALL_HINT}"
        if IN_CI:
            pytest.fail(f"CI=true and {message}", pytrace=False)
        pytest.skip(message)
    return CHROMIUM


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser(chromium: str) -> AsyncIterator[Browser]:
    """Debian's Chromium, headless (Playwright cannot download its own browser here)."""
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        yield browser
        await browser.close()


@pytest_asyncio.fixture(loop_scope="session")
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    """A fresh browser profile with a laptop-sized window."""
    context = await browser.new_context(viewport={"width": 1440, "height": 900})
    yield context
    await context.close()


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterLab]:
    """JupyterLab from this venv on a free loopback port, serving a copy of the notebooks."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    server = JupyterLab.start(tmp_path_factory.mktemp("lab"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def timings() -> Iterator[dict[str, float]]:
    """In-browser Run All seconds per notebook, printed and written next to the screenshots."""
    measured: dict[str, float] = {}
    yield measured
    if measured:
        lines = [f"{name}: Run All {seconds:.0f} s" for name, seconds in sorted(measured.items())]
        (SCREENSHOTS / "timings.txt").write_text("\n".join(lines) + "\n")
        print("\n" + "\n".join(lines))
