"""The distributed mode end to end, with real processes: the in-process API writes the
outbox, `renewals relay` publishes it to the real broker, `renewals worker` processes
(one or two in a group), and the faults of issue 4: workers SIGKILLed at random points,
a relay dying between publish and delete, the broker paused for 20 s; and `/readyz`
reporting the broker."""

from __future__ import annotations

import asyncio
import random
import signal
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from cloudevents.core.formats.json import JSONFormat

from services.relay.relay import Relay
from services.renewal_worker.sources.kafka import KafkaWorker
from shared.db import Database
from shared.events.types import EventType
from tests.relay.helpers import drained, outbox_count, relay_settings
from tests.renewal_worker.kafka.distributed import (
    assert_planned_once,
    create_through_api,
    distributed_settings,
    relay_env_for,
)
from tests.renewal_worker.kafka.helpers import (
    assigned_partitions,
    checkpoint_plan,
    created_event,
    dead_letter_rows,
    ensure_worker_topics,
    inbox_event_ids,
    make_contracts,
    make_contracts_with_ids,
    produce,
    relay_process,
    running,
    wait_applied,
    wait_until,
    worker_process,
    worker_settings,
)
from tests.support.api import Harness, open_harness, ops_client
from tests.support.broker import Broker, consume, free_port
from tests.support.databases import PostgresTemplates

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]


async def lifecycle_event_ids(api: Harness) -> set[str]:
    """The ids of the lifecycle events still in the outbox (the worker's input)."""
    return {
        str(event["id"])
        for event in await api.events()
        if not str(event["type"]).startswith(("task.", "contract.health_changed"))
    }


async def test_a_rest_call_flows_through_relay_and_worker_into_the_plan(
    postgres_db_url: str, kafka_broker: Broker, tmp_path: Path
) -> None:
    settings = distributed_settings(postgres_db_url, kafka_broker.bootstrap)
    async with open_harness(postgres_db_url) as api:
        contracts = await create_through_api(api, 4)
        expected = await lifecycle_event_ids(api)
        assert len(expected) == 8  # account.created and contract.created each
        with (
            relay_process(relay_env_for(settings), tmp_path / "relay.log"),
            worker_process(settings, tmp_path / "worker.log") as worker,
        ):
            await wait_applied(api.db, len(expected), timeout=30)
            await drained(api.db, timeout=15)  # the worker's notifications too
            worker.send_signal(signal.SIGTERM)
            assert await asyncio.to_thread(worker.wait, 15) == 0

        assert sorted(await inbox_event_ids(api.db)) == sorted(expected)
        await assert_planned_once(api.db, {c["id"] for c in contracts})
        assert await dead_letter_rows(api.db) == []

    records = await consume(kafka_broker.bootstrap, [settings.kafka_topic], expected=8)
    assert len(records) == 8
    by_id = {}
    for record in records:
        assert record.value is not None
        assert record.key is not None
        event = JSONFormat().read(None, record.value)
        by_id[event.get_id()] = (event, record.key.decode())
    assert set(by_id) == expected
    created = [
        (event, key)
        for event, key in by_id.values()
        if event.get_type() == EventType.CONTRACT_CREATED
    ]
    assert {str(event.get_subject()) for event, _ in created} == {c["id"] for c in contracts}
    for event, key in created:
        data = event.get_data()
        assert isinstance(data, dict)
        assert key == data["account_id"]


@pytest.fixture
def second_postgres_db_url(postgres_templates: PostgresTemplates) -> Iterator[str]:
    url = postgres_templates.clone()
    yield url
    postgres_templates.drop(url)


