"""Event → task latency (figure d) at a steady 1,000 events/s: usage reports, each making
an expansion task, sent to `POST /v1/events/batch` in batches of 20 and timed from the
202 to the task committed, in distributed mode (Postgres, relay, broker, worker) and in
embedded mode (`renewals dev` on SQLite); then again at a light 100 events/s."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from bench import load, seed
from bench.figures import Context, Figure
from bench.ingest import TERM_START, usage_event
from bench.services import (
    Service,
    broker,
    free_port,
    fresh_database,
    settings_env,
    start_service,
)
from shared.db import Database
from shared.db.migrate import upgrade
from shared.models import Task

RATE = 1000.0
LIGHT_RATE = 100.0
BATCH = 20
POLL_SECONDS = 0.02
SETTLE_TIMEOUT = 60.0
EXPANSION = "expansion_opportunity"


@dataclass
class Watch:
    """When each event was sent and when its task was first seen committed."""

    sent: dict[uuid.UUID, float] = field(default_factory=dict)
    seen: dict[uuid.UUID, float] = field(default_factory=dict)
    late: int = 0

    def latencies(self) -> list[float]:
        return sorted(self.seen[c] - self.sent[c] for c in self.seen if c in self.sent)


async def _poll_tasks(db: Database, watch: Watch, stop: asyncio.Event) -> None:
    """Reads new expansion tasks every `POLL_SECONDS`; a task is seen at the first poll
    that finds it, so the figure includes up to one poll interval of delay. Task ids are
    time-ordered and one consumer commits them in order, so the id is the cursor; a task
    committed behind the cursor is found by the final sweep (`late`) and counted then."""
    loop = asyncio.get_running_loop()
    cursor = uuid.UUID(int=0)
    while not stop.is_set():
        async with db.read() as session:
            rows = (
                await session.execute(
                    select(Task.id, Task.contract_id)
                    .where(Task.kind == EXPANSION, Task.id > cursor)
                    .order_by(Task.id)
                )
            ).all()
        now = loop.time()
        for task_id, contract_id in rows:
            watch.seen.setdefault(contract_id, now)
            cursor = max(cursor, task_id)
        await asyncio.sleep(POLL_SECONDS)
    async with db.read() as session:
        every = await session.scalars(select(Task.contract_id).where(Task.kind == EXPANSION))
        now = loop.time()
        for contract_id in every:
            if contract_id not in watch.seen:
                watch.seen[contract_id] = now
                watch.late += 1


@dataclass
class Run:
    """One steady-rate run: the API's answers and each event's latency to its task."""

    api: load.Outcome
    watch: Watch

    def __post_init__(self) -> None:
        self.latencies = self.watch.latencies()

    @property
    def events(self) -> int:
        return len(self.watch.sent)

    @property
    def complete(self) -> bool:
        """Every request accepted and every accepted event's task seen."""
        return set(self.api.statuses) == {202} and len(self.latencies) == self.events

    def percentile(self, fraction: float) -> float:
        if not self.latencies:
            return float("inf")
        return self.latencies[min(len(self.latencies) - 1, int(fraction * len(self.latencies)))]


@dataclass
class Measured:
    at_rate: Run
    light: Run
    rss: dict[str, float]


async def _measure(
    url: str, contracts: list[uuid.UUID], key: str, port: int, rate: float, seconds: float
) -> Run:
    """Sends `rate` events/s for `seconds` as batches of `BATCH` (one contract each) and
    times each event from its 202 to its task."""
    watch = Watch()
    run_id = uuid.uuid4().hex[:8]
    headers = {"Authorization": f"Bearer {key}"}

    def batch(index: int) -> list[uuid.UUID]:
        return contracts[index * BATCH : (index + 1) * BATCH]

    def make(index: int) -> bytes:
        events = []
        for number, contract in enumerate(batch(index), start=index * BATCH):
            event = usage_event(run_id, number, contract)
            event["data"] = {**event["data"], "active_users": 95}  # type: ignore[dict-item]
            events.append(event)
        return load.request_bytes("/v1/events/batch", json.dumps(events).encode(), headers)

    def answered(index: int, status: int, now: float) -> None:
        if status == 202:
            watch.sent.update(dict.fromkeys(batch(index), now))

    db = Database(url)
    stop = asyncio.Event()
    poller = asyncio.create_task(_poll_tasks(db, watch, stop))
    loop = asyncio.get_running_loop()
    try:
        outcome = await load.open_loop(
            port, make, rate=rate / BATCH, seconds=seconds, connections=16, answered=answered
        )
        deadline = loop.time() + SETTLE_TIMEOUT
        while watch.sent.keys() - watch.seen.keys() and loop.time() < deadline:
            await asyncio.sleep(0.1)
    finally:
        stop.set()
        await poller
        await db.dispose()
    return Run(outcome, watch)


@contextlib.contextmanager
def _running(services: list[Service]) -> Iterator[dict[str, float]]:
    """Stops the services at the end; the dict fills with each one's peak RSS."""
    rss: dict[str, float] = {}
    try:
        yield rss
    finally:
        for service in reversed(services):
            rss[service.log.stem] = service.stop()


