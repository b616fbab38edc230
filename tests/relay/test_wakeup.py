"""`emit` sends NOTIFY renewals_outbox with the commit on Postgres, and the relay wakes
on it instead of waiting for its next poll."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime

import asyncpg
import pytest
from sqlalchemy import event as sa_event

from services.relay.leader import asyncpg_dsn
from services.relay.relay import Relay
from shared.clock import utcnow
from shared.db import Database
from shared.events.outbox import OUTBOX_CHANNEL, emit
from shared.events.types import SOURCE_API, EventType, dataschema
from tests.relay.helpers import drained, relay_settings, running, wait_until, write_events
from tests.support.broker import Broker

pytestmark = pytest.mark.kafka


def _emit(session: object) -> None:
    emit(
        session,  # type: ignore[arg-type]
        type=EventType.ACCOUNT_UPDATED,
        source=SOURCE_API,
        subject="a-1",
        partition_key="a-1",
        data={},
        dataschema="urn:renewals:account:1",
        actor="test",
        time=utcnow(),
    )


async def _quiet(queue: asyncio.Queue[str], seconds: float = 0.3) -> bool:
    await asyncio.sleep(seconds)
    return queue.empty()


async def test_emit_notifies_with_the_commit_and_never_for_a_rollback(
    postgres_database: Database,
) -> None:
    db = postgres_database
    queue: asyncio.Queue[str] = asyncio.Queue()
    listener = await asyncpg.connect(asyncpg_dsn(db.url))
    await listener.add_listener(OUTBOX_CHANNEL, lambda *args: queue.put_nowait(args[2]))
    try:
        async with db.transaction() as session:
            _emit(session)
            await session.flush()
            assert await _quiet(queue)  # not before the commit
        assert await asyncio.wait_for(queue.get(), timeout=2) == OUTBOX_CHANNEL

        async with db.writer() as session:
            await session.begin()
            _emit(session)
            await session.flush()
            await session.rollback()
        async with db.transaction() as session:
            pass  # a later transaction of no events sends nothing either
        assert await _quiet(queue)

        # An event emitted before a savepoint that rolls back still notifies.
        async with db.writer() as session, session.begin():
            _emit(session)
            savepoint = await session.begin_nested()
            await savepoint.rollback()
        assert await asyncio.wait_for(queue.get(), timeout=2) == OUTBOX_CHANNEL
    finally:
        await listener.close()


async def test_the_relay_wakes_on_notify_long_before_its_next_poll(
    postgres_database: Database, kafka_broker: Broker
) -> None:
    db = postgres_database
    settings = relay_settings(db.url, kafka_broker.bootstrap, relay_poll_seconds=30)
    relay = Relay(db, settings)

    async def idle() -> bool:
        return relay.leading

    async with running(relay):
        await wait_until(idle)
        await asyncio.sleep(0.5)  # past the first (empty) batch: now waiting
        started = time.monotonic()
        await write_events(db, accounts=1, per_account=2)
        await drained(db, timeout=5)
        assert time.monotonic() - started < 3
        await write_events(db, accounts=1, per_account=1)
        await drained(db, timeout=5)

        async def counted() -> bool:
            return relay.published == 3

        await wait_until(counted, timeout=2)


async def test_a_transaction_of_savepoints_notifies_once_at_commit(
    postgres_db_url: str,
) -> None:
    """Each released savepoint is not a commit: the relay is woken once, by the root."""
    db = Database(postgres_db_url)
    statements: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    sa_event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    try:
        async with db.transaction() as session:
            for name in ("A", "B", "C"):
                async with session.begin_nested():
                    emit(
                        session,
                        type=EventType.PARTNER_CREATED,
                        source=SOURCE_API,
                        subject=str(uuid.uuid4()),
                        partition_key=str(uuid.uuid4()),
                        data={"name": name},
                        dataschema=dataschema("partner"),
                        actor="test",
                        time=datetime.now(UTC),
                    )
    finally:
        await db.dispose()
    assert [s for s in statements if s.startswith("NOTIFY")] == ["NOTIFY renewals_outbox"]
