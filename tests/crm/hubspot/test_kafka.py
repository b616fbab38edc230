"""Distributed mode: a task notification on the notifications topic, delivered twice,
reaches HubSpot once through the dispatchers' consumer group and the syncer, composed as
`renewals worker` composes them."""

from __future__ import annotations

import asyncio
import json

import pytest
from aiokafka import AIOKafkaProducer

from services.crm_sync.runner import CrmSync
from services.outbound_webhooks import runner as webhooks
from shared.clock import utcnow
from shared.config import Settings
from shared.db import Database
from shared.domain.tasks.notifications import task_event_data
from shared.events.outbox import build_event
from shared.events.types import SOURCE_WORKER, EventType, dataschema
from shared.runtime.kafka import ensure_topics
from tests.crm.fakes.hubspot import TOKEN, FakeHubSpot
from tests.crm.hubspot.conftest import FAST, OWNER, eventually
from tests.support.broker import Broker, unique_topics
from tests.support.factories import make_account, make_contract, make_task

pytestmark = pytest.mark.kafka


async def test_a_task_notification_from_kafka_reaches_hubspot_once(
    postgres_database: Database, kafka_broker: Broker, hubspot: FakeHubSpot
) -> None:
    db = postgres_database
    settings = Settings(
        database_url=db.url,
        hubspot_access_token=TOKEN,
        hubspot_api_url=hubspot.url,
        event_bus="kafka",
        kafka_bootstrap_servers=kafka_broker.bootstrap,
        kafka_partitions=2,
        kafka_session_timeout_ms=3000,
        kafka_poll_timeout_ms=100,
        webhooks_kafka_group_id="crm-test",
        **FAST,
        **unique_topics("crm"),
    )
    account = await make_account(db, external_ids={"hubspot": hubspot.add_company()})
    contract = await make_contract(db, account)
    task = await make_task(db, contract, owner=OWNER)
    event = build_event(
        type=EventType.TASK_CREATED,
        source=SOURCE_WORKER,
        subject=str(task.id),
        data=task_event_data(task),
        dataschema=dataschema("task"),
        actor="worker",
        time=utcnow(),
    )
    await ensure_topics(settings, [settings.kafka_notifications_topic])
    producer = AIOKafkaProducer(bootstrap_servers=kafka_broker.bootstrap, enable_idempotence=True)
    await producer.start()
    try:
        for _ in range(2):  # a redelivery
            await producer.send_and_wait(
                settings.kafka_notifications_topic,
                json.dumps(event).encode(),
                key=str(task.account_id).encode(),
            )
    finally:
        await producer.stop()

    crm = CrmSync(db, settings)
    stop = asyncio.Event()
    loops = [
        asyncio.create_task(webhooks.run(db, settings, stop, on_crm_syncs=crm.wake)),
        asyncio.create_task(crm.run(stop)),
    ]
    try:

        async def pushed() -> bool:
            return str(task.id) in hubspot.ours()

        await eventually(pushed, timeout=30)
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(*loops), timeout=15)
    assert hubspot.requests.count(("POST", "/crm/v3/objects/tasks")) == 1
