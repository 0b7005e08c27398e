"""Browser fixtures: Debian's headless Chromium driven by Playwright (no browser downloads).

Playwright's sync API runs an event loop in the calling thread for as long as it is started.
pytest-playwright keeps it started for the whole session, which breaks every later test that
calls ``asyncio.run`` (the database fixtures do), so the browser here lives for one test.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

CHROMIUM = Path(os.environ.get("CENTRALITA_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    if CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    msg = (
        f"headless Chromium not found at {CHROMIUM}; install it with "
        "`apt-get install chromium` (see ../shared/SERVICES.md) to run the browser tests"
    )
    if os.environ.get("CENTRALITA_REQUIRE_SERVICES") == "1":
        pytest.fail(msg + " (CENTRALITA_REQUIRE_SERVICES=1)")
    pytest.skip(msg)


@pytest.fixture
def chromium(chromium_path: Path) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(chromium_path), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()
