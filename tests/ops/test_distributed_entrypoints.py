"""`renewals relay` and `renewals worker` on the Kafka bus, as the image runs them: their
health/metrics port answers `/livez`, `/readyz` (database and broker) and `/metrics`,
events flow outbox -> relay -> Kafka -> worker, and both exit 0 on SIGTERM."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from shared.db import Database
from shared.models import OutboxEvent
from tests.ops.processes import image_env, planted_secrets, running, scrape, start, value
from tests.support.api import open_harness
from tests.support.broker import Broker, unique_topics

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

ACCOUNTS = 5


async def test_relay_and_kafka_worker_serve_probes_and_metrics_and_exit_0_on_sigterm(
    postgres_db_url: str, kafka_broker: Broker, tmp_path: Path
) -> None:
    suffix = uuid.uuid4().hex[:8]
    env = image_env(
        postgres_db_url,
        event_bus="kafka",
        kafka_bootstrap_servers=kafka_broker.bootstrap,
        kafka_partitions="3",
        kafka_group_id=f"ops.{suffix}",
        kafka_session_timeout_ms="3000",
        kafka_poll_timeout_ms="200",
        relay_poll_seconds="0.05",
        scheduler_interval_seconds="0",
        **unique_topics("ops"),
    )
    relay = start("relay", env, tmp_path, port_setting="RELAY_METRICS_PORT")
    worker = start("worker", env, tmp_path, port_setting="WORKER_METRICS_PORT")
    async with running(relay, worker), open_harness(postgres_db_url) as api:
        await asyncio.gather(relay.wait_ready(), worker.wait_ready())
        for i in range(ACCOUNTS):
            created = await api.client.post("/v1/accounts", json={"name": f"Initech {i}"})
            assert created.status_code == 201

        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        applied = 0.0
        while applied < ACCOUNTS:
            assert loop.time() < deadline, f"{applied} of {ACCOUNTS}: {worker.tail()}"
            await asyncio.sleep(0.2)
            worker_metrics = await scrape(worker.url)
            applied = value(worker_metrics, "renewals_events_processed_total",
                            type="account.created", outcome="applied")  # fmt: skip
        relay_metrics = await scrape(relay.url)
        assert ("renewals_outbox_backlog", frozenset()) in relay_metrics
        assert ("renewals_outbox_oldest_age_seconds", frozenset()) in relay_metrics

        assert await asyncio.gather(relay.stop(), worker.stop()) == [0, 0]

    db = Database(postgres_db_url)
    try:
        async with db.read() as session:
            waiting = select(func.count()).select_from(OutboxEvent)
            assert await session.scalar(waiting.where(OutboxEvent.stream == "lifecycle")) == 0
    finally:
        await db.dispose()
    for process in (relay, worker):
        assert process.log_events()  # every line is JSON
        assert not any(secret in process.log.read_text() for secret in planted_secrets())
    assert any(e["event"] == "relay_stopped" for e in relay.log_events())
    assert any(e["event"] == "consumer_stopped" for e in worker.log_events())
