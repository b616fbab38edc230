"""The Kafka worker against the real broker: each batch applied once with its inbox keys,
offsets committed after the DB, redeliveries absorbed, transient errors retried."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client import REGISTRY
from sqlalchemy.exc import OperationalError

from services.renewal_worker.apply import batch
from services.renewal_worker.sources.kafka import KafkaWorker, dlq_topic
from services.renewal_worker.sources.step import Outcome
from shared.db import Database
from tests.renewal_worker.kafka.helpers import (
    PARTITIONS,
    checkpoints_per_contract,
    committed_offsets,
    created_event,
    dead_letter_rows,
    ensure_worker_topics,
    inbox_event_ids,
    make_contracts,
    missing_account_event,
    produce,
    running,
    wait_applied,
    wait_until,
    worker_settings,
)
from tests.support.broker import Broker, consume, value_of

pytestmark = pytest.mark.kafka

N = 24


def _processed(outcome: str) -> float:
    return (
        REGISTRY.get_sample_value(
            "renewals_events_processed_total", {"type": "contract.created", "outcome": outcome}
        )
        or 0.0
    )


async def test_each_event_is_applied_once_and_redeliveries_change_nothing(
    database: Database, kafka_broker: Broker
) -> None:
    settings = worker_settings(database.url, kafka_broker.bootstrap, kafka_batch_size=7)
    await ensure_worker_topics(settings)
    contracts = await make_contracts(database, N)
    events = [created_event(contract) for contract in contracts]
    applied_before, duplicates_before = _processed("applied"), _processed("duplicate")

    await produce(kafka_broker.bootstrap, settings.kafka_topic, list(events))
    worker = KafkaWorker(database, settings)
    async with running(worker):
        await wait_applied(database, N)
    # Stopped: the last batch's offsets are committed, one past the last record.
    offsets = await committed_offsets(
        kafka_broker.bootstrap, settings.kafka_group_id, settings.kafka_topic
    )
    assert sum(offsets.values()) == N
    assert len(offsets) == PARTITIONS  # the keys spread over every partition

    ids = await inbox_event_ids(database)
    assert sorted(ids) == sorted(event["id"] for event in events)
    plans = await checkpoints_per_contract(database)
    assert set(plans) == {str(contract.id) for contract in contracts}
    per_contract = set(plans.values())
    assert len(per_contract) == 1  # the same contract shape, the same plan
    assert per_contract.pop() > 0
    assert worker.totals[Outcome.APPLIED] == N
    assert _processed("applied") - applied_before == N

    # The same records again, plus a group that starts over from the beginning.
    await produce(kafka_broker.bootstrap, settings.kafka_topic, list(events))
    again = KafkaWorker(
        database, settings.model_copy(update={"kafka_group_id": settings.kafka_group_id + ".2"})
    )
    async with running(again):
        await wait_until(lambda: _total(again, Outcome.DUPLICATE, 2 * N))
    assert again.totals[Outcome.APPLIED] == 0
    assert sorted(await inbox_event_ids(database)) == sorted(ids)
    assert await checkpoints_per_contract(database) == plans
    assert await dead_letter_rows(database) == []
    assert _processed("duplicate") - duplicates_before == 2 * N
    offsets = await committed_offsets(
        kafka_broker.bootstrap, settings.kafka_group_id + ".2", settings.kafka_topic
    )
    assert sum(offsets.values()) == 2 * N


async def _total(worker: KafkaWorker, outcome: Outcome, count: int) -> bool:
    return worker.totals[outcome] >= count


async def test_a_transient_database_error_is_retried_and_never_dead_lettered(
    database: Database, kafka_broker: Broker, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = batch.apply_events
    calls: list[list[str]] = []

    async def flaky(
        session: Any, events: list[dict[str, Any]], **kwargs: Any
    ) -> list[Exception | None]:
        calls.append([event["id"] for event in events])
        if len(calls) == 1:  # the first batch is applied, then the connection is lost
            await real(session, events, **kwargs)
            raise OperationalError("SELECT 1", {}, Exception("server closed the connection"))
        return await real(session, events, **kwargs)

    monkeypatch.setattr(batch, "apply_events", flaky)
    settings = worker_settings(database.url, kafka_broker.bootstrap)
    await ensure_worker_topics(settings)
    contracts = await make_contracts(database, 4)
    events = [created_event(contract) for contract in contracts]
    # One key, one partition, one batch.
    await produce(kafka_broker.bootstrap, settings.kafka_topic, list(events), key="one-key")

    async with running(KafkaWorker(database, settings)):
        await wait_applied(database, len(events))
    assert sorted(await inbox_event_ids(database)) == sorted(e["id"] for e in events)
    assert await dead_letter_rows(database) == []
    # The first batch was applied, rolled back, and applied again with the rest.
    ids = [event["id"] for event in events]
    assert calls[0] == ids[: len(calls[0])]
    assert [event_id for call in calls[1:] for event_id in call] == ids
    assert len(await checkpoints_per_contract(database)) == len(events)
    offsets = await committed_offsets(
        kafka_broker.bootstrap, settings.kafka_group_id, settings.kafka_topic
    )
    assert sum(offsets.values()) == len(events)


async def test_a_crash_between_the_db_commit_and_the_offset_commit_is_absorbed(
    database: Database, kafka_broker: Broker
) -> None:
    settings = worker_settings(database.url, kafka_broker.bootstrap)
    await ensure_worker_topics(settings)
    events = [created_event(contract) for contract in await make_contracts(database, 3)]
    poison = missing_account_event()
    await produce(kafka_broker.bootstrap, settings.kafka_topic, [*events, poison], key="one-key")
    crashes: list[int] = []

    async def crash_once(batch: object) -> None:
        if not crashes:
            crashes.append(1)
            raise RuntimeError("killed after the DB commit")

    worker = KafkaWorker(database, settings, before_offset_commit=crash_once)
    async with running(worker):
        await wait_until(lambda: _total(worker, Outcome.DUPLICATE, len(events) + 1))
    # Applied and dead-lettered once; the redelivery was all duplicates.
    assert worker.totals[Outcome.APPLIED] == len(events)
    assert worker.totals[Outcome.DEAD_LETTERED] == 1
    assert sorted(await inbox_event_ids(database)) == sorted(e["id"] for e in events)
    assert [letter.event_id for letter in await dead_letter_rows(database)] == [poison["id"]]
    offsets = await committed_offsets(
        kafka_broker.bootstrap, settings.kafka_group_id, settings.kafka_topic
    )
    assert sum(offsets.values()) == len(events) + 1
    # The poison record reached the DLQ (at least once: again with the redelivery).
    dlq = await consume(kafka_broker.bootstrap, [dlq_topic(settings.kafka_topic)], expected=2)
    assert [value_of(record)["id"] for record in dlq] == [poison["id"], poison["id"]]
