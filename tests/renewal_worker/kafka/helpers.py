"""What the Kafka worker tests share: settings with topics and a group of the test's own,
real accounts and contracts with their `contract.created` events, producing to the
broker, an in-process worker, a `renewals worker` subprocess, and counts of effects."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from sqlalchemy import func, select

from services.renewal_worker.sources.kafka import KafkaWorker, dlq_topic
from shared.config import Settings
from shared.db import Database
from shared.events.outbox import build_event
from shared.events.types import ENGINE_CONSUMER, SOURCE_API, EventType
from shared.models import Account, Checkpoint, Contract, ContractTerm, DeadLetter, InboxKey
from shared.runtime.kafka import ensure_topics
from tests.support.broker import unique_topics
from tests.support.cli import RENEWALS, settings_env

PARTITIONS = 3
EVENT_TIME = datetime(2026, 3, 1, tzinfo=UTC)


def worker_settings(db_url: str, bootstrap: str, **overrides: Any) -> Settings:
    """Short polls, backoff and session timeout; a topic and a group no other test uses;
    the idempotent producer on, as in production."""
    suffix = uuid.uuid4().hex[:10]
    values: dict[str, Any] = {
        "database_url": db_url,
        "kafka_bootstrap_servers": bootstrap,
        "kafka_partitions": PARTITIONS,
        **unique_topics("w"),
        "kafka_group_id": f"w.group.{suffix}",
        "webhooks_kafka_group_id": f"w.webhooks.{suffix}",
        "kafka_session_timeout_ms": 3000,
        "kafka_poll_timeout_ms": 200,
        "kafka_batch_size": 50,
        "worker_poll_seconds": 0.05,
        "worker_max_backoff_seconds": 0.5,
        "scheduler_interval_seconds": 0,
    }
    return Settings(**(values | overrides))


def worker_env(settings: Settings) -> dict[str, str]:
    """The environment of a `renewals worker` subprocess with these settings."""
    names = [
        "database_url",
        "kafka_bootstrap_servers",
        "kafka_topic",
        "kafka_notifications_topic",
        "kafka_partitions",
        "kafka_group_id",
        "webhooks_kafka_group_id",
        "kafka_session_timeout_ms",
        "kafka_poll_timeout_ms",
        "kafka_batch_size",
        "worker_poll_seconds",
        "worker_max_backoff_seconds",
        "scheduler_interval_seconds",
    ]
    return settings_env(settings, names, event_bus="kafka", log_format="json")


async def ensure_worker_topics(settings: Settings) -> None:
    await ensure_topics(settings, [settings.kafka_topic, dlq_topic(settings.kafka_topic)])


async def make_contracts(db: Database, n: int) -> list[Contract]:
    """`n` accounts with one contract each (its term 1), in one transaction."""
    contracts: list[Contract] = []
    async with db.transaction() as session:
        for i in range(n):
            account = Account(name=f"Account {i}", owner="am@vendor.example")
            session.add(account)
            await session.flush()
            contract = Contract(
                account_id=account.id,
                start_date=date(2026, 3, 15),
                end_date=date(2027, 3, 15),
                arr_minor=2_400_000,
                seats=50,
            )
            contract.terms = [
                ContractTerm(
                    number=1,
                    start_date=contract.start_date,
                    end_date=contract.end_date,
                    arr_minor=contract.arr_minor,
                )
            ]
            session.add(contract)
            contracts.append(contract)
    return contracts


def created_event(contract: Contract) -> dict[str, Any]:
    """The `contract.created` CloudEvent of a contract: the engine plans its checkpoints."""
    return build_event(
        type=EventType.CONTRACT_CREATED,
        source=SOURCE_API,
        subject=str(contract.id),
        data={"id": str(contract.id), "account_id": str(contract.account_id)},
        dataschema="urn:renewals:contract:1",
        actor="test",
        time=EVENT_TIME,
    )


def missing_account_event() -> dict[str, Any]:
    """A well-formed CloudEvent that makes the engine raise: its account does not exist."""
    account_id = str(uuid.uuid4())
    return build_event(
        type=EventType.ACCOUNT_UPDATED,
        source=SOURCE_API,
        subject=account_id,
        data={"id": account_id, "name": "Nobody"},
        dataschema="urn:renewals:account:1",
        actor="test",
        time=EVENT_TIME,
    )


def key_of(event: dict[str, Any]) -> str:
    data = event["data"]
    return str(data.get("account_id") or data.get("id"))


async def produce(
    bootstrap: str, topic: str, values: list[dict[str, Any] | bytes], *, key: str | None = None
) -> None:
    """Sends each value (a CloudEvent as JSON, or raw bytes) in order and waits for acks;
    keyed by the event's account id unless `key` is given."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all")
    await producer.start()
    try:
        acks = []
        for value in values:
            if isinstance(value, bytes):
                raw, record_key = value, key or "raw"
            else:
                raw, record_key = json.dumps(value).encode(), key or key_of(value)
            acks.append(await producer.send(topic, value=raw, key=record_key.encode()))
        await asyncio.gather(*acks)
    finally:
        await producer.stop()


