from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.renewal_worker import retention
from services.renewal_worker.apply import batch, handle
from services.renewal_worker.sources.embedded import LifecycleConsumer, process_batch
from shared.clock import utcnow
from shared.db import Database
from shared.domain.auth.service import create_key, parse_scopes
from shared.events.outbox import build_event
from shared.events.types import ENGINE_CONSUMER, SOURCE_API, EventType
from shared.models import IdempotencyKey, InboxKey, OutboxEvent
from tests.renewal_worker.helpers import (
    FakeHandler,
    add_outbox_row,
    dead_letters,
    emit_events,
    emit_in,
    fast_settings,
    inbox_keys,
    outbox,
    wait_until,
)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeHandler:
    recorder = FakeHandler()
    monkeypatch.setattr(batch, "apply_events", recorder)
    return recorder


async def test_unprocessed_rows_are_applied_in_id_order_marked_processed_and_keyed(
    database: Database, fake: FakeHandler
) -> None:
    events = await emit_events(
        database, EventType.ACCOUNT_CREATED, EventType.CONTRACT_CREATED, EventType.GOAL_CREATED
    )
    await emit_events(database, EventType.TASK_CREATED)  # the notifications stream

    result = await process_batch(database, holder="me")

    assert result is not None
    assert (result.rows, result.applied, result.duplicates, result.dead_lettered) == (3, 3, 0, 0)
    assert fake.applied == [event["id"] for event in events]
    assert all(row.processed_at is not None for row in await outbox(database))
    assert [row.processed_at for row in await outbox(database, "notifications")] == [None]
    assert await inbox_keys(database) == {
        (ENGINE_CONSUMER, event["source"], event["id"]) for event in events
    }
    again = await process_batch(database, holder="me")
    assert again is not None
    assert again.rows == 0
    assert len(fake.applied) == 3


async def test_a_batch_takes_at_most_batch_size_rows(database: Database, fake: FakeHandler) -> None:
    events = await emit_events(database, *[EventType.USAGE_REPORTED] * 5)
    first = await process_batch(database, holder="me", batch_size=2)
    assert first is not None
    assert first.rows == 2
    assert fake.applied == [event["id"] for event in events[:2]]


async def test_a_redelivered_event_is_skipped(database: Database, fake: FakeHandler) -> None:
    [event] = await emit_events(database, EventType.CONTRACT_UPDATED)
    await process_batch(database, holder="me")
    await add_outbox_row(database, event)  # the same (source, id) again

    result = await process_batch(database, holder="me")

    assert result is not None
    assert (result.rows, result.applied, result.duplicates) == (1, 0, 1)
    assert fake.applied == [event["id"]]
    assert all(row.processed_at is not None for row in await outbox(database))


async def test_a_duplicate_within_one_batch_is_applied_once(
    database: Database, fake: FakeHandler
) -> None:
    [event] = await emit_events(database, EventType.CONTRACT_UPDATED)
    await add_outbox_row(database, event)
    result = await process_batch(database, holder="me")
    assert result is not None
    assert (result.applied, result.duplicates) == (1, 1)
    assert fake.applied == [event["id"]]


async def test_a_row_with_a_lower_id_committed_later_is_still_processed(
    database: Database, fake: FakeHandler
) -> None:
    """No bare id cursor: the consumer reads every unprocessed row, not only the rows
    after the highest id it has seen."""
    early = build_event(
        type=EventType.ACCOUNT_CREATED,
        source=SOURCE_API,
        subject="s-1",
        data={},
        dataschema="urn:renewals:test:1",
        actor="test",
        time=utcnow(),
    )
    [late] = await emit_events(database, EventType.ACCOUNT_UPDATED)
    [late_row] = await outbox(database)
    await process_batch(database, holder="me")
    assert fake.applied == [late["id"]]

    await add_outbox_row(database, early, id=late_row.id - 1)  # commits after the higher id
    await process_batch(database, holder="me")

    assert fake.applied == [late["id"], early["id"]]
    assert all(row.processed_at is not None for row in await outbox(database))


async def test_ids_committed_out_of_order_on_postgres_are_all_processed(
    postgres_database: Database, fake: FakeHandler
) -> None:
    database = postgres_database
    async with database.writer() as slow, slow.begin():
        first = emit_in(slow, EventType.ACCOUNT_CREATED)
        await slow.flush()  # takes the lower id, commits last
        [second] = await emit_events(database, EventType.ACCOUNT_UPDATED)
        await process_batch(database, holder="me")
        assert fake.applied == [second["id"]]
    await process_batch(database, holder="me")
    assert fake.applied == [second["id"], first["id"]]
    rows = await outbox(database)
    assert rows[0].event_id == first["id"]
    assert all(row.processed_at is not None for row in rows)


