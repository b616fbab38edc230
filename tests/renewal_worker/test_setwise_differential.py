"""The set-wise path (`step.apply_batch`) writes what the per-event path writes.

The demo portfolio lives its year through the service functions (as `bench` seeds
figure c); its lifecycle events are taken out of the outbox as the relay publishes them
and the database is copied. Both copies then get the same stream in the same batches —
the year's events with poison events and redeliveries mixed in, then a sweep's
`checkpoint.due` events for the checkpoints it opened — one applied by
`step.apply_batch_per_event` (each event in its savepoint through the ORM, the path
before issue 18 and the set-wise path's fallback), the other by `step.apply_batch`.
Every table the worker writes is then compared row for row: checkpoints, tasks,
contracts (health), the outbox (the notifications, in outbox order), the inbox and the
dead letters.

Left out, because the two paths cannot make them equal:
- generated ids: checkpoints are matched by (contract, term, kind, ordinal), tasks by
  dedupe key (a task's checkpoint by its identity, a notification's task id by the
  task's dedupe key); outbox, dead-letter and notification event ids are dropped;
- wall-clock timestamps: `created_at`, `updated_at`, `closed_at` (compared as set or
  not), the inbox's `processed_at`, a dead letter's `failed_at` and the same fields in
  the notifications' data;
- a task's `version`, which counts writes, not changes: the per-event path writes a task
  at each flush that changes it, the set-wise path once per batch (a task created and
  changed in the same batch is inserted as changed). It only has to grow with each write
  (optimistic locking against a user closing the task, `test_task_version`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import event, select, update

from services.demo.generator import generate
from services.demo.load import load
from services.demo.year import apply_happenings
from services.renewal_worker.sources import step
from services.renewal_worker.sources.step import Incoming
from shared.db import Database
from shared.events.outbox import build_event
from shared.events.types import SOURCE_SCHEDULER, EventType, Stream, dataschema
from shared.models import (
    Checkpoint,
    Contract,
    DeadLetter,
    InboxKey,
    OutboxEvent,
    Task,
)
from tests.renewal_worker.helpers import incoming, take_lifecycle_events
from tests.support.databases import database_copy

ACCOUNTS = 60
SEED = 20_260_401
AS_OF = date(2026, 1, 5)
SWEEP_DAY = date(2026, 9, 1)
DUE_EVENTS = 250
BATCH = 60
CURRENCY = "USD"
NOBODY = "00000000-0000-7000-8000-000000000001"
"""An account id no account has."""


@pytest.fixture
async def two_copies(
    db_url: str, request: pytest.FixtureRequest
) -> AsyncIterator[tuple[Database, Database, list[Incoming]]]:
    """The portfolio after its year, twice, and its lifecycle events."""
    seeded = Database(db_url)
    try:
        events = await _portfolio_year(seeded)
    finally:
        await seeded.dispose()
    async with database_copy(request, db_url) as copy_url:
        per_event, setwise = Database(db_url), Database(copy_url)
        try:
            yield per_event, setwise, events
        finally:
            await per_event.dispose()
            await setwise.dispose()


async def _portfolio_year(db: Database) -> list[Incoming]:
    portfolio = generate(ACCOUNTS, SEED, AS_OF)
    ids = await load(db, portfolio, CURRENCY)
    async with db.transaction() as session:
        await apply_happenings(session, ids, portfolio.happenings, CURRENCY)
    return await take_lifecycle_events(db)


def _with_poison(events: list[Incoming]) -> list[Incoming]:
    """The year's events with, early on: an event of an account that does not exist, one
    whose data is not an object, a record a source could not parse, one the engine
    raises on (a `checkpoint.due` without its term, between events of its account) and
    redeliveries of events already applied, in the same batch and in a later one."""
    first = next(item.event for item in events if item.type == EventType.ACCOUNT_CREATED)
    account_id = first["data"]["id"]
    later_of_account = next(
        n
        for n, item in enumerate(events)
        if n > 3 and item.event["data"].get("account_id") == account_id
    )
    raises = _due_event(
        "poison-engine",
        {"account_id": account_id, "contract_id": "unknown", "kind": "renewal_review"},
        first["time"],
    )
    nobody = {**first, "id": "poison-nobody", "data": {**first["data"], "id": NOBODY}}
    no_data = {**first, "id": "poison-no-data", "data": "not an object"}
    unparsable = Incoming(str(Stream.LIFECYCLE), "kafka", "poison-record", "unknown", {}, "bad")
    stream = [*events]
    stream.insert(later_of_account, incoming(raises))
    stream[5:5] = [incoming(nobody), incoming(no_data), unparsable, events[2]]
    stream.insert(3 * BATCH, events[1])
    return stream


def _due_event(event_id: str, data: dict[str, Any], time: str) -> dict[str, Any]:
    return build_event(
        type=EventType.CHECKPOINT_DUE,
        source=SOURCE_SCHEDULER,
        subject=str(data.get("id", event_id)),
        data=data,
        dataschema=dataschema("checkpoint"),
        actor="scheduler",
        time=datetime.fromisoformat(time).astimezone(UTC),
        event_id=event_id,
    )


async def _open_due_checkpoints(dbs: tuple[Database, Database]) -> list[Incoming]:
    """Opens the same checkpoints in both databases, as a sweep on `SWEEP_DAY` opens the
    first of them, and returns their `checkpoint.due` events (identical for both)."""
    order = (Checkpoint.opens_on, Checkpoint.contract_id, Checkpoint.kind, Checkpoint.term)
    due = (
        select(Checkpoint, Contract.account_id)
        .join(Contract, Contract.id == Checkpoint.contract_id)
        .where(Checkpoint.status == "planned", Checkpoint.opens_on <= SWEEP_DAY)
        .order_by(*order, Checkpoint.ordinal)
        .limit(DUE_EVENTS)
    )
    events: list[Incoming] = []
    for db in dbs:
        async with db.transaction() as session:
            rows = (await session.execute(due)).all()
            await session.execute(
                update(Checkpoint)
                .where(Checkpoint.id.in_([cp.id for cp, _ in rows]))
                .values(status="opened")
            )
        if not events:
            events = [
                incoming(
                    _due_event(
                        f"due-{n}",
                        {
                            "id": str(cp.id),
                            "contract_id": str(cp.contract_id),
                            "account_id": str(account_id),
                            "term": cp.term,
                            "kind": cp.kind,
                            "ordinal": cp.ordinal,
                            "due_date": cp.due_date.isoformat(),
                            "opens_on": cp.opens_on.isoformat(),
                            "status": "opened",
                        },
                        f"{SWEEP_DAY.isoformat()}T06:00:00+00:00",
                    )
                )
                for n, (cp, account_id) in enumerate(rows)
            ]
    return events


async def _replay(db: Database, stream: list[Incoming], apply: Any) -> list[step.Processed]:
    processed: list[step.Processed] = []
    for start in range(0, len(stream), BATCH):
        async with db.transaction() as session:
            processed += await apply(session, stream[start : start + BATCH], currency=CURRENCY)
    return processed


_WALL_CLOCK = {"created_at", "updated_at", "closed_at"}


async def _written(db: Database) -> dict[str, Any]:
    """Every table the worker writes, without generated ids and wall-clock times."""
    async with db.read() as session:
        checkpoints = {
            cp.id: (str(cp.contract_id), cp.term, cp.kind, cp.ordinal)
            for cp in await session.scalars(select(Checkpoint))
        }
        checkpoint_rows = sorted(
            (checkpoints[cp.id], cp.due_date, cp.opens_on, cp.status)
            for cp in await session.scalars(select(Checkpoint))
        )
        tasks = list(await session.scalars(select(Task)))
        task_keys = {str(task.id): task.dedupe_key for task in tasks}
        task_rows = sorted(
            (
                task.dedupe_key,
                {
                    column: getattr(task, column)
                    for column in Task.__table__.columns.keys()  # noqa: SIM118 (a ColumnCollection)
                    if column not in {"id", "checkpoint_id", "version", *_WALL_CLOCK}
                },
                checkpoints.get(task.checkpoint_id) if task.checkpoint_id else None,
                task.closed_at is not None,
            )
            for task in tasks
        )
        health = sorted(
            (str(c.id), c.health_score, c.health_band, c.health_signals)
            for c in await session.scalars(select(Contract))
        )
        outbox = [
            _notification(row, task_keys)
            for row in await session.scalars(select(OutboxEvent).order_by(OutboxEvent.id))
        ]
        inbox = sorted(
            (key.consumer, key.source, key.event_id)
            for key in await session.scalars(select(InboxKey))
        )
        dead = sorted(
            (d.stream, d.source, d.event_id, d.type, str(d.event), d.error, d.replayed_at)
            for d in await session.scalars(select(DeadLetter))
        )
    return {
        "checkpoints": checkpoint_rows,
        "tasks": task_rows,
        "health": health,
        "outbox": outbox,
        "inbox": inbox,
        "dead_letters": dead,
    }


def _notification(row: OutboxEvent, task_keys: dict[str, str]) -> dict[str, Any]:
    event = {k: v for k, v in row.event.items() if k != "id"}
    if event["type"] in {EventType.TASK_CREATED, EventType.TASK_UPDATED}:
        data = {k: v for k, v in event["data"].items() if k not in _WALL_CLOCK}
        data["id"] = task_keys[data["id"]]
        event |= {"subject": data["id"], "data": data}
        assert row.event["data"]["created_at"] <= row.event["data"]["updated_at"]
    return {
        "stream": row.stream,
        "type": row.type,
        "source": row.source,
        "partition_key": row.partition_key,
        "subject": event["subject"],
        "event": event,
        "processed": row.processed_at is not None,
    }


@pytest.mark.slow
async def test_setwise_batches_write_what_event_by_event_batches_write(
    two_copies: tuple[Database, Database, list[Incoming]],
) -> None:
    per_event, setwise, events = two_copies
    stream = _with_poison(events)
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    event.listen(setwise.engine.sync_engine, "before_cursor_execute", count)
    by_event = await _replay(per_event, stream, step.apply_batch_per_event)
    by_batch = await _replay(setwise, stream, step.apply_batch)
    assert len(statements) < len(stream) / 2, "the set-wise path fell back to events one by one"
    due = await _open_due_checkpoints((per_event, setwise))
    by_event += await _replay(per_event, due, step.apply_batch_per_event)
    by_batch += await _replay(setwise, due, step.apply_batch)

    assert by_batch == by_event
    outcomes = [item.outcome for item in by_batch]
    assert outcomes.count(step.Outcome.DEAD_LETTERED) == 4
    assert outcomes.count(step.Outcome.DUPLICATE) == 2
    written = await _written(setwise)
    assert written == await _written(per_event)
    assert len(written["tasks"]) > 50, "the year and the sweep should make the engine write tasks"
    assert any(task["status"] == "auto_closed" for _, task, *_ in written["tasks"])
    types = {item["type"] for item in written["outbox"]}
    assert {"task.created", "task.updated", "contract.health_changed"} <= types
