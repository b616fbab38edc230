"""The relay against the real broker: what lands on the topics, and what happens to the
outbox when the broker stalls, is unreachable, or the relay dies mid-batch."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from pathlib import Path

import pytest
from aiokafka.partitioner import DefaultPartitioner
from cloudevents.core.formats.json import JSONFormat
from prometheus_client import REGISTRY

from services.relay.relay import Relay
from shared.db import Database
from shared.runtime.kafka import CONTENT_TYPE, ensure_topics
from tests.relay.helpers import (
    PARTITIONS,
    drained,
    id_counts,
    outbox_count,
    outbox_ids,
    published,
    relay_settings,
    running,
    wait_until,
    write_events,
)
from tests.support.api import open_harness
from tests.support.broker import Broker, free_port, start_broker, value_of
from tests.support.factories import outbox_rows

pytestmark = pytest.mark.kafka


async def test_rows_become_structured_cloudevents_keyed_by_account_in_outbox_order(
    database: Database, kafka_broker: Broker
) -> None:
    written = await write_events(database, accounts=4, per_account=5)
    rows = {row.event_id: row for row in await outbox_rows(database)}
    settings = relay_settings(database.url, kafka_broker.bootstrap, relay_batch_size=7)

    async with running(Relay(database, settings)):
        await drained(database)
    records = await published(kafka_broker, settings, expected=len(written))

    assert await outbox_count(database) == 0
    assert id_counts(records) == dict.fromkeys((w.id for w in written), 1)
    topic_of = {
        "lifecycle": settings.kafka_topic,
        "notifications": settings.kafka_notifications_topic,
    }
    by_id = {w.id: w for w in written}
    partitions_of_key: dict[bytes, set[int]] = defaultdict(set)
    for record in records:
        event = value_of(record)
        row = rows[event["id"]]
        assert dict(record.headers) == {"content-type": CONTENT_TYPE.encode()}
        parsed = JSONFormat().read(None, record.value)
        assert parsed.get_specversion() == "1.0"
        assert parsed.get_id() == row.event_id
        assert parsed.get_type() == row.type
        assert parsed.get_time() is not None
        assert parsed.get_extension("actor") == "test"
        assert event == row.event
        assert record.key == row.partition_key.encode() == by_id[row.event_id].key.encode()
        assert record.topic == topic_of[by_id[row.event_id].stream]
        partitions_of_key[record.key].add(record.partition)
    # One key, one partition; in each (topic, key) the outbox order.
    assert all(len(partitions) == 1 for partitions in partitions_of_key.values())
    seen: dict[tuple[str, bytes], list[str]] = defaultdict(list)
    for record in sorted(records, key=lambda r: (r.topic, r.partition, r.offset)):
        assert record.key is not None
        seen[(record.topic, record.key)].append(value_of(record)["id"])
    expected: dict[tuple[str, bytes], list[str]] = defaultdict(list)
    for w in written:
        expected[(topic_of[w.stream], w.key.encode())].append(w.id)
    assert seen == expected
    # Each record sits on the partition Kafka's default partitioner picks for its key.
    partitions = list(range(PARTITIONS))
    assert all(
        record.partition == DefaultPartitioner()(record.key, partitions, partitions)
        for record in records
    )


async def test_the_relay_reports_the_backlog_and_its_age(
    database: Database, kafka_broker: Broker
) -> None:
    written = await write_events(database, accounts=2, per_account=3)
    settings = relay_settings(database.url, kafka_broker.bootstrap)
    relay = Relay(database, settings)

    backlog, age = await relay.refresh_metrics()
    assert backlog == len(written)
    assert age >= 0
    assert REGISTRY.get_sample_value("renewals_outbox_backlog") == len(written)

    async with running(relay):
        await drained(database)
        await wait_until(
            lambda: _gauge_is("renewals_outbox_backlog", 0), timeout=5
        )  # set after the batch
    assert REGISTRY.get_sample_value("renewals_outbox_oldest_age_seconds") == 0


async def _gauge_is(name: str, value: float) -> bool:
    return REGISTRY.get_sample_value(name) == value


async def test_a_paused_broker_loses_nothing_and_duplicates_nothing(
    db_url: str, kafka_broker: Broker
) -> None:
    async with open_harness(db_url) as api:
        settings = relay_settings(db_url, kafka_broker.bootstrap)
        db = api.db
        before = await write_events(db, accounts=2, per_account=2)
        async with running(Relay(db, settings)) as relay_task:
            await drained(db)
            with kafka_broker.outage():
                during = await write_events(db, accounts=3, per_account=3)
                # The API keeps accepting writes into the outbox meanwhile.
                for n in range(3):
                    response = await api.client.post("/v1/accounts", json={"name": f"Paused {n}"})
                    assert response.status_code == 201
                await asyncio.sleep(2)
                waiting = await outbox_ids(db)
                assert set(waiting) >= {w.id for w in during}  # nothing deleted
                assert len(waiting) == len(during) + 3
                assert not relay_task.done()
            await drained(db)
        records = await published(kafka_broker, settings, expected=len(before) + len(waiting))

    expected = {w.id for w in before} | set(waiting)
    assert id_counts(records) == dict.fromkeys(expected, 1)


class SimulatedCrash(BaseException):
    """Escapes the relay's error handling, as a crash would."""


