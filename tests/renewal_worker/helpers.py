"""What the worker tests share: events written straight to the outbox or taken out of
it as the relay would, a fake engine handler that records what it was given, and a
bounded wait."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import date
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from services.renewal_worker.sources.step import Incoming
from shared.clock import utcnow
from shared.config import Settings
from shared.db import Database
from shared.events.outbox import emit
from shared.events.types import SOURCE_API, EventType, Stream
from shared.models import Checkpoint, Contract, DeadLetter, InboxKey, OutboxEvent


def fast_settings(db_url: str, **overrides: Any) -> Settings:
    """Short polls and backoff, so loop tests finish in tens of milliseconds."""
    values: dict[str, Any] = {
        "database_url": db_url,
        "worker_poll_seconds": 0.01,
        "worker_max_backoff_seconds": 0.05,
        "scheduler_interval_seconds": 0,
    }
    return Settings(**(values | overrides))


def emit_in(session: AsyncSession, type: EventType, n: int = 0) -> dict[str, Any]:
    return emit(
        session,
        type=type,
        source=SOURCE_API,
        subject="s-1",
        partition_key="account-1",
        data={"n": n},
        dataschema="urn:renewals:test:1",
        actor="test",
        time=utcnow(),
    )


async def emit_events(db: Database, *types: EventType) -> list[dict[str, Any]]:
    """One committed transaction that emits an event of each type, in order."""
    async with db.transaction() as session:
        return [emit_in(session, type, n) for n, type in enumerate(types)]


async def add_outbox_row(db: Database, event: dict[str, Any], *, id: int | None = None) -> int:
    """Writes `event` as a lifecycle outbox row (a redelivery when it was written before)."""
    row = OutboxEvent(
        stream="lifecycle",
        event_id=event["id"],
        source=event["source"],
        type=event["type"],
        subject=event.get("subject"),
        partition_key="account-1",
        event=event,
    )
    if id is not None:
        row.id = id
    async with db.transaction() as session:
        session.add(row)
    return row.id


class FakeHandler:
    """Stands in for `batch.apply_events`: records the events of each batch, answers a
    ValueError (poison) for the `poison` types, and raises an OperationalError for the
    next `transient_failures` batches."""

    def __init__(
        self, *, poison: frozenset[str] = frozenset(), transient_failures: int = 0
    ) -> None:
        self.applied: list[str] = []
        self.poison = poison
        self.transient_failures = transient_failures

    async def __call__(
        self, session: Any, events: Sequence[dict[str, Any]], **_kwargs: Any
    ) -> list[Exception | None]:
        if self.transient_failures > 0:
            self.transient_failures -= 1
            raise OperationalError("SELECT 1", {}, Exception("database is locked"))
        failures: list[Exception | None] = []
        for event in events:
            if event["type"] in self.poison:
                failures.append(ValueError(f"cannot apply {event['type']}"))
            else:
                self.applied.append(event["id"])
                failures.append(None)
        return failures


def incoming(event: dict[str, Any], poison: str | None = None) -> Incoming:
    """A lifecycle event as the worker receives it (`poison`: its undecodable form)."""
    return Incoming(
        str(Stream.LIFECYCLE), event["source"], event["id"], event["type"], event, poison
    )


async def take_lifecycle_events(db: Database) -> list[Incoming]:
    """Every lifecycle event of the outbox, deleted from it in the order they were
    written, as the relay publishes them."""
    async with db.transaction() as session:
        rows = (
            await session.execute(
                delete(OutboxEvent)
                .where(OutboxEvent.stream == str(Stream.LIFECYCLE))
                .returning(OutboxEvent.id, OutboxEvent.event)
            )
        ).all()
    return [incoming(event) for _, event in sorted(rows, key=lambda row: row[0])]


async def outbox(db: Database, stream: str = "lifecycle") -> list[OutboxEvent]:
    async with db.read() as session:
        rows = await session.scalars(
            select(OutboxEvent).where(OutboxEvent.stream == stream).order_by(OutboxEvent.id)
        )
        return list(rows.all())


async def inbox_keys(db: Database) -> set[tuple[str, str, str]]:
    async with db.read() as session:
        rows = await session.execute(select(InboxKey.consumer, InboxKey.source, InboxKey.event_id))
        return {(consumer, source, event_id) for consumer, source, event_id in rows}


async def dead_letters(db: Database) -> list[DeadLetter]:
    async with db.read() as session:
        return list((await session.scalars(select(DeadLetter).order_by(DeadLetter.id))).all())


async def add_checkpoint(
    db: Database,
    contract: Contract,
    kind: str,
    opens_on: date,
    *,
    due_date: date | None = None,
    status: str = "planned",
    term: int = 1,
) -> Checkpoint:
    checkpoint = Checkpoint(
        contract_id=contract.id,
        term=term,
        kind=kind,
        ordinal=0,
        due_date=due_date or opens_on,
        opens_on=opens_on,
        status=status,
    )
    async with db.transaction() as session:
        session.add(checkpoint)
    return checkpoint


async def wait_until(
    condition: Callable[[], Awaitable[bool]], *, timeout: float = 5.0, interval: float = 0.01
) -> None:
    deadline = time.monotonic() + timeout
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(interval)
