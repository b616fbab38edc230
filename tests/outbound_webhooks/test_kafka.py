"""Distributed mode: a task notification on the notifications topic reaches the endpoint
through the dispatchers' consumer group and the sender, signed."""

from __future__ import annotations

import json

import pytest
from aiokafka import AIOKafkaProducer

from services.outbound_webhooks import runner
from shared.clock import utcnow
from shared.events.outbox import build_event
from shared.events.types import SOURCE_WORKER, EventType, dataschema
from shared.runtime.kafka import ensure_topics
from tests.outbound_webhooks.conftest import FAST, running
from tests.outbound_webhooks.helpers import settled, subscribe, task_data
from tests.outbound_webhooks.receiver import Receiver
from tests.support.api import open_harness
from tests.support.broker import Broker, unique_topics

pytestmark = pytest.mark.kafka


async def test_a_notification_from_kafka_is_delivered(
    postgres_db_url: str, kafka_broker: Broker, receiver: Receiver
) -> None:
    overrides = (
        FAST
        | unique_topics("wh")
        | {
            "event_bus": "kafka",
            "kafka_bootstrap_servers": kafka_broker.bootstrap,
            "kafka_partitions": 2,
            "kafka_session_timeout_ms": 3000,
            "kafka_poll_timeout_ms": 100,
            "webhooks_kafka_group_id": "wh-test",
        }
    )
    async with open_harness(postgres_db_url, **overrides) as harness:
        subscription = await subscribe(harness, receiver.url)
        settings = harness.settings
        await ensure_topics(settings, [settings.kafka_notifications_topic])
        data = task_data()
        event = build_event(
            type=EventType.TASK_CREATED,
            source=SOURCE_WORKER,
            subject=data["id"],
            data=data,
            dataschema=dataschema("task"),
            actor="worker",
            time=utcnow(),
        )
        producer = AIOKafkaProducer(
            bootstrap_servers=kafka_broker.bootstrap, enable_idempotence=True
        )
        await producer.start()
        try:
            for value in (event, event, "not json"):  # a redelivery and garbage
                raw = value.encode() if isinstance(value, str) else json.dumps(value).encode()
                await producer.send_and_wait(
                    settings.kafka_notifications_topic, raw, key=data["account_id"].encode()
                )
        finally:
            await producer.stop()
        async with running(lambda stop: runner.run(harness.db, settings, stop)):
            [request] = await receiver.wait_for(1, timeout=20)
            [logged] = await settled(harness, subscription["id"])
    assert request.verify(subscription["secret"]) == event
    assert logged["status"] == "delivered"
    assert logged["event_id"] == event["id"]