async def _sqlite(workdir: Path) -> str:
    """A migrated SQLite file of its own: embedded mode's database."""
    url = f"sqlite+aiosqlite:///{workdir / 'embedded.db'}"
    await upgrade(url)
    return url


async def _prepare(url: str, count: int) -> tuple[list[uuid.UUID], str]:
    db = Database(url)
    try:
        contracts = await seed.contracts(
            db, count, start=TERM_START, end=TERM_START + timedelta(days=365)
        )
        return contracts, await seed.api_key(db)
    finally:
        await db.dispose()


async def _both_rates(
    url: str, contracts: list[uuid.UUID], key: str, port: int, seconds: float
) -> tuple[Run, Run]:
    """The target rate, then a light one showing the floor of the pipeline's latency."""
    heavy = int(RATE * seconds)
    at_rate = await _measure(url, contracts[:heavy], key, port, RATE, seconds)
    light = await _measure(url, contracts[heavy:], key, port, LIGHT_RATE, seconds)
    return at_rate, light


def _contracts_needed(seconds: float) -> int:
    return int((RATE + LIGHT_RATE) * seconds)


async def distributed(context: Context, seconds: float) -> Measured:
    async with fresh_database("latency") as url:
        contracts, key = await _prepare(url, _contracts_needed(seconds))
        with broker(context.workdir) as running_broker:
            suffix = uuid.uuid4().hex[:8]
            common = settings_env(
                url,
                event_bus="kafka",
                kafka_bootstrap_servers=running_broker.bootstrap,
                kafka_topic=f"bench.lifecycle.{suffix}",
                kafka_notifications_topic=f"bench.notifications.{suffix}",
                kafka_session_timeout_ms=3000,
                scheduler_interval_seconds=0,
            )
            port = free_port()
            workdir = context.workdir
            relay = start_service(["relay"], common, workdir / "relay.log")
            worker = start_service(["worker"], common, workdir / "worker.log")
            api = start_service(
                ["api"],
                {**common, "RENEWALS_API_HOST": "127.0.0.1", "RENEWALS_API_PORT": str(port)},
                workdir / "api.log",
                port=port,
            )
            with _running([relay, worker, api]) as rss:
                await asyncio.sleep(3)  # the worker joins its group
                at_rate, light = await _both_rates(url, contracts, key, port, seconds)
    return Measured(at_rate, light, rss)


async def embedded(context: Context, seconds: float) -> Measured:
    url = await _sqlite(context.workdir)
    contracts, key = await _prepare(url, _contracts_needed(seconds))
    port = free_port()
    dev = start_service(
        ["dev"],
        settings_env(url, api_host="127.0.0.1", api_port=port, scheduler_interval_seconds=0),
        context.workdir / "dev.log",
        port=port,
    )
    with _running([dev]) as rss:
        at_rate, light = await _both_rates(url, contracts, key, port, seconds)
    return Measured(at_rate, light, rss)


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def _figure(key: str, mode: str, measured: Measured, limit: float) -> Figure:
    at_rate, light = measured.at_rate, measured.light
    return Figure(
        key=key,
        title=f"Event → task latency p99 at {RATE:,.0f} events/s, {mode}",
        value=_ms(at_rate.percentile(0.99)),
        unit="ms",
        target=f"< {limit * 1000:.0f} ms",
        met=at_rate.complete and at_rate.percentile(0.99) < limit,
        baseline=_ms(at_rate.api.percentile(0.99)),
        baseline_label="p99 of the API's 202 for the same events",
        details={
            "p50_ms": _ms(at_rate.percentile(0.5)),
            "events": at_rate.events,
            "tasks_seen": len(at_rate.latencies),
            "tasks_found_only_after_the_run": at_rate.watch.late,
            "achieved_events_per_s": round(at_rate.api.rate * BATCH),
            "answers": {str(code): n for code, n in sorted(at_rate.api.statuses.items())},
            f"at_{LIGHT_RATE:.0f}_events_per_s": {
                "p50_ms": _ms(light.percentile(0.5)),
                "p99_ms": _ms(light.percentile(0.99)),
                "complete": light.complete,
                "answers": {str(code): n for code, n in sorted(light.api.statuses.items())},
            },
            "events_per_batch": BATCH,
            "poll_interval_ms": _ms(POLL_SECONDS),
            "peak_rss_mb": {name: round(value, 1) for name, value in measured.rss.items()},
        },
    )


async def run(context: Context) -> list[Figure]:
    seconds = 2.0 if context.quick else 10.0
    spread = await distributed(context, seconds)
    print(f"   distributed: p99 {_ms(spread.at_rate.percentile(0.99))} ms", file=sys.stderr)
    local = await embedded(context, seconds)
    return [
        _figure("d.distributed", "distributed (API, relay, broker, worker)", spread, 1.0),
        _figure("d.embedded", "embedded (renewals dev on SQLite)", local, 0.2),
    ]
