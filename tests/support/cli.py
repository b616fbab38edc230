"""The `renewals` command run as a real process against a test database."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from shared.config import Settings

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


def settings_env(settings: Settings, names: list[str], **extra: str) -> dict[str, str]:
    """The environment that gives a `renewals` subprocess these settings (and `extra`)."""
    values = {f"RENEWALS_{name.upper()}": str(getattr(settings, name)) for name in names}
    return os.environ | values | {f"RENEWALS_{key.upper()}": value for key, value in extra.items()}


async def first_api_key(process: subprocess.Popen[str], *, timeout: float = 30) -> str:
    """The API key `renewals dev` prints on start-up, read from its standard output."""
    assert process.stdout is not None
    while True:
        line = await asyncio.wait_for(asyncio.to_thread(process.stdout.readline), timeout)
        assert line, "renewals dev exited early"
        if "API key" in line:
            return line.split()[-1]
