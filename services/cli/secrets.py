"""`renewals secrets new-key|rotate`: the key that seals the secrets stored in the
database (`RENEWALS_SECRET_KEY`)."""

from __future__ import annotations

import asyncio

import typer

from services.cli.common import load_settings, open_database

app = typer.Typer(help="The key that encrypts secrets stored in the database.")


@app.command("new-key")
def new_key() -> None:
    """Print a new key for RENEWALS_SECRET_KEY."""
    from shared.secret_box import new_key as generate

    typer.echo(generate())


@app.command("rotate")
def rotate() -> None:
    """Re-encrypt every stored secret with the first key of RENEWALS_SECRET_KEY.

    Rotation: set RENEWALS_SECRET_KEY=NEW,OLD on every process, run this, then set
    RENEWALS_SECRET_KEY=NEW. Safe to run again after an interruption."""
    from shared.domain.sealed_secrets import reseal_all
    from shared.secret_box import UnreadableSecret

    settings = load_settings()
    if not settings.secret_key:
        typer.echo(
            "Error: RENEWALS_SECRET_KEY is not set: give the new key first, then the old "
            "one (comma-separated)",
            err=True,
        )
        raise typer.Exit(2)

    def progress(table: str, count: int) -> None:
        typer.echo(f"{table}: {count} secrets re-encrypted", err=True)

    async def run() -> int:
        db = open_database(settings)
        try:
            return await reseal_all(db, settings.secret_box(), progress=progress)
        finally:
            await db.dispose()

    try:
        total = asyncio.run(run())
    except UnreadableSecret as exc:
        typer.echo(f"Error: {exc}; nothing more was changed", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"re-encrypted {total} secrets with the first key of RENEWALS_SECRET_KEY")
