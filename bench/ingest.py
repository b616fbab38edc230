"""Ingest over HTTP (figures a, b, f.api): `POST /v1/events` against a raw asyncpg
endpoint and a bare FastAPI endpoint, and `/v1/events/batch` against raw asyncpg COPY,
on Postgres."""

from __future__ import annotations

import json
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]

from bench import load, seed
from bench.figures import Context, Figure
from bench.services import (
    Service,
    asyncpg_dsn,
    free_port,
    fresh_database,
    settings_env,
    start_process,
    start_service,
)
from shared.db import Database

TODAY = date(2026, 11, 2)
TERM_START = date(2026, 1, 1)
PEAK_CONNECTIONS = 32
BATCH_SIZE = 1000
PEAK_SHARE = 0.5
"""Figure a's p99 is taken at this share of the raw asyncpg endpoint's peak rate."""
API, RAW, BARE = "api", "raw asyncpg", "bare"
"""The three endpoints of figure a."""


def usage_event(run: str, index: int, contract_id: uuid.UUID) -> dict[str, object]:
    """A `usage.reported` CloudEvent: the high-volume lifecycle event clients send."""
    return {
        "specversion": "1.0",
        "id": f"{run}-{index}",
        "source": "urn:bench:ingest",
        "type": "usage.reported",
        "time": datetime.now(UTC).isoformat(),
        "data": {
            "contract_id": str(contract_id),
            "active_users": 40 + index % 60,
            "seats": 100,
            "as_of": TODAY.isoformat(),
        },
    }


class Requests:
    """Request bytes for `POST /v1/events` (one event) and `/v1/events/batch` (`BATCH_SIZE`
    events). Each `single()` or `batches()` numbers its events under a prefix of its own:
    a load run that repeated an earlier run's (`source`, `id`) would be measuring
    duplicates, which the endpoints answer without writing."""

    def __init__(self, contracts: Sequence[uuid.UUID], key: str) -> None:
        self.contracts = contracts
        self.headers = {"Authorization": f"Bearer {key}"}

    def _event(self, run: str, index: int) -> dict[str, object]:
        return usage_event(run, index, self.contracts[index % len(self.contracts)])

    def single(self) -> load.Body:
        run = uuid.uuid4().hex[:8]

        def make(index: int) -> bytes:
            body = json.dumps(self._event(run, index)).encode()
            return load.request_bytes("/v1/events", body, self.headers)

        return make

    def batches(self) -> load.Body:
        run = uuid.uuid4().hex[:8]

        def make(index: int) -> bytes:
            first = index * BATCH_SIZE
            events = [self._event(run, i) for i in range(first, first + BATCH_SIZE)]
            return load.request_bytes("/v1/events/batch", json.dumps(events).encode(), self.headers)

        return make


def _start_baseline(module: str, env: dict[str, str], log: Path) -> Service:
    """`python -m bench.<module> PORT`: a baseline app served like `renewals api`."""
    port = free_port()
    return start_process([sys.executable, "-m", f"bench.{module}", str(port)], env, log, port)


def _accepted(outcome: load.Outcome, what: str) -> None:
    wrong = {status: n for status, n in outcome.statuses.items() if status != 202}
    if wrong:
        raise RuntimeError(f"{what}: answers other than 202: {wrong}")


async def _peaks(
    ports: dict[str, int], requests: Requests, seconds: float, rounds: int
) -> dict[str, load.Outcome]:
    """Each endpoint's best of `rounds` closed-loop runs (the machine is shared: the best
    run is the one least disturbed), the endpoints taking turns within each round so that
    a busy spell of the machine falls on all of them alike."""
    best: dict[str, load.Outcome] = {}
    for _ in range(rounds):
        for name, port in ports.items():
            outcome = await load.closed_loop(
                port, requests.single(), connections=PEAK_CONNECTIONS, seconds=seconds
            )
            if name not in best or outcome.rate > best[name].rate:
                best[name] = outcome
    return best