async def committed_offsets(
    bootstrap: str, group: str, topic: str, partitions: int = PARTITIONS
) -> dict[int, int]:
    """The group's committed offset of each partition of the topic that has one (read
    without joining the group)."""
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await reader.start()
    try:
        found = {
            partition: await reader.committed(TopicPartition(topic, partition))
            for partition in range(partitions)
        }
    finally:
        await reader.stop()
    return {partition: offset for partition, offset in found.items() if offset is not None}


async def inbox_event_ids(db: Database) -> list[str]:
    async with db.read() as session:
        rows = await session.scalars(
            select(InboxKey.event_id).where(InboxKey.consumer == ENGINE_CONSUMER)
        )
        return list(rows.all())


async def checkpoints_per_contract(db: Database) -> Counter[str]:
    async with db.read() as session:
        rows = await session.execute(
            select(Checkpoint.contract_id, func.count()).group_by(Checkpoint.contract_id)
        )
        return Counter({str(contract_id): int(count) for contract_id, count in rows})


async def dead_letter_rows(db: Database) -> list[DeadLetter]:
    async with db.read() as session:
        return list((await session.scalars(select(DeadLetter).order_by(DeadLetter.id))).all())


async def wait_until(
    condition: Callable[[], Awaitable[bool]], *, timeout: float = 15.0, interval: float = 0.05
) -> None:
    deadline = time.monotonic() + timeout
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(interval)


async def wait_applied(db: Database, count: int, *, timeout: float = 15.0) -> None:
    async def done() -> bool:
        return len(await inbox_event_ids(db)) >= count

    await wait_until(done, timeout=timeout)


@asynccontextmanager
async def running(worker: KafkaWorker) -> AsyncIterator[asyncio.Task[None]]:
    """The worker's loop as a task, stopped (as SIGTERM would) at the end of the block."""
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        yield task
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(task, return_exceptions=True), timeout=20)


@contextmanager
def worker_process(settings: Settings, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`renewals worker` in the Kafka mode; killed at the end if still running."""
    with log.open("ab") as out:
        process = subprocess.Popen(
            [RENEWALS, "worker"], env=worker_env(settings), stdout=out, stderr=subprocess.STDOUT
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


async def make_contracts_with_ids(db: Database, ids: list[tuple[uuid.UUID, uuid.UUID]]) -> None:
    """Accounts and contracts (term 1) with the given (account id, contract id) pairs, so
    two databases can hold the same input."""
    async with db.transaction() as session:
        for i, (account_id, contract_id) in enumerate(ids):
            session.add(Account(id=account_id, name=f"Account {i}", owner="am@vendor.example"))
            await session.flush()
            contract = Contract(
                id=contract_id,
                account_id=account_id,
                start_date=date(2026, 3, 15),
                end_date=date(2027, 3, 15),
                arr_minor=2_400_000,
                seats=50,
            )
            contract.terms = [
                ContractTerm(
                    number=1,
                    start_date=contract.start_date,
                    end_date=contract.end_date,
                    arr_minor=contract.arr_minor,
                )
            ]
            session.add(contract)


async def checkpoint_plan(db: Database) -> list[tuple[str, str, int, int]]:
    """Every checkpoint as (contract, kind, term, ordinal), duplicates kept."""
    async with db.read() as session:
        rows = await session.execute(
            select(Checkpoint.contract_id, Checkpoint.kind, Checkpoint.term, Checkpoint.ordinal)
        )
        return [(str(c), str(k), int(t), int(o)) for c, k, t, o in rows]


def log_events(log: Path) -> list[dict[str, Any]]:
    """The JSON lines of a process log."""
    if not log.exists():
        return []
    lines = log.read_text(errors="replace").splitlines()
    events = []
    for line in lines:
        if line.startswith("{"):
            try:
                events.append(json.loads(line))
            except ValueError:  # a line cut short by SIGKILL
                continue
    return events


def assigned_partitions(log: Path) -> list[str] | None:
    """The partitions of the worker's latest assignment (None before the first)."""
    assignments = [e for e in log_events(log) if e.get("event") == "partitions_assigned"]
    return list(assignments[-1]["partitions"]) if assignments else None


@contextmanager
def relay_process(env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`renewals relay` with this environment; killed at the end if still running."""
    with log.open("ab") as out:
        process = subprocess.Popen(
            [RENEWALS, "relay"], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
