"""`make screenshots`: refreshes docs/console-radar.png, the radar of the demo portfolio as
the README shows it, with the same portfolio and server the browser tests use.

Run as `python -m tests.console.screenshots`; it needs /usr/bin/chromium (.ci/chromium-up).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from shared.secret_box import new_key
from tests.console.browser import DESKTOP, chromium
from tests.console.demo_server import demo_console
from tests.console.pages import signed_in

RADAR_PNG = Path(__file__).resolve().parents[2] / "docs" / "console-radar.png"


def refresh_radar(target: Path = RADAR_PNG) -> Path:
    """The radar at 1280 by 800 pixels, the first screen a person sees after signing in."""
    os.environ.setdefault("RENEWALS_SECRET_KEY", new_key())
    with (
        tempfile.TemporaryDirectory(prefix="renewals-screenshots-") as root,
        demo_console(Path(root)) as demo,
        chromium() as browser,
    ):
        page = signed_in(browser, demo, "read", viewport=DESKTOP)
        page.screenshot(path=str(target))
    return target


if __name__ == "__main__":
    print(f"wrote {refresh_radar()}")  # noqa: T201