async def _copy_baseline(url: str, contracts: Sequence[uuid.UUID], count: int) -> float:
    """Events/s of raw asyncpg COPY writing what the batch endpoint writes per event: a
    usage row, an outbox row, an event-log row and an inbox key, in one transaction."""
    now = datetime.now(UTC)
    run = uuid.uuid4().hex[:8]
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        accounts = dict(
            await connection.fetch(
                "SELECT id, account_id FROM contracts WHERE id = any($1::uuid[])", contracts
            )
        )
        usage = [
            (uuid.uuid4(), contracts[i % len(contracts)], 50, 100, TODAY, now) for i in range(count)
        ]
        documents = [usage_event(run, i, row[1]) for i, row in enumerate(usage)]
        events = [
            (
                str(document["id"]),
                row[0],
                row[1],
                json.dumps(document),
                json.dumps(document["data"]),
            )
            for document, row in zip(documents, usage, strict=True)
        ]
        outbox = [
            (
                "lifecycle",
                event_id,
                "urn:renewals:api",
                "usage.reported",
                str(report_id),
                str(accounts[contract_id]),
                event,
                now,
            )
            for event_id, report_id, contract_id, event, _ in events
        ]
        log = [
            (
                event_id,
                "usage.reported",
                now,
                "bench",
                accounts[contract_id],
                contract_id,
                str(report_id),
                data,
            )
            for event_id, report_id, contract_id, _, data in events
        ]
        inbox = [("api", "urn:bench:copy", f"{run}-{i}", now) for i in range(count)]
        started = time.perf_counter()
        async with connection.transaction():
            await connection.copy_records_to_table(
                "usage_reports",
                records=usage,
                columns=["id", "contract_id", "active_users", "seats", "as_of", "created_at"],
            )
            await connection.copy_records_to_table(
                "outbox",
                records=outbox,
                columns=[
                    "stream",
                    "event_id",
                    "source",
                    "type",
                    "subject",
                    "partition_key",
                    "event",
                    "created_at",
                ],
            )
            await connection.copy_records_to_table(
                "event_log",
                records=log,
                columns=[
                    "event_id",
                    "type",
                    "time",
                    "actor",
                    "account_id",
                    "contract_id",
                    "subject",
                    "data",
                ],
            )
            await connection.copy_records_to_table(
                "inbox", records=inbox, columns=["consumer", "source", "event_id", "processed_at"]
            )
        return count / (time.perf_counter() - started)
    finally:
        await connection.close()


@dataclass(frozen=True)
class Single:
    """Figure a's measurements: peaks of the three endpoints and the open-loop runs of
    the engine and the raw endpoint at `PEAK_SHARE` of the raw endpoint's peak."""

    peaks: dict[str, load.Outcome]
    rate: float
    fixed: dict[str, load.Outcome]
    seconds: float
    rounds: int


