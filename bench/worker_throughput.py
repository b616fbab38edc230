"""Worker: lifecycle events applied per second by one `renewals worker` on Kafka + Postgres."""

from __future__ import annotations

import asyncio
import json
import math
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bench.costs import (
    BackendCpu,
    PostgresProbe,
    Wal,
    Writes,
    cpu_seconds,
    kafka_log_bytes,
    per_event,
)
from bench.figures import Context, Figure
from bench.services import (
    Service,
    asyncpg_dsn,
    broker,
    free_port,
    fresh_database,
    settings_env,
    start_service,
)
from services.demo.generator import generate
from services.demo.load import load
from services.demo.year import apply_happenings
from services.relay.relay import OutboxRow, encode
from services.renewal_worker.sources.kafka import dlq_topic
from shared.db import Database
from shared.events.types import ENGINE_CONSUMER, Stream
from shared.models import DeadLetter, InboxKey, OutboxEvent, Task

SEED = 20_260_401
AS_OF = date(2026, 1, 5)
ACCOUNTS_FULL = 2000
ACCOUNTS_QUICK = 40
PARTITIONS = 6
BATCH_SIZE = 500
BATCH_SIZE_QUICK = 50
"""Several batches even at `--quick` sizes, so the steady rate has batches to count."""
TARGET = 5000.0
RSS_TARGET_MB = 300.0
POLL_SECONDS = 0.1
SEEDED_TABLES = ("event_log", "usage_reports", "contracts", "accounts", "stakeholders")
"""Tables the seeding wrote (as the API would) whose row sizes the capacity model needs."""
STATS_FLUSH_SECONDS = 1.0
"""The worker's backends report their row counts as they exit; a moment for the last."""
BACKEND_SAMPLE_SECONDS = 0.5
"""How often the Postgres backends serving the worker are listed (a pool opens more)."""
WORKER_TIMEOUT = 900.0
PROGRESS_SECONDS = 5.0
CURRENCY = "USD"


@dataclass(frozen=True)
class Workload:
    """The lifecycle events as the relay would publish them (key, value), in outbox order."""

    messages: list[tuple[bytes, bytes]]
    mix: Counter[str]


@dataclass(frozen=True)
class Run:
    """A consumer's pass over the workload: `events` in `seconds` of steady consuming (the
    raw consumer from its partitions' assignment, the worker from its first committed
    batch), so process start-up and joining the group are left out of both rates."""

    events: int
    seconds: float
    total_seconds: float
    cpu_seconds: float
    """The consumer's own CPU time over the same span: on a shared machine it says what
    an event costs when the wall clock also counts waiting for a busy core."""

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else math.nan

    @property
    def cpu_ms_per_event(self) -> float:
        return 1000 * self.cpu_seconds / self.events if self.events else math.nan


def _say(message: str) -> None:
    print(f"   worker: {message}", file=sys.stderr, flush=True)


async def seed_workload(url: str, accounts: int) -> Workload:
    """Loads the demo portfolio and lives its year through the service functions, so the
    outbox holds every lifecycle event the API would have written; then takes them out
    as the relay does. The worker finds the state the API left, as a lagging worker would."""
    portfolio = generate(accounts, SEED, AS_OF)
    db = Database(url)
    try:
        ids = await load(db, portfolio, CURRENCY)
        async with db.transaction() as session:
            await apply_happenings(session, ids, portfolio.happenings, CURRENCY)
        async with db.transaction() as session:
            rows = (
                await session.execute(
                    delete(OutboxEvent)
                    .where(OutboxEvent.stream == str(Stream.LIFECYCLE))
                    .returning(
                        OutboxEvent.id,
                        OutboxEvent.stream,
                        OutboxEvent.partition_key,
                        OutboxEvent.event,
                    )
                )
            ).all()
    finally:
        await db.dispose()
    ordered = sorted((OutboxRow(*row) for row in rows), key=lambda row: row.id)
    return Workload(
        messages=[encode(row) for row in ordered],
        mix=Counter(str(row.event["type"]) for row in ordered),
    )


