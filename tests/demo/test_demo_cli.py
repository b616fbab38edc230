"""`renewals demo` as a real process: the whole story, in a database of its own."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.support.cli import RENEWALS, cli_env

SECTIONS = (
    "== The year ==",
    "== Tasks opened by kind ==",
    "== Next week's agenda ==",
    "== Renewal pipeline ==",
    "== Partner retention against tiers ==",
)


def test_demo_tells_every_section_without_touching_the_configured_database(
    tmp_path: Path,
) -> None:
    configured = tmp_path / "make-run.db"
    kept = tmp_path / "kept" / "demo.db"
    kept.parent.mkdir()
    kept.write_text("an earlier demo")  # replaced, not appended to
    done = subprocess.run(
        [RENEWALS, "demo", "--accounts", "20", "--seed", "3", "--keep", str(kept)],
        env=cli_env(f"sqlite+aiosqlite:///{configured}"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    for section in SECTIONS:
        assert section in done.stdout
    assert "20 accounts" in done.stdout
    assert "kickoff" in done.stdout
    # The kinds this release added, in the story of even this small portfolio.
    for kind in ("implementation_followup", "auto_renewal_confirmation", "trial_ending"):
        assert kind in done.stdout
    assert "add-on trials started: 1" in done.stdout
    assert not configured.exists()
    assert kept.stat().st_size > 100_000


def test_demo_refuses_to_keep_its_database_over_the_configured_one(tmp_path: Path) -> None:
    configured = tmp_path / "renewals.db"
    configured.write_text("the make run database")
    done = subprocess.run(
        [RENEWALS, "demo", "--accounts", "2", "--keep", str(configured)],
        env=cli_env(f"sqlite+aiosqlite:///{configured}"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "--keep" in done.stderr
    assert configured.read_text() == "the make run database"