async def test_two_workers_split_the_partitions_and_do_what_one_worker_does(
    postgres_db_url: str, second_postgres_db_url: str, kafka_broker: Broker, tmp_path: Path
) -> None:
    n = 120
    rng = random.Random(4)
    ids = [
        (uuid.UUID(int=rng.getrandbits(128)), uuid.UUID(int=rng.getrandbits(128))) for _ in range(n)
    ]
    plans: list[list[tuple[str, str, int, int]]] = []
    for db_url, workers in ((postgres_db_url, 1), (second_postgres_db_url, 2)):
        db = Database(db_url)
        try:
            await make_contracts_with_ids(db, ids)
            settings = distributed_settings(db_url, kafka_broker.bootstrap, kafka_partitions=6)
            await ensure_worker_topics(settings)
            logs = [tmp_path / f"{workers}-{i}.log" for i in range(workers)]
            with ExitStack() as stack:
                processes = [stack.enter_context(worker_process(settings, log)) for log in logs]

                async def split(logs: list[Path] = logs) -> bool:
                    found = [assigned_partitions(log) for log in logs]
                    if any(not partitions for partitions in found):
                        return False
                    names = [p for partitions in found for p in partitions or []]
                    return len(names) == 6 and len(set(names)) == 6

                await wait_until(split, timeout=30, interval=0.1)
                if workers == 2:
                    sizes = [len(assigned_partitions(log) or []) for log in logs]
                    assert sorted(sizes) == [3, 3]
                events = [created_event_for(a, c) for a, c in ids]
                await produce(kafka_broker.bootstrap, settings.kafka_topic, list(events))
                await wait_applied(db, n, timeout=30)
                for process in processes:
                    process.send_signal(signal.SIGTERM)
                for process in processes:
                    assert await asyncio.to_thread(process.wait, 15) == 0
            assert sorted(await inbox_event_ids(db)) == sorted(e["id"] for e in events)
            await assert_planned_once(db, {str(c) for _, c in ids})
            assert await dead_letter_rows(db) == []
            plans.append(await checkpoint_plan(db))
        finally:
            await db.dispose()
    one, two = plans
    assert len(one) == len(two) > n
    assert set(one) == set(two)
    assert Counter(c for c, *_ in one) == Counter(c for c, *_ in two)


def created_event_for(account_id: uuid.UUID, contract_id: uuid.UUID) -> dict[str, Any]:
    contract: Any = SimpleNamespace(id=contract_id, account_id=account_id)
    return created_event(contract)


