"""What the commands share: the settings, logging, and stopping on SIGTERM/SIGINT.

`renewals --help` imports every command module, so nothing here (or at the top of a
command module) imports more than the standard library and typer: a command imports
what it runs inside its function, and only `api` and `dev` load the web framework."""

from __future__ import annotations

import asyncio
import gc
import os
import signal
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shared.config import Settings
    from shared.db import Database


def load_settings() -> Settings:
    """The settings from RENEWALS_* environment variables."""
    from shared.config import Settings

    return Settings()


def require_secret_key(settings: Settings) -> None:
    """Refuses to start a process that stores or uses webhook secrets without the key
    that seals them (`RENEWALS_SECRET_KEY`; a local SQLite file gets one generated),
    rather than failing on the first subscription."""
    import typer

    from shared.secret_box import SecretKeyMissing

    try:
        settings.secret_box()
    except SecretKeyMissing as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(2) from exc


def open_database(settings: Settings) -> Database:
    """The configured database, with the statement timeout every process applies."""
    from shared.db import Database

    return Database(settings.database_url, statement_timeout_ms=settings.db_statement_timeout_ms)


def configure_logging(settings: Settings, level: str | None = None) -> None:
    """Logs in the configured format, at `level` or the configured level."""
    from shared.logging import configure_logging as configure

    configure(settings.log_format, level if level is not None else settings.log_level)


def quiet_by_default(settings: Settings) -> Settings:
    """WARNING unless RENEWALS_LOG_LEVEL says otherwise: for commands whose output is
    what they print (`tick`, `demo`), not their logs."""
    if "RENEWALS_LOG_LEVEL" in os.environ:
        return settings
    return settings.model_copy(update={"log_level": "WARNING"})


def on_stop_signals(stop: Callable[[], None]) -> None:
    """Calls `stop` on SIGTERM and SIGINT (from the running event loop)."""
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop)


def freeze_startup_heap() -> None:
    """Moves what start-up built (modules, the app or the engine's rules, schemas) out of
    the garbage collector's sight. A batch allocates thousands of objects (ORM rows in
    the API, facts and rows in the worker), which sets off full collections that walked
    that whole long-lived heap every time: a third of an API batch's CPU, a third of the
    worker's reads of a batch's accounts. Garbage is collected first so none is kept."""
    gc.collect()
    gc.freeze()