async def _single(ports: dict[str, int], requests: Requests, seconds: float, rounds: int) -> Single:
    for port in ports.values():
        await load.closed_loop(port, requests.single(), connections=4, seconds=1)
    peaks = await _peaks(ports, requests, seconds, rounds)
    _accepted(peaks[API], "POST /v1/events")
    _accepted(peaks[RAW], "the raw asyncpg endpoint")
    print(
        "   peak: " + ", ".join(f"{name} {outcome.rate:.0f}/s" for name, outcome in peaks.items()),
        file=sys.stderr,
    )
    rate = PEAK_SHARE * peaks[RAW].rate
    fixed: dict[str, load.Outcome] = {}
    for name in (RAW, API):
        fixed[name] = await load.open_loop(
            ports[name], requests.single(), rate=rate, seconds=seconds
        )
        _accepted(fixed[name], f"{name} at a fixed rate")
    return Single(peaks, rate, fixed, seconds, rounds)


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def _single_figures(single: Single) -> list[Figure]:
    api, raw, bare = (single.peaks[name] for name in (API, RAW, BARE))
    api_fixed, raw_fixed = single.fixed[API], single.fixed[RAW]
    expected = int(single.rate * single.seconds)
    peak_title = f"POST /v1/events, one event per request, {PEAK_CONNECTIONS} connections"
    return [
        Figure(
            key="a.peak",
            title=peak_title,
            value=round(api.rate),
            unit="requests/s",
            target="≥ 0.50x baseline",
            met=api.rate >= 0.50 * raw.rate,
            baseline=round(raw.rate),
            baseline_label="raw asyncpg endpoint, same rows",
            details={
                "p50_ms": _ms(api.percentile(0.5)),
                "p99_ms": _ms(api.percentile(0.99)),
                "baseline_p99_ms": _ms(raw.percentile(0.99)),
                "seconds": single.seconds,
                "rounds": single.rounds,
            },
        ),
        Figure(
            key="a.bare",
            title=f"{peak_title}, beside the bare endpoint",
            value=round(api.rate),
            unit="requests/s",
            target="",
            met=None,
            baseline=round(bare.rate),
            baseline_label="bare FastAPI endpoint, same body",
            details={
                "raw_asyncpg_to_bare": round(raw.rate / bare.rate, 3) if bare.rate else None,
                "baseline_p99_ms": _ms(bare.percentile(0.99)),
            },
        ),
        Figure(
            key="a.p99",
            title=f"POST /v1/events p99 at {PEAK_SHARE:.0%} of the raw endpoint's peak",
            value=_ms(api_fixed.percentile(0.99)),
            unit="ms",
            target="< 50 ms",
            met=api_fixed.percentile(0.99) < 0.050 and api_fixed.answered == expected,
            baseline=_ms(raw_fixed.percentile(0.99)),
            baseline_label="raw asyncpg endpoint at the same rate",
            details={
                "rate": round(single.rate),
                "p50_ms": _ms(api_fixed.percentile(0.5)),
                "achieved_rate": round(api_fixed.rate),
                "requests": api_fixed.answered,
            },
        ),
    ]


async def run(context: Context) -> list[Figure]:
    seconds, rounds, contracts_count = (2.0, 1, 200) if context.quick else (10.0, 2, 5_000)
    async with fresh_database("ingest") as url:
        db = Database(url)
        try:
            contracts = await seed.contracts(
                db, contracts_count, start=TERM_START, end=TERM_START + timedelta(days=365)
            )
            key = await seed.api_key(db)
        finally:
            await db.dispose()
        requests = Requests(contracts, key)
        port = free_port()
        api = start_service(
            ["api"],
            settings_env(url, api_host="127.0.0.1", api_port=port),
            context.workdir / "api.log",
            port=port,
        )
        raw = _start_baseline("raw_app", settings_env(url), context.workdir / "raw.log")
        bare = _start_baseline("bare_app", {}, context.workdir / "bare.log")
        try:
            assert raw.port is not None
            assert bare.port is not None
            ports = {API: port, RAW: raw.port, BARE: bare.port}
            single = await _single(ports, requests, seconds, rounds)
            batches = await load.closed_loop(
                port, requests.batches(), connections=2, seconds=seconds
            )
            _accepted(batches, "POST /v1/events/batch")
        finally:
            raw.stop()
            bare.stop()
            api_rss = api.stop()
        copy_rate = await _copy_baseline(url, contracts, 20_000 if not context.quick else 2_000)
    batch_rate = batches.rate * BATCH_SIZE
    return [
        *_single_figures(single),
        Figure(
            key="b",
            title=f"POST /v1/events/batch, {BATCH_SIZE:,} events per request",
            value=round(batch_rate),
            unit="events/s",
            target="≥ 25,000 events/s",
            met=batch_rate >= 25_000,
            baseline=round(copy_rate),
            baseline_label="raw asyncpg COPY of the same rows",
            details={
                "p50_batch_ms": _ms(batches.percentile(0.5)),
                "batches": batches.answered,
            },
        ),
        Figure(
            key="f.api",
            title="Peak RSS of the API under load",
            value=round(api_rss, 1),
            unit="MB",
            target="< 300 MB",
            met=api_rss < 300,
        ),
    ]