async def test_a_relay_killed_between_publish_and_delete_republishes_everything(
    database: Database, kafka_broker: Broker
) -> None:
    """At-least-once: the crashed batch is published twice, consumers dedupe by inbox
    key; nothing is lost and the outbox ends empty."""
    written = await write_events(database, accounts=3, per_account=4)
    settings = relay_settings(database.url, kafka_broker.bootstrap, relay_batch_size=5)
    crashed_with: list[int] = []

    async def crash(acknowledged: list[int]) -> None:
        crashed_with.extend(acknowledged)
        raise SimulatedCrash

    stop = asyncio.Event()
    with pytest.raises(SimulatedCrash):
        await asyncio.wait_for(Relay(database, settings, after_publish=crash).run(stop), 10)
    assert len(crashed_with) == 5
    assert await outbox_count(database) == len(written)  # nothing was deleted

    async with running(Relay(database, settings)):
        await drained(database)
    records = await published(kafka_broker, settings, expected=len(written) + 5)

    counts = id_counts(records)
    assert set(counts) == {w.id for w in written}
    first_batch = {w.id for w in written[:5]}
    assert counts == {w.id: 2 if w.id in first_batch else 1 for w in written}


async def test_stopping_finishes_the_batch_in_flight(
    database: Database, kafka_broker: Broker
) -> None:
    settings = relay_settings(database.url, kafka_broker.bootstrap)
    relay = Relay(database, settings)
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        warm_up = await _warmed_up(relay)
        with kafka_broker.outage():
            written = await write_events(database, accounts=2, per_account=2, one_transaction=True)
            await wait_until(lambda: _in_flight(relay, len(written)))  # waits for the broker
            stop.set()
            await asyncio.sleep(0.5)
            assert not task.done()  # still waiting for the acknowledgements
            assert await outbox_count(database) == len(written)
        await asyncio.wait_for(task, timeout=5)
    finally:
        stop.set()
        await asyncio.gather(task, return_exceptions=True)

    assert await outbox_count(database) == 0
    assert not relay.leading
    records = await published(kafka_broker, settings, expected=len(written) + 1)
    assert id_counts(records) == dict.fromkeys({w.id for w in written} | warm_up, 1)


async def _warmed_up(relay: Relay) -> set[str]:
    """Until the relay is connected: it has published a first row (whose id is returned)."""
    warm_up = await write_events(relay.db, accounts=1, per_account=1)
    await drained(relay.db)
    await wait_until(lambda: _published(relay, len(warm_up)))
    return {w.id for w in warm_up}


async def _published(relay: Relay, rows: int) -> bool:
    return relay.published == rows


async def _in_flight(relay: Relay, rows: int) -> bool:
    return relay.in_flight == rows


async def test_the_relay_retries_until_the_broker_is_reachable(
    database: Database, tmp_path: Path
) -> None:
    """No broker at first: the relay backs off and keeps every row; once a broker
    answers on that address it creates the topics and publishes everything once."""
    port = free_port()
    settings = relay_settings(database.url, f"127.0.0.1:{port}")
    written = await write_events(database, accounts=2, per_account=3)

    broker: Broker | None = None
    try:
        async with running(Relay(database, settings)) as relay_task:
            await asyncio.sleep(1.5)
            assert not relay_task.done()
            assert await outbox_ids(database) == [w.id for w in written]
            broker = start_broker(tmp_path, port=port)
            await drained(database)
        records = await published(broker, settings, expected=len(written))
        partitions = await ensure_topics(settings)
    finally:
        if broker is not None:
            broker.stop()

    assert id_counts(records) == dict.fromkeys((w.id for w in written), 1)
    assert set(partitions.values()) == {PARTITIONS}


async def test_stopping_gives_up_on_a_stalled_broker_after_the_grace_and_keeps_the_rows(
    database: Database, kafka_broker: Broker
) -> None:
    """A broker that does not answer within the shutdown grace: the relay exits anyway,
    deleting nothing; the next relay publishes every row (at least once: the broker
    may still have taken the abandoned request)."""
    settings = relay_settings(
        database.url, kafka_broker.bootstrap, relay_shutdown_grace_seconds=0.5
    )
    relay = Relay(database, settings)
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        warm_up = await _warmed_up(relay)
        with kafka_broker.outage():
            written = await write_events(database, accounts=2, per_account=2, one_transaction=True)
            await wait_until(lambda: _in_flight(relay, len(written)))
            stop.set()
            await asyncio.wait_for(task, timeout=5)
            assert await outbox_ids(database) == [w.id for w in written]
    finally:
        stop.set()
        await asyncio.gather(task, return_exceptions=True)

    async with running(Relay(database, settings)):
        await drained(database)
    records = await published(kafka_broker, settings, expected=len(written) + 1)
    assert set(id_counts(records)) == {w.id for w in written} | warm_up


async def test_stopping_while_connecting_to_a_stalled_broker_returns_at_once(
    database: Database, kafka_broker: Broker
) -> None:
    settings = relay_settings(database.url, kafka_broker.bootstrap)
    written = await write_events(database, accounts=1, per_account=2)
    relay = Relay(database, settings)
    stop = asyncio.Event()
    with kafka_broker.outage():
        task = asyncio.create_task(relay.run(stop))
        try:
            await asyncio.sleep(1)
            assert relay.leading
            assert not task.done()  # still connecting
            stop.set()
            await asyncio.wait_for(task, timeout=3)
        finally:
            stop.set()
            await asyncio.gather(task, return_exceptions=True)
    assert await outbox_ids(database) == [w.id for w in written]
