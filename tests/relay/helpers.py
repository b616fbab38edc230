"""What the relay tests share: fast settings, events written through `emit`, an
in-process relay, and reads of the outbox and the topics."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from aiokafka import ConsumerRecord
from sqlalchemy import func, select

from services.relay.relay import Relay
from shared.clock import utcnow
from shared.config import Settings
from shared.db import Database
from shared.events.outbox import emit
from shared.events.types import SOURCE_API, SOURCE_WORKER, EventType, Stream
from shared.models import OutboxEvent
from tests.support.broker import Broker, consume, unique_topics, value_of
from tests.support.cli import settings_env

PARTITIONS = 3


def relay_settings(db_url: str, bootstrap: str, **overrides: Any) -> Settings:
    """Short polls and backoff, topics of the test's own; the idempotent producer on, as
    in production."""
    values: dict[str, Any] = {
        "database_url": db_url,
        "kafka_bootstrap_servers": bootstrap,
        "kafka_partitions": PARTITIONS,
        "relay_poll_seconds": 0.05,
        "relay_standby_seconds": 0.2,
        "relay_max_backoff_seconds": 0.5,
        "relay_shutdown_grace_seconds": 5,
        "worker_lease_ttl_seconds": 2,
        **unique_topics(),
    }
    return Settings(**(values | overrides))


def relay_env(settings: Settings) -> dict[str, str]:
    """The environment of a `renewals relay` subprocess with these settings."""
    names = [
        "database_url",
        "kafka_bootstrap_servers",
        "kafka_topic",
        "kafka_notifications_topic",
        "kafka_partitions",
        "relay_poll_seconds",
        "relay_standby_seconds",
        "relay_max_backoff_seconds",
        "relay_shutdown_grace_seconds",
        "worker_lease_ttl_seconds",
    ]
    return settings_env(settings, names, log_format="json")


@dataclass(frozen=True)
class Written:
    """An event as written to the outbox."""

    id: str
    stream: str
    key: str


async def write_events(
    db: Database, *, accounts: int = 3, per_account: int = 4, one_transaction: bool = False
) -> list[Written]:
    """Lifecycle events and a notification per account, interleaved across accounts, one
    transaction per round (or all in one); returned in outbox (id) order."""
    keys = [str(uuid.uuid4()) for _ in range(accounts)]
    rounds = [[(n, key) for key in keys] for n in range(per_account)]
    transactions = [[pair for round in rounds for pair in round]] if one_transaction else rounds
    written: list[Written] = []
    for events in transactions:
        async with db.transaction() as session:
            for n, key in events:
                notification = n == per_account - 1
                event = emit(
                    session,
                    type=EventType.TASK_CREATED if notification else EventType.ACCOUNT_UPDATED,
                    source=SOURCE_WORKER if notification else SOURCE_API,
                    subject=key,
                    partition_key=key,
                    data={"n": n, "id": key},
                    dataschema="urn:renewals:account:1",
                    actor="test",
                    time=utcnow(),
                )
                stream = Stream.NOTIFICATIONS if notification else Stream.LIFECYCLE
                written.append(Written(event["id"], str(stream), key))
    return written


async def outbox_count(db: Database) -> int:
    async with db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(OutboxEvent)) or 0)


async def outbox_ids(db: Database) -> list[str]:
    async with db.read() as session:
        return list(
            (await session.scalars(select(OutboxEvent.event_id).order_by(OutboxEvent.id))).all()
        )


async def wait_until(
    condition: Callable[[], Awaitable[bool]], *, timeout: float = 10.0, interval: float = 0.05
) -> None:
    deadline = time.monotonic() + timeout
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(interval)


async def drained(db: Database, *, timeout: float = 10.0) -> None:
    async def empty() -> bool:
        return await outbox_count(db) == 0

    await wait_until(empty, timeout=timeout)


@asynccontextmanager
async def running(relay: Relay) -> AsyncIterator[asyncio.Task[None]]:
    """The relay's loop as a task, stopped (as SIGTERM would) at the end of the block."""
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        yield task
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(task, return_exceptions=True), timeout=15)


async def published(
    broker: Broker | str, settings: Settings, *, expected: int, timeout: float = 10.0
) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record on the test's two topics."""
    bootstrap = broker if isinstance(broker, str) else broker.bootstrap
    return await consume(
        bootstrap,
        [settings.kafka_topic, settings.kafka_notifications_topic],
        expected=expected,
        timeout=timeout,
    )


def id_counts(records: list[ConsumerRecord[bytes, bytes]]) -> Counter[str]:
    return Counter(str(value_of(record)["id"]) for record in records)