async def test_a_poison_event_is_dead_lettered_and_the_batch_goes_on(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeHandler(poison=frozenset({"goal.created"}))
    monkeypatch.setattr(batch, "apply_events", fake)
    events = await emit_events(
        database, EventType.ACCOUNT_CREATED, EventType.GOAL_CREATED, EventType.USAGE_REPORTED
    )

    result = await process_batch(database, holder="me")

    assert result is not None
    assert (result.rows, result.applied, result.dead_lettered) == (3, 2, 1)
    assert fake.applied == [events[0]["id"], events[2]["id"]]
    [letter] = await dead_letters(database)
    assert (letter.event_id, letter.source, letter.type, letter.stream) == (
        events[1]["id"],
        events[1]["source"],
        "goal.created",
        "lifecycle",
    )
    assert letter.error == "ValueError: cannot apply goal.created"
    assert letter.event == events[1]
    assert letter.replayed_at is None
    assert all(row.processed_at is not None for row in await outbox(database))
    # never applied, so not in the inbox: a replay of the same event will be applied
    assert (ENGINE_CONSUMER, events[1]["source"], events[1]["id"]) not in await inbox_keys(database)


async def test_a_failed_bulk_write_is_rolled_back_and_the_batch_applied_event_by_event(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The set-wise write breaks a constraint after writing rows: its savepoint rolls
    back and the batch is applied event by event, each in its savepoint, so the poison
    event's own writes are rolled back too and it alone is dead-lettered."""

    async def bulk_write_fails(session: AsyncSession, *_: object, **__: object) -> None:
        session.add(InboxKey(consumer="probe", source="batch", event_id="all"))
        await session.flush()
        raise IntegrityError("INSERT INTO tasks", {}, Exception("duplicate key"))

    async def half_applied(session: AsyncSession, event: dict[str, object], **_: object) -> None:
        if event["type"] != EventType.CONTRACT_CREATED:
            return
        session.add(InboxKey(consumer="probe", source="s", event_id=str(event["id"])))
        await session.flush()
        raise KeyError("data.id")

    monkeypatch.setattr(batch, "apply_events", bulk_write_fails)
    monkeypatch.setattr(handle, "apply_event", half_applied)
    events = await emit_events(database, EventType.CONTRACT_CREATED, EventType.PARTNER_CREATED)
    result = await process_batch(database, holder="me")
    assert result is not None
    assert (result.applied, result.dead_lettered) == (1, 1)
    assert await inbox_keys(database) == {(ENGINE_CONSUMER, events[1]["source"], events[1]["id"])}
    [letter] = await dead_letters(database)
    assert letter.error == "KeyError: 'data.id'"


async def test_a_transient_error_leaves_the_batch_unprocessed_and_it_is_retried(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeHandler(transient_failures=1)
    monkeypatch.setattr(batch, "apply_events", fake)
    events = await emit_events(database, EventType.ACCOUNT_CREATED, EventType.ACCOUNT_UPDATED)

    with pytest.raises(Exception, match="database is locked"):
        await process_batch(database, holder="me")
    assert [row.processed_at for row in await outbox(database)] == [None, None]
    assert await inbox_keys(database) == set()

    result = await process_batch(database, holder="me")
    assert result is not None
    assert result.applied == 2
    assert fake.applied == [event["id"] for event in events]
    assert await dead_letters(database) == []


async def test_the_running_consumer_retries_transient_errors_with_backoff(
    database: Database, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeHandler(transient_failures=3)
    monkeypatch.setattr(batch, "apply_events", fake)
    events = await emit_events(database, EventType.ACCOUNT_CREATED)
    stop = asyncio.Event()
    worker = LifecycleConsumer(database, fast_settings(db_url))
    task = asyncio.create_task(worker.run(stop))
    try:
        await wait_until(lambda: _applied(fake, 1))
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)
    assert fake.applied == [events[0]["id"]]
    assert fake.transient_failures == 0
    assert await dead_letters(database) == []
    assert all(row.processed_at is not None for row in await outbox(database))


async def _applied(fake: FakeHandler, count: int) -> bool:
    return len(fake.applied) >= count


async def test_processed_rows_and_inbox_keys_past_retention_are_pruned(
    database: Database, fake: FakeHandler
) -> None:
    old = await emit_events(database, *[EventType.ACCOUNT_UPDATED] * 3)
    await process_batch(database, holder="me")
    fresh = await emit_events(database, EventType.ACCOUNT_UPDATED)
    await process_batch(database, holder="me")
    waiting = await emit_events(database, EventType.ACCOUNT_UPDATED)
    await emit_events(database, EventType.TASK_CREATED)  # notifications: never processed yet
    long_ago = utcnow() - timedelta(days=30)
    old_ids = [event["id"] for event in old]
    async with database.transaction() as session:
        await session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.event_id.in_([*old_ids, waiting[0]["id"]]))
            .values(created_at=long_ago)
        )
        await session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.event_id.in_(old_ids))
            .values(processed_at=long_ago)
        )
        await session.execute(
            update(InboxKey).where(InboxKey.event_id.in_(old_ids)).values(processed_at=long_ago)
        )

    deleted = await retention.prune(database, older_than=utcnow() - timedelta(days=7), batch_size=2)

    assert deleted == (3, 3)
    assert [row.event_id for row in await outbox(database)] == [fresh[0]["id"], waiting[0]["id"]]
    assert len(await outbox(database, "notifications")) == 1
    assert {key[2] for key in await inbox_keys(database)} == {fresh[0]["id"]}


