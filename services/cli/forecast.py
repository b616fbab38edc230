"""`renewals forecast refresh`: stores the engine's forecast for every contract."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from services.cli.common import load_settings, open_database

app = typer.Typer(help="The renewal forecast of each contract's current term.")


@app.command("refresh")
def refresh(
    batch: Annotated[int, typer.Option(min=1, max=5000, help="Contracts per transaction")] = 500,
) -> None:
    """Recomputes every contract's forecast, leaving overrides alone, and emits
    `contract.forecast_changed` for each change. Run it once after upgrading: contracts
    from before forecasts have none stored until their next change, and the forecast
    report leaves them out. Running it again changes nothing that has not changed."""
    from shared.clock import utcnow
    from shared.domain.context import Context
    from shared.domain.forecast.service import refresh_page
    from shared.events.types import SOURCE_CLI

    settings = load_settings()

    async def go() -> int:
        db = open_database(settings)
        ctx = Context(actor="cli", currency=settings.currency, time=utcnow(), source=SOURCE_CLI)
        pages = 0
        try:
            after = None
            while True:
                async with db.transaction() as session:
                    after = await refresh_page(session, ctx, after=after, limit=batch)
                if after is None:
                    return pages
                pages += 1
        finally:
            await db.dispose()

    pages = asyncio.run(go())
    typer.echo(f"forecasts refreshed in {pages} batch(es) of up to {batch} contracts")
