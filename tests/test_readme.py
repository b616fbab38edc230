"""The README documents what the code does."""

from __future__ import annotations

from pathlib import Path

from shared.config import Settings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_the_readme_opens_with_the_two_commands() -> None:
    setup = README.split("## Set up on a fresh machine", 1)[1].split("##", 1)[0]
    assert "make run" in setup
    assert "make test" in setup


def test_every_setting_is_in_the_configuration_table() -> None:
    missing = [
        f"RENEWALS_{name.upper()}"
        for name in Settings.model_fields
        if f"`RENEWALS_{name.upper()}`" not in README
    ]
    assert missing == []