async def test_expired_idempotency_keys_are_pruned(database: Database) -> None:
    async with database.transaction() as session:
        key, _ = await create_key(session, name="k", scopes=parse_scopes(["write"]))
        now = utcnow()
        session.add_all(
            [
                IdempotencyKey(api_key_id=key.id, key="old", fingerprint="f", expires_at=now),
                IdempotencyKey(
                    api_key_id=key.id,
                    key="new",
                    fingerprint="f",
                    expires_at=now + timedelta(hours=1),
                ),
            ]
        )
    deleted = await retention.prune_idempotency_keys(database, now=now + timedelta(seconds=1))
    assert deleted == 1
    async with database.read() as session:
        assert list((await session.scalars(select(IdempotencyKey.key))).all()) == ["new"]


def _processed(type: str, outcome: str) -> float:
    labels = {"type": type, "outcome": outcome}
    return REGISTRY.get_sample_value("renewals_events_processed_total", labels) or 0.0


async def test_outcomes_are_counted_once_the_batch_committed(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeHandler(poison=frozenset({"goal.created"}), transient_failures=1)
    monkeypatch.setattr(batch, "apply_events", fake)
    events = await emit_events(database, EventType.ACCOUNT_CREATED, EventType.GOAL_CREATED)
    before = (
        _processed("account.created", "applied"),
        _processed("goal.created", "dead_lettered"),
        _processed("account.created", "duplicate"),
        REGISTRY.get_sample_value("renewals_dead_letters_total") or 0.0,
    )

    with pytest.raises(Exception, match="database is locked"):
        await process_batch(database, holder="me")
    assert (
        _processed("account.created", "applied"),
        _processed("goal.created", "dead_lettered"),
        _processed("account.created", "duplicate"),
        REGISTRY.get_sample_value("renewals_dead_letters_total") or 0.0,
    ) == before  # rolled back: nothing counted

    await process_batch(database, holder="me")
    await add_outbox_row(database, events[0])  # a redelivery
    await process_batch(database, holder="me")
    assert _processed("account.created", "applied") - before[0] == 1
    assert _processed("goal.created", "dead_lettered") - before[1] == 1
    assert _processed("account.created", "duplicate") - before[2] == 1
    assert (REGISTRY.get_sample_value("renewals_dead_letters_total") or 0.0) - before[3] == 1


async def test_events_committed_in_this_process_are_applied_before_the_next_poll(
    database: Database, db_url: str, fake: FakeHandler
) -> None:
    """In `renewals dev` the API's commit wakes the consumer: a 30 s poll interval is
    not what an event waits."""
    stop = asyncio.Event()
    worker = LifecycleConsumer(database, fast_settings(db_url, worker_poll_seconds=30))
    task = asyncio.create_task(worker.run(stop))
    try:
        await wait_until(lambda: _holds_lease(worker))
        await asyncio.sleep(0.2)  # the first turn found nothing and idles
        events = await emit_events(database, EventType.ACCOUNT_CREATED)
        await wait_until(lambda: _applied(fake, 1))
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)
    assert fake.applied == [events[0]["id"]]


async def _holds_lease(worker: LifecycleConsumer) -> bool:
    return worker.holds_lease
