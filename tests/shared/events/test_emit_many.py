"""`emit_many` writes the rows `emit` writes, in the order given, with one INSERT per
table (the scheduler's sweep opens thousands of checkpoints at a time)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, select

from shared.db import Database
from shared.events.outbox import Emission, emit, emit_many
from shared.events.types import SOURCE_SCHEDULER, EventType, dataschema
from shared.models import EventLogEntry, OutboxEvent

TIME = datetime(2026, 6, 16, 0, 5, tzinfo=UTC)
COMMON: dict[str, Any] = {
    "source": SOURCE_SCHEDULER,
    "dataschema": dataschema("checkpoint"),
    "actor": "scheduler",
    "time": TIME,
}


def _emissions(n: int) -> list[Emission]:
    return [
        Emission(
            subject=str(uuid.uuid4()),
            partition_key=str(uuid.uuid4()),
            data={"contract_id": str(uuid.uuid4()), "ordinal": i},
        )
        for i in range(n)
    ]


async def _rows(db: Database) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Outbox and event-log rows in id order, without what differs by run (ids, event
    ids and write times)."""
    async with db.read() as session:
        outbox = [
            {
                "stream": row.stream,
                "source": row.source,
                "type": row.type,
                "subject": row.subject,
                "partition_key": row.partition_key,
                "event": {k: v for k, v in row.event.items() if k != "id"},
                "unpublished": row.processed_at is None,
            }
            for row in await session.scalars(select(OutboxEvent).order_by(OutboxEvent.id))
        ]
        log = [
            {
                "type": row.type,
                "time": row.time,
                "actor": row.actor,
                "account_id": row.account_id,
                "contract_id": row.contract_id,
                "subject": row.subject,
                "data": row.data,
            }
            for row in await session.scalars(select(EventLogEntry).order_by(EventLogEntry.id))
        ]
    return outbox, log


async def _clear(db: Database) -> None:
    async with db.transaction() as session:
        for model in (OutboxEvent, EventLogEntry):
            for row in await session.scalars(select(model)):
                await session.delete(row)


async def test_emit_many_writes_what_emit_writes_in_order_in_one_insert_per_table(
    database: Database,
) -> None:
    emissions = _emissions(300)
    async with database.transaction() as session:
        for emission in emissions:
            emit(
                session,
                type=EventType.CHECKPOINT_DUE,
                subject=emission.subject,
                partition_key=emission.partition_key,
                data=emission.data,
                **COMMON,
            )
    one_by_one = await _rows(database)
    await _clear(database)

    inserts: list[str] = []

    def count(*args: Any) -> None:
        if args[2].lstrip().upper().startswith("INSERT"):
            inserts.append(args[2])

    event.listen(database.engine.sync_engine, "before_cursor_execute", count)
    async with database.transaction() as session:
        events = await emit_many(session, emissions, type=EventType.CHECKPOINT_DUE, **COMMON)
    event.remove(database.engine.sync_engine, "before_cursor_execute", count)

    assert await _rows(database) == one_by_one
    assert len(one_by_one[0]) == len(one_by_one[1]) == 300
    assert len(inserts) == 2
    assert [e["subject"] for e in events] == [e.subject for e in emissions]
    async with database.read() as session:
        stored = list(await session.scalars(select(OutboxEvent.event_id).order_by(OutboxEvent.id)))
    assert stored == [e["id"] for e in events]


async def test_emit_many_of_nothing_writes_nothing(database: Database) -> None:
    async with database.transaction() as session:
        assert await emit_many(session, [], type=EventType.CHECKPOINT_DUE, **COMMON) == []
    assert await _rows(database) == ([], [])
