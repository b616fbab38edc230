"""The `renewals` command line."""

from __future__ import annotations

import asyncio
import os
import uuid
from typing import Annotated

import typer
import uvicorn

from services.api.app import create_app
from services.api.auth.service import count_active_keys, create_key, list_keys, parse_scopes
from services.api.auth.service import revoke_key as revoke_api_key
from services.renewal_worker import consumer
from shared.config import LogFormat, Settings
from shared.db import Database
from shared.db.migrate import upgrade
from shared.events.types import Stream
from shared.logging import configure_logging

app = typer.Typer(help="Renewal engine: keeps B2B contracts from being lost at renewal.")
apikey_app = typer.Typer(help="Create, list and revoke API keys.")
app.add_typer(apikey_app, name="apikey")


def _settings() -> Settings:
    return Settings()


@app.command()
def migrate() -> None:
    """Apply every pending migration (serialised by a lock on Postgres)."""
    settings = _settings()
    configure_logging(settings.log_format, settings.log_level)
    asyncio.run(upgrade(settings.database_url))
    typer.echo("database is at the latest migration")


@app.command()
def api() -> None:
    """Serve the REST API."""
    settings = _settings()
    configure_logging(settings.log_format, settings.log_level)
    uvicorn.run(
        create_app(settings),
        host=settings.api_host,
        port=settings.api_port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=20,
    )


async def _first_key(db: Database) -> str | None:
    async with db.transaction() as session:
        if await count_active_keys(session) > 0:
            return None
        _, plain = await create_key(session, name="first key", scopes=parse_scopes(["admin"]))
        return plain


async def _dev(settings: Settings) -> None:
    await upgrade(settings.database_url)
    application = create_app(settings)
    db = Database(settings.database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms)
    try:
        key = await _first_key(db)
        base = f"http://{settings.api_host}:{settings.api_port}"
        typer.echo(f"\n  API      {base}/v1\n  Docs     {base}/docs")
        if key is not None:
            typer.echo(f"  API key  {key}\n           (shown once; it has every scope)")
        else:
            typer.echo("  API key  already created; make another: renewals apikey create")
        typer.echo("")
        server = uvicorn.Server(
            uvicorn.Config(
                application,
                host=settings.api_host,
                port=settings.api_port,
                log_config=None,
                access_log=False,
                timeout_graceful_shutdown=5,
            )
        )
        stop = asyncio.Event()
        worker = asyncio.create_task(
            consumer.run(
                db,
                Stream.LIFECYCLE,
                consumer.acknowledge,
                batch_size=settings.worker_batch_size,
                poll_seconds=settings.worker_poll_seconds,
                stop=stop,
            )
        )
        try:
            await server.serve()
        finally:
            stop.set()
            await worker
    finally:
        await db.dispose()


@app.command()
def dev() -> None:
    """API, worker and scheduler in one process (embedded mode)."""
    settings = _settings()
    if "RENEWALS_LOG_FORMAT" not in os.environ:
        settings = settings.model_copy(update={"log_format": LogFormat.CONSOLE})
    configure_logging(settings.log_format, settings.log_level)
    asyncio.run(_dev(settings))


@apikey_app.command("create")
def apikey_create(
    name: Annotated[str, typer.Option(help="Who or what uses the key")],
    scopes: Annotated[str, typer.Option(help="Comma-separated: read, write, admin")] = "read",
) -> None:
    """Create a key and print it (only the key, once)."""
    try:
        parsed = parse_scopes(scopes.split(","))
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--scopes") from exc

    async def create() -> str:
        db = Database(_settings().database_url)
        try:
            async with db.transaction() as session:
                _, plain = await create_key(session, name=name, scopes=parsed)
                return plain
        finally:
            await db.dispose()

    typer.echo(asyncio.run(create()))


@apikey_app.command("list")
def apikey_list() -> None:
    """List keys: id, prefix, name, scopes, created, revoked."""

    async def rows() -> list[str]:
        db = Database(_settings().database_url)
        try:
            async with db.read() as session:
                return [
                    "\t".join(
                        [
                            str(key.id),
                            key.prefix + "…",
                            key.name,
                            ",".join(key.scopes),
                            key.created_at.isoformat(timespec="seconds"),
                            key.revoked_at.isoformat(timespec="seconds") if key.revoked_at else "-",
                        ]
                    )
                    for key in await list_keys(session)
                ]
        finally:
            await db.dispose()

    typer.echo("id\tprefix\tname\tscopes\tcreated\trevoked")
    for line in asyncio.run(rows()):
        typer.echo(line)


@apikey_app.command("revoke")
def apikey_revoke(key_id: Annotated[uuid.UUID, typer.Argument(help="The key's id")]) -> None:
    """Revoke a key: requests with it get 401 from now on."""

    async def revoke() -> bool:
        db = Database(_settings().database_url)
        try:
            async with db.transaction() as session:
                return await revoke_api_key(session, key_id) is not None
        finally:
            await db.dispose()

    if not asyncio.run(revoke()):
        typer.echo(f"no key {key_id}", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked {key_id}")
