"""Figure e's raw asyncpg sweep is a fair baseline only while it writes what the sweep
writes: on the benchmark's own portfolio (loaded by COPY, at its quick size), the raw
sweep of the day runs in a transaction that is read and rolled back, then the real
sweep runs, and every table either writes is compared."""

from __future__ import annotations

import json
from typing import Any

import asyncpg  # type: ignore[import-untyped]

from bench import scheduler_scale
from bench.scheduler_scale import CURRENCY, SWEEP_BATCH, SWEEP_DAY, SWEEP_TIME
from bench.services import asyncpg_dsn
from services.renewal_worker.scheduler import sweep
from shared.db import Database

_QUERIES = {
    "terms": "SELECT contract_id, number, start_date, end_date, arr_minor FROM contract_terms",
    "contracts": "SELECT * FROM contracts",
    "forecasts": "SELECT * FROM contract_forecasts",
    "checkpoints": "SELECT id, status FROM checkpoints",
    "outbox": "SELECT stream, source, type, subject, partition_key, event, processed_at"
    " FROM outbox ORDER BY id",
    "event_log": "SELECT type, time, actor, account_id, contract_id, subject, data"
    " FROM event_log ORDER BY id",
}
_VOLATILE = {"id", "updated_at", "created_at"}
"""Generated ids and wall-clock instants (the contracts' `updated_at`, in their rows and
in the snapshots their events carry)."""


def _stable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if k not in _VOLATILE}
    return value


async def _tables(connection: asyncpg.Connection) -> dict[str, list[Any]]:
    tables: dict[str, list[Any]] = {}
    for table, query in _QUERIES.items():
        rows = []
        for row in await connection.fetch(query):
            item = {
                k: _stable(json.loads(v)) if k in {"event", "data"} else v
                for k, v in row.items()
                if k not in _VOLATILE or table == "checkpoints"
            }
            rows.append(item)
        ordered = table in {"outbox", "event_log"}
        tables[table] = rows if ordered else sorted(rows, key=repr)
    return tables


async def test_the_raw_sweep_writes_what_the_sweep_writes(postgres_db_url: str) -> None:
    connection = await asyncpg.connect(asyncpg_dsn(postgres_db_url))
    try:
        await scheduler_scale._load(connection, scheduler_scale.QUICK_CONTRACTS)
        transaction = connection.transaction()
        await transaction.start()
        raw = await scheduler_scale.raw_sweep_in(
            connection, SWEEP_DAY, SWEEP_TIME, SWEEP_BATCH, CURRENCY
        )
        by_raw = await _tables(connection)
        await transaction.rollback()
        db = Database(postgres_db_url)
        try:
            result = await sweep(db, SWEEP_DAY, time=SWEEP_TIME, currency=CURRENCY)
        finally:
            await db.dispose()
        by_sweep = await _tables(connection)
    finally:
        await connection.close()

    assert raw.opened == result.checkpoints_opened + result.markers_reached > 0
    assert raw.renewed == result.renewals > 0
    assert result.churns == 0
    assert by_raw == by_sweep
    types = {row["type"] for row in by_raw["outbox"]}
    assert types == {"checkpoint.due", "contract.renewed"}
    assert len(by_raw["forecasts"]) == 2 * raw.renewed
