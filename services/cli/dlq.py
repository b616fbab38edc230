"""`renewals dlq list|replay`: the events the worker could not apply."""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated

import typer

from services.cli.common import configure_logging, load_settings, open_database

app = typer.Typer(
    help="Dead letters: events the worker could not apply (unparseable, invalid, or the "
    "engine raised). The same in both modes: RENEWALS_EVENT_BUS=kafka also sends them to "
    "<RENEWALS_KAFKA_TOPIC>.dlq."
)


@app.command("list")
def dlq_list(
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many")] = 100,
) -> None:
    """List dead letters, oldest first.

    Columns: id, type, event id, failed at, replayed at (- when not), and the first line
    of the error. Both modes record dead letters in the same table."""
    from shared.domain.dead_letters.replay import recent_dead_letters

    async def rows() -> list[str]:
        db = open_database(load_settings())
        try:
            return [
                "\t".join(
                    [
                        str(letter.id),
                        letter.type,
                        letter.event_id,
                        letter.failed_at.isoformat(timespec="seconds"),
                        letter.replayed_at.isoformat(timespec="seconds")
                        if letter.replayed_at
                        else "-",
                        (letter.error.strip().splitlines() or [""])[0],
                    ]
                )
                for letter in await recent_dead_letters(db, limit=limit)
            ]
        finally:
            await db.dispose()

    typer.echo("id\ttype\tevent_id\tfailed_at\treplayed_at\terror")
    for line in asyncio.run(rows()):
        typer.echo(line)


@app.command("replay")
def dlq_replay(
    letter_id: Annotated[
        uuid.UUID | None, typer.Argument(help="The dead letter's id (see `dlq list`)")
    ] = None,
    all_: Annotated[
        bool, typer.Option("--all", help="Replay every dead letter not replayed yet")
    ] = False,
) -> None:
    """Hand a dead letter's event back to the engine once its cause is fixed.

    The dead letter is marked replayed. RENEWALS_EVENT_BUS=database: the event goes back
    into the outbox as an unprocessed row with the same CloudEvent. RENEWALS_EVENT_BUS=kafka: it is
    republished to RENEWALS_KAFKA_TOPIC, keyed by its account id. Either way the worker
    applies it once like any other event (it was never in the inbox); if it fails again
    it becomes a new dead letter. Exit 1 when something could not be replayed."""
    from shared.domain.dead_letters.replay import replay

    if (letter_id is None) == (not all_):
        raise typer.BadParameter("give either a dead letter ID or --all")
    settings = load_settings()
    configure_logging(settings, "WARNING")

    async def run() -> list[tuple[str, bool, str]]:
        db = open_database(settings)
        try:
            results = await replay(db, settings, None if all_ else [letter_id])  # type: ignore[list-item]
            return [(str(r.id), r.replayed, r.reason) for r in results]
        finally:
            await db.dispose()

    results = asyncio.run(run())
    for rid, replayed, reason in results:
        typer.echo(f"replayed {rid}" if replayed else f"not replayed {rid}: {reason}")
    if not results:
        typer.echo("no dead letters to replay")
    if any(not replayed for _, replayed, _ in results):
        raise typer.Exit(1)
