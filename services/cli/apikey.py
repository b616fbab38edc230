"""`renewals apikey create|list|revoke`."""

from __future__ import annotations

import asyncio
import uuid
from typing import TYPE_CHECKING, Annotated

import typer

from services.cli.common import load_settings, open_database

if TYPE_CHECKING:
    from datetime import datetime

app = typer.Typer(help="Create, list and revoke API keys.")


@app.command("create")
def apikey_create(
    name: Annotated[str, typer.Option(help="Who or what uses the key")],
    scopes: Annotated[str, typer.Option(help="Comma-separated: read, write, admin")] = "read",
    expires_in_days: Annotated[
        int | None,
        typer.Option(min=1, help="The key gets 401 after this many days; never when omitted"),
    ] = None,
) -> None:
    """Create a key and print it (only the key, once)."""
    from datetime import timedelta

    from shared.clock import utcnow
    from shared.domain.auth.service import create_key, parse_scopes

    expires_at = utcnow() + timedelta(days=expires_in_days) if expires_in_days else None

    try:
        parsed = parse_scopes(scopes.split(","))
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--scopes") from exc

    async def create() -> str:
        db = open_database(load_settings())
        try:
            async with db.transaction() as session:
                _, plain = await create_key(
                    session, name=name, scopes=parsed, expires_at=expires_at
                )
                return plain
        finally:
            await db.dispose()

    typer.echo(asyncio.run(create()))


@app.command("list")
def apikey_list() -> None:
    """List keys: id, prefix, name, scopes, created, revoked, expires, last used (to
    the minute; '-' for never)."""
    from shared.domain.auth.service import list_keys

    async def rows() -> list[str]:
        db = open_database(load_settings())
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
                            _when(key.revoked_at),
                            _when(key.expires_at),
                            _when(key.last_used_at),
                        ]
                    )
                    for key in await list_keys(session)
                ]
        finally:
            await db.dispose()

    typer.echo("id\tprefix\tname\tscopes\tcreated\trevoked\texpires\tlast used")
    for line in asyncio.run(rows()):
        typer.echo(line)


@app.command("revoke")
def apikey_revoke(key_id: Annotated[uuid.UUID, typer.Argument(help="The key's id")]) -> None:
    """Revoke a key: requests with it get 401 from now on."""
    from shared.domain.auth.service import revoke_key

    async def revoke() -> bool:
        db = open_database(load_settings())
        try:
            async with db.transaction() as session:
                return await revoke_key(session, key_id) is not None
        finally:
            await db.dispose()

    if not asyncio.run(revoke()):
        typer.echo(f"no key {key_id}", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked {key_id}")


def _when(at: datetime | None) -> str:
    return at.isoformat(timespec="seconds") if at is not None else "-"
