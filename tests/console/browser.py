"""Debian's Chromium driven headless by Playwright, never a downloaded browser, and the
checks every page gets: an axe-core scan and a screenshot kept as a test artefact."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page, sync_playwright

from tests.support.databases import unavailable

CHROMIUM = Path("/usr/bin/chromium")

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
"""The network is closed in CI: without the background-networking flags Chromium keeps
trying to reach its services and floods the log with refused connections."""

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"

AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"

BLOCKING_IMPACTS = {"serious", "critical"}


@contextmanager
def chromium() -> Iterator[Browser]:
    """Headless Chromium; Playwright gives every launch a fresh temporary profile, so no
    state of an earlier run (cookies, cache) leaks in."""
    if not CHROMIUM.exists():
        unavailable("Chromium", f"{CHROMIUM} is missing; run .ci/chromium-up")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """The serious and critical violations axe-core finds on the page as it is now.

    axe is evaluated through the DevTools protocol, which the page's Content-Security-Policy
    does not govern: the console's CSP stays on and is exercised by the tests too."""
    page.evaluate(AXE.read_text())
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [v for v in result["violations"] if v.get("impact") in BLOCKING_IMPACTS]


def describe(violations: list[dict[str, Any]]) -> str:
    return json.dumps(
        [
            {
                "id": v["id"],
                "impact": v["impact"],
                "help": v["help"],
                "nodes": [node["target"] for node in v["nodes"][:5]],
            }
            for v in violations
        ],
        indent=2,
    )


def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
