"""What the browser tests do on every page: sign in, look, and check."""

from __future__ import annotations

from playwright.sync_api import Browser, Page

from tests.console.browser import DESKTOP, axe_violations, describe, screenshot
from tests.console.demo_server import DemoConsole


def signed_in(
    browser: Browser, demo: DemoConsole, scope: str, viewport: dict[str, int] = DESKTOP
) -> Page:
    """A fresh context (no cookie) signed in through the sign-in form with `scope`'s key."""
    context = browser.new_context(viewport=viewport, base_url=demo.base_url)
    page = context.new_page()
    page.goto("/console")
    page.get_by_label("API key").fill(demo.keys[scope])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/console/radar")
    return page


def checked(page: Page, name: str) -> None:
    """Keeps a screenshot of the page as it is and fails on a serious or critical
    accessibility violation."""
    screenshot(page, name)
    violations = axe_violations(page)
    assert not violations, f"{name}: {describe(violations)}"
