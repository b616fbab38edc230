"""Worker scale-out (figure h): lifecycle events applied per second by two `renewals worker`
processes in one consumer group against one process, on the same events of a
6-partition topic in the same run."""

from __future__ import annotations

import asyncio
import math
import sys
import time
import uuid
from dataclasses import dataclass, replace
from pathlib import Path

import httpx

from bench.costs import cpu_seconds
from bench.figures import Context, Figure
from bench.services import (
    Service,
    broker,
    cloned_database,
    free_port,
    fresh_database,
    start_service,
    wait_for_port,
)
from bench.worker_throughput import (
    ACCOUNTS_FULL,
    ACCOUNTS_QUICK,
    BATCH_SIZE,
    BATCH_SIZE_QUICK,
    PARTITIONS,
    POLL_SECONDS,
    WORKER_TIMEOUT,
    create_topics,
    produce,
    progress,
    seed_workload,
    worker_env,
)
from services.renewal_worker.sources.kafka import dlq_topic
from shared.db import Database

WORKERS = 2
PROCESSED = "renewals_events_processed_total"
"""The worker's counter of the events it finished with (applied, duplicate or
dead-lettered), read from each process's /metrics."""
SAMPLE_PREFIXES = (f"{PROCESSED}{{", f"{PROCESSED} ")


def processed(exposition: str) -> int:
    """The sum over every label set of `PROCESSED` in a Prometheus text exposition."""
    samples = (line for line in exposition.splitlines() if line.startswith(SAMPLE_PREFIXES))
    return int(sum(float(line.rsplit(" ", 1)[1]) for line in samples))


@dataclass(frozen=True)
class Pass:
    """One pass of `workers` processes over the workload. `events` in `seconds` count
    from the first poll at which every process had finished a batch, so start-up and
    the group's rebalances as members join are left out (the whole pass when one process
    finished everything before the last had started: `--quick` sizes)."""

    workers: int
    events: int
    seconds: float
    total_seconds: float
    cpu_seconds: float
    per_worker: list[int]
    peak_rss_mb: list[float]

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else math.nan

    @property
    def cpu_ms_per_event(self) -> float:
        return 1000 * self.cpu_seconds / self.events if self.events else math.nan


def _say(message: str) -> None:
    print(f"   scale-out: {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Setup:
    """What every pass shares: the seeded database it copies, the topic holding the
    workload, and the worker's batch size."""

    template: str
    bootstrap: str
    topic: str
    expected: int
    batch_size: int
    workdir: Path


def _start(workers: int, env: dict[str, str], workdir: Path) -> list[Service]:
    """Starts every process without waiting for any, so they join the group together."""
    services: list[Service] = []
    for index in range(workers):
        port = free_port()
        log = workdir / f"worker-{workers}-{index}.log"
        started = start_service(["worker"], {**env, "RENEWALS_WORKER_METRICS_PORT": str(port)}, log)
        services.append(replace(started, port=port))
    return services


async def _counts(client: httpx.AsyncClient, services: list[Service]) -> list[int]:
    answers = [await client.get(f"http://127.0.0.1:{s.port}/metrics") for s in services]
    return [processed(answer.text) for answer in answers]


async def _watch(db: Database, services: list[Service], expected: int, started: float) -> Pass:
    """Polls Postgres until every event is applied or dead-lettered, and each process's
    counter until the window opens (a scrape costs the worker CPU)."""
    window: tuple[float, int, float] | None = None
    async with httpx.AsyncClient(timeout=5) as client:
        while True:
            async with db.read() as session:
                done = sum(await progress(session))
            now = time.monotonic()
            if window is None and all(await _counts(client, services)):
                window = (now, done, sum(cpu_seconds(s.pid) for s in services))
            if done >= expected:
                break
            for service in services:
                if service.process.poll() is not None:
                    raise RuntimeError(f"a worker exited: {service.log.read_text()[-800:]}")
            if now - started > WORKER_TIMEOUT:
                raise RuntimeError(f"{len(services)} worker(s) applied {done} of {expected}")
            await asyncio.sleep(POLL_SECONDS)
        cpu = sum(cpu_seconds(s.pid) for s in services)
        ended = time.monotonic()
        counts = await _counts(client, services)
    at, counted, cpu_at = window if window is not None else (started, 0, 0.0)
    if counted >= expected:
        at, counted, cpu_at = started, 0, 0.0
    return Pass(
        workers=len(services),
        events=expected - counted,
        seconds=ended - at,
        total_seconds=ended - started,
        cpu_seconds=cpu - cpu_at,
        per_worker=counts,
        peak_rss_mb=[],
    )


async def _pass(setup: Setup, workers: int) -> Pass:
    """`workers` processes in a new consumer group, on a copy of the seeded database."""
    async with cloned_database(setup.template, "scaleout") as url:
        env = worker_env(url, setup.bootstrap, setup.topic, 0, setup.batch_size)
        started = time.monotonic()
        services = _start(workers, env, setup.workdir)
        db = Database(url)
        try:
            for service in services:
                assert service.port is not None
                wait_for_port(service.port, service.process)
            measured = await _watch(db, services, setup.expected, started)
        finally:
            peaks = [service.stop() for service in services]
            await db.dispose()
    _say(
        f"{workers} worker(s): {measured.rate:,.0f} events/s, "
        f"{measured.per_worker} events per process"
    )
    return replace(measured, peak_rss_mb=peaks)


def _best(passes: list[Pass], workers: int) -> Pass:
    return max((p for p in passes if p.workers == workers), key=lambda p: p.rate)


async def run(context: Context) -> list[Figure]:
    accounts = ACCOUNTS_QUICK if context.quick else ACCOUNTS_FULL
    batch_size = BATCH_SIZE_QUICK if context.quick else BATCH_SIZE
    rounds = 1 if context.quick else 2
    async with fresh_database("scaleout") as template:
        _say(f"seeding a portfolio of {accounts:,} accounts and its year")
        workload = await seed_workload(template, accounts)
        expected = len(workload.messages)
        with broker(context.workdir) as running:
            topic = f"bench.lifecycle.{uuid.uuid4().hex[:8]}"
            await create_topics(
                running.bootstrap, [topic, dlq_topic(topic), f"{topic}.notifications"]
            )
            await produce(running.bootstrap, topic, workload.messages)
            _say(f"{expected:,} events produced; 1 and {WORKERS} workers take turns")
            setup = Setup(template, running.bootstrap, topic, expected, batch_size, context.workdir)
            passes = [
                await _pass(setup, workers) for _ in range(rounds) for workers in (1, WORKERS)
            ]
    one, many = _best(passes, 1), _best(passes, WORKERS)
    return [
        Figure(
            key="h",
            title=f"Worker scale-out: {WORKERS} processes, {PARTITIONS}-partition topic",
            value=round(many.rate, 1),
            unit="events/s",
            target="",
            met=None,
            baseline=round(one.rate, 1),
            baseline_label="1 worker process, same events",
            details={
                "events": expected,
                "rounds": rounds,
                "seconds": round(many.seconds, 2),
                "baseline_seconds": round(one.seconds, 2),
                "events_per_process": many.per_worker,
                "cpu_ms_per_event": round(many.cpu_ms_per_event, 3),
                "baseline_cpu_ms_per_event": round(one.cpu_ms_per_event, 3),
                "peak_rss_mb": [round(rss, 1) for rss in many.peak_rss_mb],
                "partitions": PARTITIONS,
                "batch_size": batch_size,
                "accounts": accounts,
            },
        )
    ]
