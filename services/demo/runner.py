"""Runs the demo in embedded mode against a fresh SQLite file of its own.

The file is never the one `RENEWALS_DATABASE_URL` names (or the default `make run`
uses): a temporary directory, or the `--keep` path emptied first. Other settings
(currency, retention exclusions) are the user's, so the story reads like their
deployment would; the event bus is always the embedded one.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from collections import Counter
from datetime import timedelta
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import make_url

from services.demo import story
from services.demo.generator import generate
from services.demo.load import load
from services.demo.year import Sweep, run_year, tick
from shared.clock import today
from shared.config import Settings
from shared.db import Database
from shared.db.migrate import upgrade


def demo_settings(settings: Settings, path: Path) -> Settings:
    return settings.model_copy(
        update={
            "database_url": f"sqlite+aiosqlite:///{path.resolve()}",
            "event_bus": "database",
        }
    )


def is_configured_database(path: Path, settings: Settings) -> bool:
    """Whether `path` is the SQLite file RENEWALS_DATABASE_URL names: `--keep` must not
    replace the database `make run` uses."""
    url = make_url(settings.database_url)
    configured = url.database if url.get_backend_name() == "sqlite" else None
    return configured is not None and Path(configured).resolve() == path.resolve()


def _fresh(path: Path) -> None:
    """A database left by an earlier `--keep` run, with its WAL files, is removed."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


async def _run(
    settings: Settings, accounts: int, seed: int, sweep: Sweep, progress: Progress
) -> str:
    until = today()
    portfolio = generate(accounts, seed, until - timedelta(days=364))
    weeks = 52
    task = progress.add_task("loading", total=weeks + 2)
    await upgrade(settings.database_url)
    db = Database(
        settings.database_url,
        busy_timeout_ms=settings.sqlite_busy_timeout_ms,
        statement_timeout_ms=settings.db_statement_timeout_ms,
    )
    try:
        ids = await load(db, portfolio, settings.currency)
        progress.update(task, advance=1, description="applying")
        await tick(sweep, settings, portfolio.as_of)
        progress.update(task, advance=1, description="a year, week by week")
        happened: Counter[str] = await run_year(
            db, settings, portfolio, ids, sweep, lambda n: progress.update(task, advance=n)
        )
        progress.update(task, description="done")
        async with db.read() as session:
            return await story.tell(session, portfolio, happened, settings)
    finally:
        await db.dispose()


def run(settings: Settings, *, accounts: int, seed: int, keep: Path | None, sweep: Sweep) -> str:
    """Builds the demo database, lives the year with a progress bar on stderr, and
    returns the story. With `keep`, the database stays at that path. Each week starts
    with `sweep`, the function `renewals tick` runs."""
    with contextlib.ExitStack() as stack:
        if keep is None:
            path = Path(stack.enter_context(tempfile.TemporaryDirectory())) / "demo.db"
        else:
            path = keep
            _fresh(path)
        progress = stack.enter_context(
            Progress(
                TextColumn("{task.description:<22}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=True,
            )
        )
        return asyncio.run(_run(demo_settings(settings, path), accounts, seed, sweep, progress))