@pytest.mark.slow
@pytest.mark.timeout(180)  # about 60 s: eleven group joins after SIGKILLs
async def test_a_thousand_events_survive_ten_random_worker_kills(
    postgres_database: Database, kafka_broker: Broker, tmp_path: Path
) -> None:
    database = postgres_database
    n, kills = 1000, 10
    rng = random.Random(20261125)
    settings = worker_settings(database.url, kafka_broker.bootstrap, kafka_batch_size=10)
    await ensure_worker_topics(settings)
    contracts = await make_contracts(database, n)
    events = [created_event(contract) for contract in contracts]
    chunks = [events[i * n // kills : (i + 1) * n // kills] for i in range(kills)]
    log = tmp_path / "workers.log"
    produced = 0
    mid_stream_kills = 0

    for chunk in chunks:
        # Each round adds events, so every kill has work in flight to interrupt; the kill
        # lands at a random point of the round's stream.
        await produce(kafka_broker.bootstrap, settings.kafka_topic, list(chunk))
        produced += len(chunk)
        before = len(await inbox_event_ids(database))
        with worker_process(settings, log) as worker:
            await wait_applied(database, before + rng.randint(1, len(chunk) // 2), timeout=30)
            worker.send_signal(signal.SIGKILL)
            await asyncio.to_thread(worker.wait, 10)
        mid_stream_kills += len(await inbox_event_ids(database)) < produced
    assert mid_stream_kills == kills

    with worker_process(settings, log) as last:
        await wait_applied(database, n, timeout=40)
        last.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(last.wait, 15) == 0

    ids = await inbox_event_ids(database)
    assert len(ids) == len(set(ids)) == n
    assert set(ids) == {event["id"] for event in events}
    await assert_planned_once(database, {str(contract.id) for contract in contracts})
    assert await dead_letter_rows(database) == []


class SimulatedCrash(BaseException):
    """Escapes the relay's error handling, as a crash (SIGKILL) would."""


async def test_events_republished_by_a_crashed_relay_take_effect_once(
    postgres_db_url: str, kafka_broker: Broker
) -> None:
    settings = distributed_settings(postgres_db_url, kafka_broker.bootstrap)
    relay = relay_settings(
        postgres_db_url,
        kafka_broker.bootstrap,
        kafka_topic=settings.kafka_topic,
        kafka_notifications_topic=settings.kafka_notifications_topic,
        relay_batch_size=6,
    )
    crashed_with: list[int] = []

    async def crash(acknowledged: list[int]) -> None:
        crashed_with.extend(acknowledged)
        raise SimulatedCrash

    async with open_harness(postgres_db_url) as api:
        contracts = await create_through_api(api, 5)
        expected = await lifecycle_event_ids(api)
        with pytest.raises(SimulatedCrash):
            await asyncio.wait_for(
                Relay(api.db, relay, after_publish=crash).run(asyncio.Event()), 10
            )
        assert len(crashed_with) == 6  # published and acknowledged, never deleted
        assert await outbox_count(api.db) == len(expected)

        async with running(Relay(api.db, relay)), running(KafkaWorker(api.db, settings)):
            await wait_applied(api.db, len(expected), timeout=30)
            await drained(api.db, timeout=15)
            records = await consume(
                kafka_broker.bootstrap, [settings.kafka_topic], expected=len(expected) + 6
            )
            assert len(records) == len(expected) + 6  # the crashed batch twice

        ids = await inbox_event_ids(api.db)
        assert sorted(ids) == sorted(expected)
        await assert_planned_once(api.db, {c["id"] for c in contracts})
        assert await dead_letter_rows(api.db) == []


@pytest.mark.slow
@pytest.mark.timeout(240)  # about 30 s; the waits allow for a slow rejoin on a loaded machine
async def test_a_broker_paused_for_20_s_loses_nothing_and_the_api_keeps_answering(
    postgres_db_url: str, kafka_broker: Broker, tmp_path: Path
) -> None:
    settings = distributed_settings(postgres_db_url, kafka_broker.bootstrap)
    async with open_harness(postgres_db_url) as api:
        with (
            relay_process(relay_env_for(settings), tmp_path / "relay.log"),
            worker_process(settings, tmp_path / "worker.log"),
        ):
            contracts = await create_through_api(api, 3)
            await wait_applied(api.db, 6, timeout=60)

            during: list[dict[str, Any]] = []
            with kafka_broker.outage():
                # At least 20 s and 15 events, however slow the machine makes each one.
                end = time.monotonic() + 20
                while time.monotonic() < end or len(during) < 15:
                    started = time.monotonic()
                    during.extend(await create_through_api(api, 1))
                    assert time.monotonic() - started < 2, "the API stalled"
                    await asyncio.sleep(1)
                assert await outbox_count(api.db) >= 2 * len(during)  # the backlog
            contracts += during

            # After the outage every consumer rejoins its group; on a loaded machine a
            # rejoin has been seen to wait out a client request timeout (40 s) once.
            await wait_applied(api.db, 2 * len(contracts), timeout=90)
            await drained(api.db, timeout=15)

        assert len(await inbox_event_ids(api.db)) == 2 * len(contracts)
        await assert_planned_once(api.db, {c["id"] for c in contracts})
        assert await dead_letter_rows(api.db) == []


async def test_readyz_reports_the_broker_in_distributed_mode(
    postgres_db_url: str, kafka_broker: Broker
) -> None:
    kafka = {"event_bus": "kafka", "kafka_bootstrap_servers": kafka_broker.bootstrap}
    async with open_harness(postgres_db_url, **kafka) as api, ops_client(api) as ops:
        ready = await api.client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json() == {"status": "ok"}
        detailed = await ops.get("/readyz")
        assert detailed.json() == {"status": "ready", "database": "ok", "broker": "ok"}

        with kafka_broker.outage():
            started = time.monotonic()
            paused = await api.client.get("/readyz")
            assert time.monotonic() - started < 2.5
            paused_detail = await ops.get("/readyz")
        assert paused.status_code == paused_detail.status_code == 503
        assert paused.headers["content-type"].startswith("application/problem+json")
        assert "broker" not in paused.json()["detail"]
        assert "broker" in paused_detail.json()["detail"]
        assert (await api.client.get("/readyz")).status_code == 200

    closed = {"event_bus": "kafka", "kafka_bootstrap_servers": f"127.0.0.1:{free_port()}"}
    async with open_harness(postgres_db_url, **closed) as api, ops_client(api) as ops:
        unreachable = await api.client.get("/readyz")
        assert unreachable.status_code == 503
        assert "broker" in (await ops.get("/readyz")).json()["detail"]

    async with open_harness(postgres_db_url) as api, ops_client(api) as ops:  # embedded
        embedded = await api.client.get("/readyz")
        assert embedded.status_code == 200
        assert (await ops.get("/readyz")).json() == {"status": "ready", "database": "ok"}
