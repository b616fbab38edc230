"""Without /usr/bin/chromium the browser tests skip locally and fail in CI."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.console import browser


def test_a_missing_chromium_fails_the_run_when_services_are_required(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(browser, "CHROMIUM", tmp_path / "chromium")
    monkeypatch.setenv("RENEWALS_REQUIRE_SERVICES", "1")

    with pytest.raises(pytest.fail.Exception, match="Chromium is unavailable"), browser.chromium():
        pass


def test_a_missing_chromium_skips_the_browser_tests_locally(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(browser, "CHROMIUM", tmp_path / "chromium")
    monkeypatch.delenv("RENEWALS_REQUIRE_SERVICES", raising=False)

    with pytest.raises(pytest.skip.Exception, match=r"run \.ci/chromium-up"), browser.chromium():
        pass
