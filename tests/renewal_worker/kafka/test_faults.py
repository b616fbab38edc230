"""Faults with the real broker and real processes: a worker killed mid-stream, the broker
paused, and a clean SIGTERM that leaves the group."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest
from aiokafka.consumer.group_coordinator import GroupCoordinator

from services.renewal_worker.sources.kafka import KafkaWorker
from shared.db import Database
from tests.renewal_worker.kafka.helpers import (
    checkpoints_per_contract,
    committed_offsets,
    created_event,
    dead_letter_rows,
    ensure_worker_topics,
    inbox_event_ids,
    make_contracts,
    produce,
    running,
    wait_applied,
    worker_process,
    worker_settings,
)
from tests.support.broker import Broker

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


async def test_a_worker_killed_mid_stream_loses_and_duplicates_nothing(
    database: Database, kafka_broker: Broker, tmp_path: Path
) -> None:
    n = 300
    settings = worker_settings(database.url, kafka_broker.bootstrap, kafka_batch_size=5)
    await ensure_worker_topics(settings)
    contracts = await make_contracts(database, n)
    events = [created_event(contract) for contract in contracts]
    await produce(kafka_broker.bootstrap, settings.kafka_topic, list(events))
    log = tmp_path / "workers.log"

    with worker_process(settings, log) as first:
        await wait_applied(database, 1, timeout=20)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    applied_when_killed = len(await inbox_event_ids(database))
    assert 0 < applied_when_killed < n, "the worker was not killed mid-stream"

    with worker_process(settings, log) as second:
        await wait_applied(database, n, timeout=40)
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=20) == 0

    ids = await inbox_event_ids(database)
    assert len(ids) == n
    assert sorted(ids) == sorted(event["id"] for event in events)
    plans = await checkpoints_per_contract(database)
    assert set(plans) == {str(contract.id) for contract in contracts}
    assert len(set(plans.values())) == 1  # every contract planned exactly once
    assert await dead_letter_rows(database) == []
    offsets = await committed_offsets(
        kafka_broker.bootstrap, settings.kafka_group_id, settings.kafka_topic
    )
    assert sum(offsets.values()) == n


@pytest.mark.timeout(240)  # about 15 s; the wait allows for a slow rejoin on a loaded machine
async def test_a_paused_broker_stalls_the_worker_and_it_resumes_without_loss(
    postgres_database: Database, own_broker: Broker
) -> None:
    """Its own broker: the session's holds the groups and offsets of every earlier test,
    and after a pause its coordinator was once still busy with them 90 s later."""
    database = postgres_database
    kafka_broker = own_broker
    settings = worker_settings(database.url, kafka_broker.bootstrap, kafka_batch_size=5)
    await ensure_worker_topics(settings)
    contracts = await make_contracts(database, 30)
    events = [created_event(contract) for contract in contracts]
    before, after = events[:15], events[15:]
    await produce(kafka_broker.bootstrap, settings.kafka_topic, list(before))
    worker = KafkaWorker(database, settings)

    async with running(worker) as task:
        await wait_applied(database, len(before))
        with kafka_broker.outage():
            await asyncio.sleep(4)  # longer than the session timeout
            assert not task.done()
            assert len(await inbox_event_ids(database)) == len(before)
        await produce(kafka_broker.bootstrap, settings.kafka_topic, list(after))
        # After an outage longer than its session the consumer rejoins its group; on a
        # loaded machine that once took 40 s (the coordinator's rebalance, not our code).
        await wait_applied(database, len(events), timeout=90)
        assert not task.done()
    assert task.exception() is None

    ids = await inbox_event_ids(database)
    assert sorted(ids) == sorted(event["id"] for event in events)
    assert len(await checkpoints_per_contract(database)) == len(events)
    assert await dead_letter_rows(database) == []
    offsets = await committed_offsets(
        kafka_broker.bootstrap, settings.kafka_group_id, settings.kafka_topic
    )
    assert sum(offsets.values()) == len(events)


async def test_a_stopping_worker_finishes_its_batch_and_leaves_the_group(
    postgres_database: Database, kafka_broker: Broker, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = postgres_database
    settings = worker_settings(database.url, kafka_broker.bootstrap)
    await ensure_worker_topics(settings)
    events = [created_event(contract) for contract in await make_contracts(database, 3)]
    await produce(kafka_broker.bootstrap, settings.kafka_topic, list(events))
    leaves: list[str] = []
    leave = GroupCoordinator._maybe_leave_group

    async def leaving(self: GroupCoordinator) -> None:
        leaves.append(self.group_id)
        await leave(self)

    monkeypatch.setattr(GroupCoordinator, "_maybe_leave_group", leaving)

    worker = KafkaWorker(database, settings)
    async with running(worker) as task:
        await wait_applied(database, len(events))
    assert task.done()
    assert task.exception() is None
    assert worker.consumer is None  # stopped
    assert leaves == [settings.kafka_group_id]  # LeaveGroup (sent when generation > 0)
    offsets = await committed_offsets(
        kafka_broker.bootstrap, settings.kafka_group_id, settings.kafka_topic
    )
    assert sum(offsets.values()) == len(events)
