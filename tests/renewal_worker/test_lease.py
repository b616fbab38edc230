from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from services.renewal_worker.apply import batch
from services.renewal_worker.sources.embedded import LifecycleConsumer, process_batch
from shared.clock import utcnow
from shared.db import Database
from shared.events.types import EventType
from shared.models import WorkerLease
from shared.runtime import lease
from tests.renewal_worker.helpers import FakeHandler, emit_events, fast_settings, outbox, wait_until


async def _acquire(db: Database, holder: str, **kwargs: object) -> bool:
    async with db.transaction() as session:
        return await lease.acquire(session, lease.LIFECYCLE, holder, **kwargs)  # type: ignore[arg-type]


async def _holder(db: Database, **kwargs: object) -> str | None:
    async with db.read() as session:
        return await lease.lease_holder(session, lease.LIFECYCLE, **kwargs)  # type: ignore[arg-type]


async def test_only_one_process_holds_the_lease_until_it_expires(database: Database) -> None:
    t0 = utcnow()
    ttl = timedelta(seconds=10)
    assert await _acquire(database, "a", ttl=ttl, now=t0)
    assert not await _acquire(database, "b", ttl=ttl, now=t0 + timedelta(seconds=1))
    assert await _acquire(database, "a", ttl=ttl, now=t0 + timedelta(seconds=5))  # renewed
    assert not await _acquire(database, "b", ttl=ttl, now=t0 + timedelta(seconds=14))
    assert await _holder(database, now=t0 + timedelta(seconds=14)) == "a"

    assert await _acquire(database, "b", ttl=ttl, now=t0 + timedelta(seconds=16))  # expired
    assert await _holder(database, now=t0 + timedelta(seconds=17)) == "b"
    assert not await _acquire(database, "a", ttl=ttl, now=t0 + timedelta(seconds=17))
    assert await _holder(database, now=t0 + timedelta(seconds=40)) is None


async def test_a_released_lease_is_free_at_once_and_only_its_holder_releases_it(
    database: Database,
) -> None:
    assert await _acquire(database, "a")
    async with database.transaction() as session:
        await lease.release(session, lease.LIFECYCLE, "b")
    assert await _holder(database) == "a"
    async with database.transaction() as session:
        await lease.release(session, lease.LIFECYCLE, "a")
    assert await _holder(database) is None
    assert await _acquire(database, "b")


async def test_a_batch_is_refused_while_another_live_process_holds_the_lease(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeHandler()
    monkeypatch.setattr(batch, "apply_events", fake)
    await emit_events(database, EventType.ACCOUNT_CREATED)
    assert await _acquire(database, "other")

    assert await process_batch(database, holder="me") is None
    assert fake.applied == []
    assert [row.processed_at for row in await outbox(database)] == [None]


async def test_an_expired_lease_is_taken_over(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeHandler()
    monkeypatch.setattr(batch, "apply_events", fake)
    [event] = await emit_events(database, EventType.ACCOUNT_CREATED)
    async with database.transaction() as session:
        session.add(
            WorkerLease(
                name=lease.LIFECYCLE, holder="crashed", expires_at=utcnow() - timedelta(seconds=1)
            )
        )

    result = await process_batch(database, holder="me")

    assert result is not None
    assert fake.applied == [event["id"]]
    assert await _holder(database) == "me"


async def test_two_running_consumers_apply_each_event_once_and_a_standby_takes_over(
    database: Database, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeHandler()
    monkeypatch.setattr(batch, "apply_events", fake)
    settings = fast_settings(db_url)
    first = LifecycleConsumer(database, settings, holder="first")
    second_db = Database(db_url)
    second = LifecycleConsumer(second_db, settings, holder="second")
    stop_first, stop_second = asyncio.Event(), asyncio.Event()
    running_first = asyncio.create_task(first.run(stop_first))
    await wait_until(lambda: _is_holder(database, "first"))
    running_second = asyncio.create_task(second.run(stop_second))
    try:
        events = await emit_events(database, *[EventType.ACCOUNT_UPDATED] * 20)
        await wait_until(lambda: _applied(fake, 20))
        assert fake.applied == [event["id"] for event in events]
        assert not second.holds_lease

        stop_first.set()
        await asyncio.wait_for(running_first, 5)  # releases the lease
        more = await emit_events(database, EventType.ACCOUNT_UPDATED)
        await wait_until(lambda: _all_processed(database))  # committed, not only applied
        assert fake.applied[-1] == more[0]["id"]
        assert await _holder(database) == "second"
    finally:
        stop_first.set()
        stop_second.set()
        await asyncio.gather(running_first, running_second)
        await second_db.dispose()
    assert len(fake.applied) == 21
    assert await _holder(database) is None


async def _is_holder(db: Database, holder: str) -> bool:
    return await _holder(db) == holder


async def _all_processed(db: Database) -> bool:
    return all(row.processed_at is not None for row in await outbox(db))


async def _applied(fake: FakeHandler, count: int) -> bool:
    return len(fake.applied) >= count
