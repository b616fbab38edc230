"""Scheduler at scale: a day's sweep over 1,000,000 contracts (~8M checkpoints, loaded by COPY)."""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import random
import re
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from time import perf_counter
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy.engine import Dialect

from bench.figures import Context, Figure
from bench.raw_renewals import renew_batch
from bench.services import asyncpg_dsn, fresh_database
from services.demo.mixes import (
    ACCOUNTS_PER_MANAGER,
    AUTO_RENEW_SHARE,
    BUDGET_LEAD_DAYS,
    CONTRACTS_PER_ACCOUNT,
    FISCAL_MONTH_WEIGHTS,
    NEW_DEAL_SHARE,
    PARTNER_SHARE,
    PARTNER_TIERS,
    PILOT_SHARE,
    PRICE_PER_SEAT,
    SEGMENT_ARR,
    SEGMENT_WEIGHTS,
    TERM_WEIGHTS,
    TERM_YEARS,
    TRIAL_SHARE,
)
from services.renewal_worker.engine.plan import PlannedCheckpoint, TermPlanInput, plan_term
from services.renewal_worker.scheduler import ACTOR, SweepResult, due_checkpoints, sweep
from shared.clock import utcnow
from shared.db import Database
from shared.events.outbox import build_event
from shared.events.types import SOURCE_SCHEDULER, EventType, Stream, dataschema
from shared.ids import new_id
from shared.rules.segments import segment_for
from shared.rules.types import Segment

FULL_CONTRACTS = 1_000_000
QUICK_CONTRACTS = 10_000
CHUNK_CONTRACTS = 20_000
"""Contracts per COPY transaction: big enough that COPY dominates, small enough that the
next chunk is generated (in a thread) while Postgres ingests this one."""
SEED = 20261125
LOADED_ON = date(2026, 6, 15)
"""The portfolio's "today": every checkpoint that opened up to this day was opened by
earlier sweeps, so the swept day (the next one) finds exactly one day's worth due."""
SWEEP_DAY = LOADED_ON + timedelta(days=1)
SWEEP_TIME = datetime(2026, 6, 16, 6, 0, tzinfo=UTC)
SWEEP_BATCH = 500
"""The scheduler's default batch, used for the explained query as the sweep uses it."""
DUE_INDEX = "ix_checkpoints_status_opens_on_id"
CURRENCY = "USD"

_STAMP = datetime(2026, 6, 15, tzinfo=UTC)
_SEGMENTS = tuple(SEGMENT_WEIGHTS)
_SEGMENT_CUM = tuple(itertools.accumulate(SEGMENT_WEIGHTS.values()))
_FISCAL_MONTHS = tuple(FISCAL_MONTH_WEIGHTS)
_FISCAL_CUM = tuple(itertools.accumulate(FISCAL_MONTH_WEIGHTS.values()))

PARTNER_COLUMNS = ("id", "name", "tier", "created_at", "updated_at")
ACCOUNT_COLUMNS = ("id", "name", "external_ids", "fiscal_year_start_month", "budget_lead_days",
                   "owner", "partner_id", "created_at", "updated_at")  # fmt: skip
CONTRACT_COLUMNS = ("id", "account_id", "partner_id", "start_date", "end_date", "pilot_start",
                    "pilot_end", "trial_end", "arr_minor", "seats", "auto_renew",
                    "notice_period_days", "status", "health_score", "health_band",
                    "health_signals", "external_ids", "created_at", "updated_at")  # fmt: skip
TERM_COLUMNS = ("id", "contract_id", "number", "start_date", "end_date", "arr_minor")
CHECKPOINT_COLUMNS = ("id", "contract_id", "term", "kind", "ordinal", "due_date", "opens_on",
                      "status", "created_at", "updated_at")  # fmt: skip

Row = tuple[Any, ...]


# --- the portfolio ------------------------------------------------------------------


class _Ids:
    """Time-ordered ids like the application's (UUIDv7): a counter in the low bits of one
    real id, so COPY's index inserts append as they would in production, at a third of
    `new_id`'s cost per row (it matters at 9M rows)."""

    def __init__(self) -> None:
        self._next = new_id().int & ~((1 << 40) - 1)

    def __call__(self) -> uuid.UUID:
        self._next += 1
        return uuid.UUID(int=self._next)


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


