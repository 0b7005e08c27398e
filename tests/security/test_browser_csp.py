"""Headless Chromium loads the main pages under our Content Security Policy and reports no
violation: no inline script, handler or style slipped into a template or a script."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from tests.web.conftest import chromium, chromium_path
from tests.web.test_browser import LiveServer, start_live_server

pytestmark = pytest.mark.browser
__all__ = ["chromium", "chromium_path"]  # fixtures, imported for this module

SUPERVISOR = ("sam.supervision@example.com", "supervision-2026-csp")
# Every violation, as the page itself sees it (the event fires before any console message).
WATCH = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveServer]:
    with start_live_server(tmp_path) as server:
        r = server.api.post(
            "/api/v1/users",
            json={
                "email": SUPERVISOR[0],
                "name": "Sam",
                "role": "supervisor",
                "password": SUPERVISOR[1],
            },
        )
        assert r.status_code == 201, r.text
        yield server


def _sign_in(page: Page, live: LiveServer, email: str, password: str) -> None:
    page.goto(live.url + "/login")
    page.fill("input[name=workspace]", live.slug)
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(live.url + "/app")


def test_the_main_pages_raise_no_csp_violation(live: LiveServer, chromium: Browser) -> None:
    context = chromium.new_context()
    context.add_init_script(WATCH)
    page = context.new_page()
    reported: list[str] = []
    page.on(
        "console",
        lambda msg: (
            reported.append(f"{page.url}: {msg.text}")
            if "Content Security Policy" in msg.text or "Content-Security-Policy" in msg.text
            else None
        ),
    )
    seen: dict[str, list[str]] = {}
    login = page.goto(live.url + "/login")
    assert login is not None and "script-src 'self'" in login.headers["content-security-policy"]
    seen["/login"] = page.evaluate("window.__csp")
    _sign_in(page, live, *SUPERVISOR)
    paths = [
        "/app",
        "/desk",
        "/wallboard",
        "/supervisor/kpis",
        "/supervisor/staffing",
        "/campaigns",
        f"/simulator?account={live.account_id}",
    ]
    for path in paths:
        response = page.goto(live.url + path)
        assert response is not None and response.status == 200, (path, response)
        page.wait_for_load_state("load")
        page.wait_for_timeout(400)  # scripts that fetch and render after load
        seen[path] = page.evaluate("window.__csp")
    found_in_console = list(reported)
    # The watch itself works: an inline script put into the page is blocked and reported.
    page.evaluate(
        "() => { const s = document.createElement('script');"
        " s.textContent = 'window.__ran = 1'; document.body.append(s); }"
    )
    page.wait_for_timeout(200)
    canary = page.evaluate("window.__csp")
    ran = page.evaluate("window.__ran === 1")
    context.close()
    assert canary and "script-src" in canary[0] and not ran, (canary, ran)
    violations = {path: found for path, found in seen.items() if found}
    assert violations == {} and found_in_console == [], (violations, found_in_console)
    assert reported, "the console reports violations too"
