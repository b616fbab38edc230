"""What only a real Apache Kafka can show: the broker killed (SIGKILL) and started again on
its data dir while the API writes and a worker consumes; and a worker's clean stop
handing its partitions to the other member of the group at once (LeaveGroup), long
before the session timeout would."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from shared.db import Database
from tests.relay.helpers import drained
from tests.renewal_worker.kafka.distributed import (
    assert_planned_once,
    create_through_api,
    distributed_settings,
    relay_env_for,
)
from tests.renewal_worker.kafka.helpers import (
    PARTITIONS,
    assigned_partitions,
    created_event,
    dead_letter_rows,
    ensure_worker_topics,
    inbox_event_ids,
    make_contracts,
    produce,
    relay_process,
    wait_applied,
    wait_until,
    worker_process,
    worker_settings,
)
from tests.support.api import open_harness
from tests.support.broker import Broker

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]


@pytest.mark.slow
@pytest.mark.timeout(240)  # about 30 s; the waits allow for a slow rejoin on a loaded machine
async def test_a_broker_killed_and_restarted_on_its_data_loses_and_duplicates_nothing(
    postgres_db_url: str, own_broker: Broker, tmp_path: Path
) -> None:
    settings = distributed_settings(postgres_db_url, own_broker.bootstrap)
    async with open_harness(postgres_db_url) as api:
        with (
            relay_process(relay_env_for(settings), tmp_path / "relay.log"),
            worker_process(settings, tmp_path / "worker.log"),
        ):
            contracts = await create_through_api(api, 3)
            await wait_applied(api.db, 6, timeout=30)

            during: list[dict[str, Any]] = []
            own_broker.kill()
            for _ in range(5):
                during.extend(await create_through_api(api, 1))
                await asyncio.sleep(0.5)
            own_broker.start()  # the same data dir and ports
            for _ in range(5):
                during.extend(await create_through_api(api, 1))
                await asyncio.sleep(0.2)
            contracts += during

            await wait_applied(api.db, 2 * len(contracts), timeout=90)
            await drained(api.db, timeout=15)

        ids = await inbox_event_ids(api.db)
        assert len(ids) == len(set(ids)) == 2 * len(contracts)
        await assert_planned_once(api.db, {c["id"] for c in contracts})
        assert await dead_letter_rows(api.db) == []
    assert own_broker.starts == 2


async def test_a_stopping_worker_hands_its_partitions_over_in_under_3_s(
    postgres_db_url: str, own_broker: Broker, tmp_path: Path
) -> None:
    """Sessions of 10 s: a takeover in under 3 s can only come from the LeaveGroup."""
    database = Database(postgres_db_url)
    try:
        settings = worker_settings(
            database.url, own_broker.bootstrap, kafka_session_timeout_ms=10_000
        )
        await ensure_worker_topics(settings)
        first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
        with (
            worker_process(settings, first_log) as first,
            worker_process(settings, second_log),
        ):

            async def split() -> bool:
                found = [assigned_partitions(log) or [] for log in (first_log, second_log)]
                return all(found) and sum(len(p) for p in found) == PARTITIONS

            await wait_until(split, timeout=40, interval=0.1)
            before = [*(assigned_partitions(first_log) or [])]

            first.send_signal(signal.SIGTERM)
            stopped_at = time.monotonic()

            async def taken_over() -> bool:
                return len(assigned_partitions(second_log) or []) == PARTITIONS

            await wait_until(taken_over, timeout=15, interval=0.02)
            handover = time.monotonic() - stopped_at
            assert await asyncio.to_thread(first.wait, 15) == 0

            events = [created_event(c) for c in await make_contracts(database, 6)]
            await produce(own_broker.bootstrap, settings.kafka_topic, list(events))
            await wait_applied(database, len(events), timeout=30)

        assert before, "the first worker held partitions before it stopped"
        assert handover < 3, f"partitions moved after {handover:.1f} s"
        assert sorted(await inbox_event_ids(database)) == sorted(e["id"] for e in events)
    finally:
        await database.dispose()
