"""The `renewals` command run as a real process against a test database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

RENEWALS = str(Path(sys.executable).parent / "renewals")


def cli_env(db_url: str) -> dict[str, str]:
    return os.environ | {"RENEWALS_DATABASE_URL": db_url, "RENEWALS_WORKER_POLL_SECONDS": "0.05"}


def run_cli(db_url: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [RENEWALS, *args],
        env=cli_env(db_url),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
