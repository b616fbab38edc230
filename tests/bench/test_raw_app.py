"""Figure a's raw asyncpg endpoint is a fair baseline only while it writes what
`POST /v1/events` writes: the same rows in the same tables for a `usage.reported` event,
nothing for a repeat, and nothing for a refused event."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import httpx
import pytest

from bench import ingest, raw_app, seed
from bench.services import asyncpg_dsn
from tests.support.api import Harness, open_harness

TABLES = ("usage_reports", "outbox", "event_log", "inbox")
VOLATILE = {"id", "created_at", "processed_at", "event_id", "subject", "time"}
"""Columns and event attributes that differ between any two events: ids and instants."""


@pytest.fixture
async def engine(postgres_db_url: str) -> AsyncIterator[Harness]:
    async with open_harness(postgres_db_url) as harness:
        yield harness


@pytest.fixture
async def raw(postgres_db_url: str) -> AsyncIterator[httpx.AsyncClient]:
    app = raw_app.create_app(asyncpg_dsn(postgres_db_url))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://raw") as client:
            yield client


@pytest.fixture
async def setup(engine: Harness) -> tuple[uuid.UUID, str]:
    """A contract, and a write key as the bench makes one."""
    (contract,) = await seed.contracts(
        engine.db, 1, start=ingest.TERM_START, end=ingest.TERM_START + timedelta(days=365)
    )
    return contract, await seed.api_key(engine.db)


async def _rows(url: str) -> dict[str, list[dict[str, Any]]]:
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        return {
            table: [dict(row) for row in await connection.fetch(f"SELECT * FROM {table}")]
            for table in TABLES
        }
    finally:
        await connection.close()


def _shape(value: Any) -> Any:
    """A row or a JSON document without its volatile values; JSON text is decoded."""
    if isinstance(value, str) and value.startswith("{"):
        return _shape(json.loads(value))
    if isinstance(value, dict):
        return {name: _shape(item) for name, item in value.items() if name not in VOLATILE}
    return value


async def test_an_event_writes_the_rows_the_engine_writes(
    engine: Harness,
    raw: httpx.AsyncClient,
    setup: tuple[uuid.UUID, str],
    postgres_db_url: str,
) -> None:
    contract, key = setup
    headers = {"Authorization": f"Bearer {key}"}
    engine_event = ingest.usage_event("engine", 1, contract)
    async with engine.as_key(key) as client:
        answer = await client.post("/v1/events", json=engine_event)
    assert answer.status_code == 202
    by_engine = await _rows(postgres_db_url)

    raw_event = ingest.usage_event("raw", 1, contract)
    answer = await raw.post("/v1/events", json=raw_event, headers=headers)
    assert (answer.status_code, answer.json()) == (202, {"id": "raw-1", "duplicate": False})
    both = await _rows(postgres_db_url)

    for table in TABLES:
        assert len(by_engine[table]) == 1, table
        assert len(both[table]) == 2, table
        written_by_raw = [row for row in both[table] if row not in by_engine[table]]
        assert [_shape(row) for row in written_by_raw] == [_shape(by_engine[table][0])], table
    assert {row["event_id"] for row in both["inbox"]} == {"engine-1", "raw-1"}


async def test_a_repeated_event_is_a_duplicate_and_writes_nothing(
    raw: httpx.AsyncClient, setup: tuple[uuid.UUID, str], postgres_db_url: str
) -> None:
    contract, key = setup
    headers = {"Authorization": f"Bearer {key}"}
    event = ingest.usage_event("raw", 7, contract)
    first = await raw.post("/v1/events", json=event, headers=headers)
    before = await _rows(postgres_db_url)
    again = await raw.post("/v1/events", json=event, headers=headers)
    assert first.json() == {"id": "raw-7", "duplicate": False}
    assert (again.status_code, again.json()) == (202, {"id": "raw-7", "duplicate": True})
    assert await _rows(postgres_db_url) == before


async def test_an_unknown_key_or_contract_is_refused_and_writes_nothing(
    raw: httpx.AsyncClient, setup: tuple[uuid.UUID, str], postgres_db_url: str
) -> None:
    contract, key = setup
    headers = {"Authorization": f"Bearer {key}"}
    before = await _rows(postgres_db_url)
    unknown_key = await raw.post(
        "/v1/events",
        json=ingest.usage_event("raw", 1, contract),
        headers={"Authorization": "Bearer rnw_not-a-key"},
    )
    unknown_contract = await raw.post(
        "/v1/events", json=ingest.usage_event("raw", 2, uuid.uuid4()), headers=headers
    )
    assert unknown_key.status_code == 401
    assert unknown_contract.status_code == 404
    assert await _rows(postgres_db_url) == before
