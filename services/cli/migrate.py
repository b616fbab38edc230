"""`renewals migrate`: the database schema to the latest migration."""

from __future__ import annotations

import asyncio

import typer

from services.cli.common import configure_logging, load_settings


def migrate() -> None:
    """Apply every pending migration (serialised by a lock on Postgres)."""
    from shared.db.migrate import upgrade

    settings = load_settings()
    configure_logging(settings)
    asyncio.run(upgrade(settings.database_url))
    typer.echo("database is at the latest migration")