@lru_cache(maxsize=300_000)
def _plan(inp: TermPlanInput) -> list[PlannedCheckpoint]:
    """The engine's plan, memoised on its whole input: most small customers share a
    handful of shapes per start date, so 1M contracts plan in seconds, and every row is
    still exactly what the engine plans for its contract."""
    return plan_term(inp)


@dataclass
class _Chunk:
    accounts: list[Row] = field(default_factory=list)
    contracts: list[Row] = field(default_factory=list)
    terms: list[Row] = field(default_factory=list)
    checkpoints: list[Row] = field(default_factory=list)

    def tables(self) -> list[tuple[str, tuple[str, ...], list[Row]]]:
        """In foreign-key order."""
        return [
            ("accounts", ACCOUNT_COLUMNS, self.accounts),
            ("contracts", CONTRACT_COLUMNS, self.contracts),
            ("contract_terms", TERM_COLUMNS, self.terms),
            ("checkpoints", CHECKPOINT_COLUMNS, self.checkpoints),
        ]


class _Portfolio:
    """The demo portfolio's mixes (services/demo/mixes.py) drawn row by row: its
    `generate` also builds a year of happenings and stakeholders, far too slow and large
    for a million contracts, and only accounts, contracts and plans matter here.

    Like the demo, each contract is loaded with its current term as term 1; past
    checkpoints (opening on or before `LOADED_ON`) are `opened`, later ones `planned`.
    """

    def __init__(self, partners: list[uuid.UUID]) -> None:
        self.rng = random.Random(SEED)
        self.ids = _Ids()
        self.partners = partners
        self.accounts = 0

    def chunk(self, contracts: int) -> _Chunk:
        chunk = _Chunk()
        while len(chunk.contracts) < contracts:
            self._account(chunk, contracts - len(chunk.contracts))
        return chunk

    def _account(self, chunk: _Chunk, room: int) -> None:
        rng = self.rng
        segment = rng.choices(_SEGMENTS, cum_weights=_SEGMENT_CUM)[0]
        low, high = SEGMENT_ARR[segment]
        total = int(math.exp(rng.uniform(math.log(low), math.log(high))))
        account_id = self.ids()
        partner = rng.choice(self.partners) if rng.random() < PARTNER_SHARE else None
        fiscal_month = rng.choices(_FISCAL_MONTHS, cum_weights=_FISCAL_CUM)[0]
        lead = rng.choice(BUDGET_LEAD_DAYS)
        chunk.accounts.append((
            account_id, f"Bench account {self.accounts}", "{}", fiscal_month, lead,
            f"manager{self.accounts // ACCOUNTS_PER_MANAGER}@vendor.example", partner,
            _STAMP, _STAMP,
        ))  # fmt: skip
        self.accounts += 1
        parts = min(room, rng.randint(1, CONTRACTS_PER_ACCOUNT[segment]))
        weights = [rng.uniform(0.2, 1.0) for _ in range(parts)]
        plan_segment = segment_for(Decimal(total))
        for weight in weights:
            arr = max(1, int(total * weight / sum(weights)))
            self._contract(chunk, account_id, partner, segment, arr, fiscal_month, lead,
                           plan_segment)  # fmt: skip

    def _contract(
        self, chunk: _Chunk, account_id: uuid.UUID, partner: uuid.UUID | None, segment: str,
        arr: int, fiscal_month: int, lead: int, plan_segment: Segment,
    ) -> None:  # fmt: skip
        rng = self.rng
        years = rng.choices(TERM_YEARS, weights=TERM_WEIGHTS[segment])[0]
        auto_renew = rng.random() < AUTO_RENEW_SHARE[segment]
        notice = rng.choice((30, 60, 90)) if auto_renew else rng.choice((0, 0, 0, 30, 60))
        seats = max(1, arr // rng.randint(*PRICE_PER_SEAT))
        pilot_start = pilot_end = trial_end = None
        if rng.random() < NEW_DEAL_SHARE:
            start = LOADED_ON + timedelta(days=rng.randrange(7, 334))
            end = _add_years(start, years)
            if segment in ("enterprise", "mid_market") and rng.random() < PILOT_SHARE:
                pilot_start = start - timedelta(days=rng.choice((30, 45, 60)))
                pilot_end = start - timedelta(days=1)
            elif segment not in ("enterprise", "mid_market") and rng.random() < TRIAL_SHARE:
                trial_end = start + timedelta(days=rng.choice((14, 30)))
        else:
            end = LOADED_ON + timedelta(days=rng.randrange(1, 365 * years))
            start = _add_years(end, -years)
        contract_id = self.ids()
        arr_minor = arr * 100
        chunk.contracts.append((
            contract_id, account_id, partner, start, end, pilot_start, pilot_end, trial_end,
            arr_minor, seats, auto_renew, notice, "active", 100, "green", "[]", "{}",
            _STAMP, _STAMP,
        ))  # fmt: skip
        chunk.terms.append((self.ids(), contract_id, 1, start, end, arr_minor))
        plan = _plan(
            TermPlanInput(
                term_number=1, start=start, renewal=end, segment=plan_segment,
                fiscal_year_start_month=fiscal_month, budget_lead_days=lead,
                auto_renew=auto_renew, notice_period_days=notice, pilot_start=pilot_start,
                pilot_end=pilot_end, trial_end=trial_end,
            )
        )  # fmt: skip
        chunk.checkpoints.extend(
            (self.ids(), contract_id, 1, str(row.kind), row.ordinal, row.due_date, row.opens_on,
             "opened" if row.opens_on <= LOADED_ON else "planned", _STAMP, _STAMP)
            for row in plan
        )  # fmt: skip


@dataclass(frozen=True)
class _Loaded:
    accounts: int
    contracts: int
    checkpoints: int
    load_seconds: float
    vacuum_analyze_seconds: float


async def _load(connection: asyncpg.Connection, contracts: int) -> _Loaded:
    """COPY in chunks, the next chunk generated in a thread while this one is ingested:
    the machine has two cores, one for Python and one for Postgres."""
    started = time.monotonic()
    partners = [new_id() for _ in PARTNER_TIERS]
    await connection.copy_records_to_table(
        "partners",
        records=[(pid, f"Bench partner {i}", tier, _STAMP, _STAMP)
                 for i, (pid, tier) in enumerate(zip(partners, PARTNER_TIERS, strict=True))],
        columns=PARTNER_COLUMNS,
    )  # fmt: skip
    portfolio = _Portfolio(partners)
    loop = asyncio.get_running_loop()
    loaded = checkpoints = 0
    pending = loop.run_in_executor(None, portfolio.chunk, min(CHUNK_CONTRACTS, contracts))
    while True:
        chunk = await pending
        loaded += len(chunk.contracts)
        if loaded < contracts:
            size = min(CHUNK_CONTRACTS, contracts - loaded)
            pending = loop.run_in_executor(None, portfolio.chunk, size)
        async with connection.transaction():
            for table, columns, rows in chunk.tables():
                await connection.copy_records_to_table(table, records=rows, columns=columns)
        checkpoints += len(chunk.checkpoints)
        print(
            f"   loaded {loaded:,} contracts, {checkpoints:,} checkpoints"
            f" ({time.monotonic() - started:.0f} s)",
            file=sys.stderr,
            flush=True,
        )
        if loaded >= contracts:
            break
    load_seconds = time.monotonic() - started
    started = time.monotonic()
    await connection.execute("VACUUM (ANALYZE) accounts, contracts, contract_terms, checkpoints")
    return _Loaded(
        accounts=portfolio.accounts,
        contracts=loaded,
        checkpoints=checkpoints,
        load_seconds=load_seconds,
        vacuum_analyze_seconds=time.monotonic() - started,
    )


# --- reading what a sweep read --------------------------------------------------------

_STATS = f"""
SELECT t.seq_scan, t.seq_tup_read, coalesce(t.idx_scan, 0) AS idx_scan,
       coalesce(t.idx_tup_fetch, 0) AS idx_tup_fetch, t.n_tup_upd,
       (SELECT coalesce(sum(i.idx_tup_read), 0) FROM pg_stat_user_indexes i
         WHERE i.relid = t.relid) AS index_entries_read,
       (SELECT i.idx_scan FROM pg_stat_user_indexes i
         WHERE i.relid = t.relid AND i.indexrelname = '{DUE_INDEX}') AS due_index_scans,
       s.heap_blks_read, s.heap_blks_hit, s.idx_blks_read, s.idx_blks_hit
  FROM pg_stat_user_tables t JOIN pg_statio_user_tables s USING (relid)
 WHERE t.relname = 'checkpoints'
"""


async def _stats(connection: asyncpg.Connection) -> dict[str, int]:
    await connection.execute("SELECT pg_stat_clear_snapshot()")
    row = await connection.fetchrow(_STATS)
    assert row is not None
    return {key: int(value) for key, value in row.items()}


async def _stats_after(
    connection: asyncpg.Connection, before: dict[str, int], updated: int
) -> dict[str, int]:
    """The counters' change since `before`. Backends report statistics when they go idle
    or exit, not as they run, so this waits until the `updated` rows show up."""
    deadline = time.monotonic() + 15
    while True:
        after = await _stats(connection)
        if after["n_tup_upd"] - before["n_tup_upd"] >= updated or time.monotonic() > deadline:
            return {key: after[key] - before[key] for key in after}
        await asyncio.sleep(0.2)


def _rows_read(delta: dict[str, int]) -> int:
    """Heap rows read by sequential scans plus index entries read by index scans (dead
    ones included, which is where a sweep that rescans its own work would show)."""
    return delta["seq_tup_read"] + delta["index_entries_read"]


async def _explain(connection: asyncpg.Connection, dialect: Dialect) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of the sweep's first batch, exactly as the scheduler
    builds it and compiled by the sweep's own dialect; rolled back, as it claims rows
    `FOR UPDATE`."""
    query = due_checkpoints(SWEEP_DAY, SWEEP_BATCH, skip_locked=True)
    sql = query.compile(dialect=dialect, compile_kwargs={"literal_binds": True})
    transaction = connection.transaction()
    await transaction.start()
    try:
        rows = await connection.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
    finally:
        await transaction.rollback()
    await connection.execute("SELECT pg_stat_force_next_flush()")
    return "\n".join(row[0] for row in rows)


def _plan_verdict(plan: str) -> tuple[bool, bool]:
    """(uses the due index for a range scan, scans the checkpoints table in full)."""
    ranged = re.search(rf"(Index Scan|Index Only Scan) using {DUE_INDEX}|Bitmap Index Scan on "
                       rf"{DUE_INDEX}", plan)  # fmt: skip
    return ranged is not None, "Seq Scan on checkpoints" in plan


# --- the baseline ---------------------------------------------------------------------

_RAW_DUE = """
SELECT c.id, c.contract_id, c.term, c.kind, c.ordinal, c.due_date, c.opens_on, k.account_id
  FROM checkpoints c JOIN contracts k ON k.id = c.contract_id
 WHERE c.status = 'planned' AND c.opens_on <= $1 AND (c.opens_on, c.id) > ($2, $3)
 ORDER BY c.opens_on, c.id
 LIMIT $4
   FOR UPDATE OF c SKIP LOCKED
"""
_RAW_OUTBOX = """
INSERT INTO outbox (stream, event_id, source, type, subject, partition_key, event, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
"""
_RAW_LOG = """
INSERT INTO event_log (event_id, type, time, actor, account_id, contract_id, subject, data)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
"""
_RAW_OPEN = "UPDATE checkpoints SET status = 'opened', updated_at = $2 WHERE id = ANY($1::uuid[])"
_RAW_BASELINE = (
    "raw asyncpg, one transaction rolled back before the sweep ran on the same rows: due "
    "rows claimed in batches of the sweep's size by the same index and join (keyset "
    "pagination: one statement without LIMIT is estimated at ~25 % of the table, as "
    "status and opens_on are correlated, and planned as a full scan), the same outbox and "
    "event-log rows (executemany), the rows marked opened by one UPDATE ... ANY per batch. "
    "Then the contracts at R renewed in batches of the same size (bench/raw_renewals.py): "
    "the new term rows and the forecasts (executemany), the contracts by one UPDATE ... "
    "FROM unnest, the contract.renewed events with the contract's snapshot in the outbox "
    "and the event log (executemany). Compared with the whole sweep, per due item (a "
    "checkpoint opened or a contract renewed or churned)."
)


def _raw_events(rows: list[Any], time: datetime) -> tuple[list[Row], list[Row]]:
    """Outbox and event-log rows with the envelopes the scheduler emits (`build_event`)."""
    outbox: list[Row] = []
    log: list[Row] = []
    schema = dataschema("checkpoint")
    for row in rows:
        data = {
            "id": str(row["id"]),
            "contract_id": str(row["contract_id"]),
            "account_id": str(row["account_id"]),
            "term": row["term"],
            "kind": row["kind"],
            "ordinal": row["ordinal"],
            "due_date": row["due_date"].isoformat(),
            "opens_on": row["opens_on"].isoformat(),
            "status": "opened",
        }
        event = build_event(type=EventType.CHECKPOINT_DUE, source=SOURCE_SCHEDULER,
                            subject=data["id"], data=data, dataschema=schema, actor=ACTOR,
                            time=time)  # fmt: skip
        outbox.append((str(Stream.LIFECYCLE), event["id"], SOURCE_SCHEDULER, event["type"],
                       data["id"], data["account_id"], json.dumps(event), time))  # fmt: skip
        log.append((event["id"], event["type"], time, ACTOR, row["account_id"],
                    row["contract_id"], data["id"], json.dumps(data)))  # fmt: skip
    return outbox, log


@dataclass(frozen=True)
class RawSweep:
    """What the raw sweep did: checkpoint rows opened and contracts renewed, and the
    seconds of each part."""

    opened: int
    renewed: int
    checkpoint_seconds: float
    renewal_seconds: float


async def raw_sweep_in(
    connection: asyncpg.Connection, day: date, time: datetime, batch: int, currency: str
) -> RawSweep:
    """A day's sweep in raw asyncpg in the caller's transaction: the due checkpoints
    opened, then the contracts at R renewed (`bench.raw_renewals`)."""
    started = perf_counter()
    opened = 0
    after: tuple[date, uuid.UUID] = (date.min, uuid.UUID(int=0))
    while True:
        rows = await connection.fetch(_RAW_DUE, day, *after, batch)
        outbox, log = _raw_events(rows, time)
        await connection.executemany(_RAW_OUTBOX, outbox)
        await connection.executemany(_RAW_LOG, log)
        await connection.execute(_RAW_OPEN, [row["id"] for row in rows], time)
        opened += len(rows)
        if len(rows) < batch:
            break
        after = (rows[-1]["opens_on"], rows[-1]["id"])
    checkpoints_done = perf_counter()
    renewed = 0
    last = uuid.UUID(int=0)
    now = utcnow()
    while True:
        ids = await renew_batch(connection, day, time, last, batch, currency, now)
        renewed += len(ids)
        if len(ids) < batch:
            break
        last = ids[-1]
    return RawSweep(opened, renewed, checkpoints_done - started, perf_counter() - checkpoints_done)


async def _raw_sweep(dsn: str, observer: asyncpg.Connection) -> tuple[RawSweep, dict[str, int]]:
    """The sweep in raw asyncpg (see `_RAW_BASELINE`), rolled back, and the checkpoints'
    statistics delta."""
    connection = await asyncpg.connect(dsn)
    try:
        before = await _stats(observer)
        transaction = connection.transaction()
        await transaction.start()
        raw = await raw_sweep_in(connection, SWEEP_DAY, SWEEP_TIME, SWEEP_BATCH, CURRENCY)
        await transaction.rollback()
        await connection.execute("SELECT pg_stat_force_next_flush()")
        await connection.execute("SELECT 1")
        return raw, await _stats_after(observer, before, raw.opened)
    finally:
        await connection.close()


# --- the suite ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Measured:
    plan: str
    seconds: float
    result: SweepResult
    delta: dict[str, int]
    raw: RawSweep
    raw_delta: dict[str, int]


async def _measure(url: str) -> _Measured:
    """The plan, the baseline, then the real sweep, each with the checkpoints' read
    statistics; the baseline runs first (rolled back), so both find the same rows and the
    sweep gets no colder a cache than the baseline had."""
    dsn = asyncpg_dsn(url)
    observer = await asyncpg.connect(dsn)
    try:
        db = Database(url)
        try:
            plan = await _explain(observer, db.engine.dialect)
            raw, raw_delta = await _raw_sweep(dsn, observer)
            before = await _stats(observer)
            started = time.perf_counter()
            result = await sweep(db, SWEEP_DAY, time=SWEEP_TIME, currency=CURRENCY)
            seconds = time.perf_counter() - started
        finally:
            await db.dispose()
        delta = await _stats_after(observer, before, result.checkpoints_opened)
    finally:
        await observer.close()
    return _Measured(plan, seconds, result, delta, raw, raw_delta)


async def _load_database(url: str, contracts: int) -> _Loaded:
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        return await _load(connection, contracts)
    finally:
        await connection.close()


def due_items(result: SweepResult) -> int:
    """What a sweep found due: checkpoints opened (renewal markers included) and
    contracts renewed or churned at R."""
    return result.checkpoints_opened + result.markers_reached + result.renewals + result.churns


def _figures(loaded: _Loaded, measured: _Measured) -> list[Figure]:
    result = measured.result
    opened = result.checkpoints_opened + result.markers_reached
    due = due_items(result)
    raw = measured.raw
    raw_seconds = raw.checkpoint_seconds + raw.renewal_seconds
    raw_due = raw.opened + raw.renewed
    ranged, full_scan = _plan_verdict(measured.plan)
    plan_ok = ranged and not full_scan and measured.delta["seq_scan"] == 0
    per_10k = measured.seconds / max(due, 1) * 10_000
    raw_per_10k = raw_seconds / max(raw_due, 1) * 10_000
    rows_read = _rows_read(measured.delta)
    raw_rows_read = _rows_read(measured.raw_delta)
    details: dict[str, Any] = {
        "accounts": loaded.accounts,
        "contracts": loaded.contracts,
        "checkpoints": loaded.checkpoints,
        "load_seconds": round(loaded.load_seconds, 1),
        "vacuum_analyze_seconds": round(loaded.vacuum_analyze_seconds, 1),
        "sweep_day": SWEEP_DAY.isoformat(),
        "due": due,
        "checkpoints_opened": opened,
        "sweep_seconds": round(measured.seconds, 3),
        "checkpoint_seconds": round(result.checkpoint_seconds, 3),
        "checkpoint_seconds_per_10k_opened": round(
            result.checkpoint_seconds / max(opened, 1) * 10_000, 3
        ),
        "overdue_seconds": round(result.overdue_seconds, 3),
        "renewal_seconds": round(result.renewal_seconds, 3),
        "renewals": result.renewals,
        "ms_per_renewal": round(result.renewal_seconds / max(result.renewals, 1) * 1000, 2),
        "churns": result.churns,
        "events": len(result.event_ids),
        "rows_read": rows_read,
        "checkpoint_stats": measured.delta,
        "baseline_seconds": round(raw_seconds, 3),
        "baseline_due": raw_due,
        "baseline_opened": raw.opened,
        "baseline_checkpoint_seconds": round(raw.checkpoint_seconds, 3),
        "baseline_renewed": raw.renewed,
        "baseline_renewal_seconds": round(raw.renewal_seconds, 3),
        "baseline_rows_read": raw_rows_read,
        "baseline": _RAW_BASELINE,
        "plan_uses_due_index": ranged,
        "plan_full_scan": full_scan,
        "plan": measured.plan,
    }
    return [
        Figure(
            key="e",
            title=(
                f"Scheduler: a day's sweep (checkpoints opened, contracts renewed at R),"
                f" {loaded.contracts:,} contracts"
            ),
            value=round(per_10k, 3),
            unit="s per 10,000 due",
            target="≤ 1.0x the raw asyncpg sweep of the same day, by an index range scan",
            met=per_10k <= raw_per_10k and plan_ok,
            baseline=round(raw_per_10k, 3),
            baseline_label="raw asyncpg sweep of the same rows",
            details=details,
        ),
        Figure(
            key="e.plan",
            title=f"Scheduler: rows read per due checkpoint, {loaded.contracts:,} contracts",
            value=round(rows_read / max(opened, 1), 2),
            unit="rows read per due",
            target="index range scan, no full scan",
            met=plan_ok,
            baseline=round(raw_rows_read / max(raw.opened, 1), 2),
            baseline_label="raw asyncpg select+insert+update",
            details={
                "due": opened,
                "rows_read": rows_read,
                "checkpoint_stats": measured.delta,
                "baseline_checkpoint_stats": measured.raw_delta,
                "plan": measured.plan,
            },
        ),
    ]


async def run(context: Context) -> list[Figure]:
    contracts = QUICK_CONTRACTS if context.quick else FULL_CONTRACTS
    async with fresh_database("scheduler") as url:
        loaded = await _load_database(url, contracts)
        return _figures(loaded, await _measure(url))