async def produce(bootstrap: str, topic: str, messages: list[tuple[bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5
    )
    await producer.start()
    try:
        pending = [await producer.send(topic, value=value, key=key) for key, value in messages]
        await asyncio.gather(*pending)
    finally:
        await producer.stop()


class _Assigned(ConsumerRebalanceListener):  # type: ignore[misc]
    """Notes when the group handed the partitions over: fetching starts then."""

    def __init__(self) -> None:
        self.at: float | None = None

    async def on_partitions_revoked(self, _revoked: set[TopicPartition]) -> None:
        return None

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        if assigned and self.at is None:
            self.at = time.monotonic()


async def _raw_consume(bootstrap: str, topic: str, expected: int, batch_size: int) -> Run:
    """The building block alone: a consumer group member reading and committing each
    batch, as the worker does, with no decoding and no database."""
    started = time.monotonic()
    assigned = _Assigned()
    kafka = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=f"bench-raw-{uuid.uuid4().hex[:8]}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=batch_size,
    )
    kafka.subscribe([topic], listener=assigned)
    await kafka.start()
    cpu_started = time.process_time()
    seen = 0
    try:
        while seen < expected:
            if time.monotonic() - started > WORKER_TIMEOUT:
                raise RuntimeError(f"the raw consumer read {seen} of {expected} records")
            batch = await kafka.getmany(timeout_ms=1000, max_records=batch_size)
            if any(batch.values()):
                await kafka.commit(
                    {tp: items[-1].offset + 1 for tp, items in batch.items() if items}
                )
                seen += sum(len(items) for items in batch.values())
    finally:
        await kafka.stop()
    ended = time.monotonic()
    assert assigned.at is not None
    return Run(
        events=seen,
        seconds=ended - assigned.at,
        total_seconds=ended - started,
        cpu_seconds=time.process_time() - cpu_started,
    )


async def progress(session: AsyncSession) -> tuple[int, int]:
    """(events applied, events dead-lettered) so far."""
    applied = await session.scalar(
        select(func.count()).select_from(InboxKey).where(InboxKey.consumer == ENGINE_CONSUMER)
    )
    dead = await session.scalar(select(func.count()).select_from(DeadLetter))
    return int(applied or 0), int(dead or 0)


_PROGRESS = f"""
    SELECT (SELECT count(*) FROM {InboxKey.__tablename__} WHERE consumer = '{ENGINE_CONSUMER}')
         + (SELECT count(*) FROM {DeadLetter.__tablename__})
"""


async def _await_worker(
    probe: PostgresProbe, service: Service, expected: int, started: float
) -> tuple[Run, Run]:
    """Polls Postgres, through the probe's connection, until every event is in the inbox
    or dead-lettered. The steady rate counts from the first batch seen committed; when
    the first batch was all of it (`--quick`), from the process start instead. Answers
    the worker's run and its Postgres backends' (their CPU over the same span)."""
    first: tuple[float, int, float] | None = None
    said = sampled = started
    while True:
        done = int(await probe.connection.fetchval(_PROGRESS))
        now = time.monotonic()
        if done and first is None:
            first = (now, done, cpu_seconds(service.pid))
            probe.cpu = BackendCpu()
            await probe.sample(starting=True)
        if done >= expected:
            break
        if service.process.poll() is not None:
            raise RuntimeError(f"the worker exited: {service.log.read_text()[-800:]}")
        if now - started > WORKER_TIMEOUT:
            raise RuntimeError(f"the worker applied {done} of {expected} in time")
        if now - said >= PROGRESS_SECONDS:
            said = now
            _say(f"{done:,} / {expected:,} events applied")
        if now - sampled >= BACKEND_SAMPLE_SECONDS:
            sampled = now
            await probe.sample()
        await asyncio.sleep(POLL_SECONDS)
    cpu = cpu_seconds(service.pid)
    await probe.sample()
    ended = time.monotonic()
    assert first is not None
    at, counted, cpu_at = first
    if counted >= expected:
        worker = Run(expected, ended - started, ended - started, cpu)
    else:
        worker = Run(expected - counted, ended - at, ended - started, cpu - cpu_at)
    backends = Run(worker.events, worker.seconds, worker.total_seconds, probe.cpu.seconds)
    return worker, backends


async def create_topics(bootstrap: str, topics: list[str]) -> None:
    """Explicitly, with the worker's partition count: the broker would auto-create them
    with one partition at the first produce."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(name, num_partitions=PARTITIONS, replication_factor=1) for name in topics]
        )
    finally:
        await admin.close()


def worker_env(
    url: str, bootstrap: str, topic: str, metrics_port: int, batch_size: int
) -> dict[str, str]:
    return settings_env(
        url,
        event_bus="kafka",
        kafka_bootstrap_servers=bootstrap,
        kafka_topic=topic,
        kafka_notifications_topic=f"{topic}.notifications",
        kafka_group_id=f"bench-worker-{uuid.uuid4().hex[:8]}",
        webhooks_kafka_group_id=f"bench-webhooks-{uuid.uuid4().hex[:8]}",
        kafka_partitions=PARTITIONS,
        kafka_batch_size=batch_size,
        kafka_session_timeout_ms=10_000,
        scheduler_interval_seconds=0,
        worker_metrics_port=metrics_port,
        currency=CURRENCY,
    )


async def _measure(workdir: Path, accounts: int, batch_size: int) -> list[Figure]:
    async with fresh_database("worker") as url:
        _say(f"seeding a portfolio of {accounts:,} accounts and its year")
        seeding = time.monotonic()
        workload = await seed_workload(url, accounts)
        expected = len(workload.messages)
        _say(f"{expected:,} lifecycle events in {time.monotonic() - seeding:.0f} s")
        with broker(workdir) as running:
            topic = f"bench.lifecycle.{uuid.uuid4().hex[:8]}"
            await create_topics(
                running.bootstrap, [topic, dlq_topic(topic), f"{topic}.notifications"]
            )
            await produce(running.bootstrap, topic, workload.messages)
            _say("produced; raw aiokafka consumer reading them all")
            raw = await _raw_consume(running.bootstrap, topic, expected, batch_size)
            _say(f"raw consumer: {raw.rate:,.0f} records/s; starting `renewals worker`")
            log_bytes = kafka_log_bytes(running.data, topic)
            probe = await PostgresProbe.connect(asyncpg_dsn(url))
            try:
                writes_before = await probe.writes()
                await probe.start_wal()
                metrics_port = free_port()
                started = time.monotonic()
                service = start_service(
                    ["worker"],
                    worker_env(url, running.bootstrap, topic, metrics_port, batch_size),
                    workdir / "worker.log",
                    port=metrics_port,
                )
                try:
                    worker, backends = await _await_worker(probe, service, expected, started)
                finally:
                    peak = service.stop()
                await probe.sample()
                await asyncio.sleep(STATS_FLUSH_SECONDS)
                writes = (await probe.writes()).minus(writes_before)
                row_bytes = await probe.bytes_per_row([*writes.tables, *SEEDED_TABLES])
            finally:
                await probe.close()
            db = Database(url)
            try:
                async with db.read() as session:
                    _applied, dead_lettered = await progress(session)
                    tasks = await session.scalar(select(func.count()).select_from(Task))
            finally:
                await db.dispose()
    details = {
        "events": expected,
        "event_mix": dict(workload.mix.most_common()),
        "tasks_written": int(tasks or 0),
        "dead_lettered": dead_lettered,
        "seconds": round(worker.seconds, 2),
        "seconds_with_start_up": round(worker.total_seconds, 2),
        "raw_seconds": round(raw.seconds, 2),
        "worker_cpu_ms_per_event": round(worker.cpu_ms_per_event, 3),
        "raw_cpu_ms_per_event": round(raw.cpu_ms_per_event, 4),
        "partitions": PARTITIONS,
        "batch_size": batch_size,
        "accounts": accounts,
        "per_event": _per_event_costs(
            workload, expected, worker, backends, writes, probe.wal, log_bytes
        ),
        "bytes_per_row": row_bytes,
    }
    _say(f"per event: {json.dumps(details['per_event'])}")
    _say(f"bytes per row: {json.dumps(details['bytes_per_row'])}")
    return [
        Figure(
            key="c",
            title="Worker: lifecycle events applied with tasks written",
            value=round(worker.rate, 1),
            unit="events/s",
            target="≥ 5,000 events/s",
            met=worker.rate >= TARGET,
            baseline=round(raw.rate, 1),
            baseline_label="raw aiokafka consume",
            details=details,
        ),
        Figure(
            key="f.worker",
            title="Peak RSS of the worker under load",
            value=round(peak, 1),
            unit="MB",
            target="< 300 MB",
            met=peak < RSS_TARGET_MB,
            details={"events": expected, "accounts": accounts},
        ),
    ]


def _per_event_costs(
    workload: Workload,
    events: int,
    worker: Run,
    backends: Run,
    writes: Writes,
    wal: Wal | None,
    log_bytes: int,
) -> dict[str, object]:
    """What one event of the workload cost (see `bench.costs`): the inputs of the
    capacity model in docs/scaling.md."""
    record_bytes = sum(len(key) + len(value) for key, value in workload.messages)
    return {
        "worker_cpu_ms": round(worker.cpu_ms_per_event, 3),
        "postgres_backend_cpu_ms": round(backends.cpu_ms_per_event, 3),
        "rows": {
            table: {
                kind: per_event(count, events)
                for kind, count in zip(("inserted", "updated", "deleted"), counts, strict=True)
                if count
            }
            for table, counts in sorted(writes.tables.items())
        },
        "wal_bytes": None
        if wal is None
        else {
            "server": per_event(wal.server, events, 1),
            "database": per_event(wal.database, events, 1) if wal.complete else None,
            "full_page_images": per_event(wal.full_page_images, events, 1)
            if wal.complete
            else None,
        },
        "wal_records": per_event(wal.records, events, 2) if wal and wal.complete else None,
        "kafka_record_bytes": per_event(record_bytes, events, 1),
        "kafka_log_bytes": per_event(log_bytes, events, 1),
    }


async def run(context: Context) -> list[Figure]:
    accounts = ACCOUNTS_QUICK if context.quick else ACCOUNTS_FULL
    batch_size = BATCH_SIZE_QUICK if context.quick else BATCH_SIZE
    return await _measure(context.workdir, accounts, batch_size)
