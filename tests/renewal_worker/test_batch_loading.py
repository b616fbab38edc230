"""A batch reads its accounts once (`batch.apply_events`) and keeps them in memory for
the batch's later events; what it writes must be exactly what applying each event on a
fresh load writes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from sqlalchemy import event, select

from services.demo.generator import generate
from services.demo.load import load
from services.demo.year import apply_happenings
from services.renewal_worker.apply import handle
from services.renewal_worker.sources.embedded import process_batch
from shared.db import Database
from shared.events.types import Stream
from shared.models import Account, Checkpoint, Contract, OutboxEvent, Task
from tests.support.databases import PostgresTemplates, SqliteTemplates

CURRENCY = "USD"
BACKENDS = ["sqlite", "postgres"]


@pytest.fixture(params=BACKENDS)
def two_db_urls(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    templates: SqliteTemplates | PostgresTemplates = request.getfixturevalue(
        f"{request.param}_templates"
    )
    urls = (templates.clone(), templates.clone())
    yield urls
    for url in urls:
        templates.drop(url)


async def _portfolio_with_its_year(db: Database) -> None:
    """The same portfolio in every database: its lifecycle events wait in the outbox."""
    portfolio = generate(12, 7, date(2026, 1, 5))
    ids = await load(db, portfolio, CURRENCY)
    async with db.transaction() as session:
        await apply_happenings(session, ids, portfolio.happenings, CURRENCY)


async def _apply_one_by_one(db: Database) -> None:
    async with db.read() as session:
        events = list(
            await session.scalars(
                select(OutboxEvent.event)
                .where(OutboxEvent.stream == str(Stream.LIFECYCLE))
                .order_by(OutboxEvent.id)
            )
        )
    for cloud_event in events:
        async with db.transaction() as session:
            await handle.apply_event(session, cloud_event, currency=CURRENCY)


async def _written(db: Database) -> dict[str, Any]:
    """What the engine wrote, by the accounts' and contracts' CRM keys (ids differ)."""
    async with db.read() as session:
        accounts = {a.id: a.external_ids["crm"] for a in await session.scalars(select(Account))}
        contracts = {c.id: c.external_ids["crm"] for c in await session.scalars(select(Contract))}
        checkpoints = sorted(
            (contracts[cp.contract_id], cp.term, cp.kind, cp.ordinal, cp.due_date, cp.status)
            for cp in await session.scalars(select(Checkpoint))
        )
        tasks = sorted(
            (accounts[t.account_id], t.kind, t.due_date, t.priority, t.status, t.title, t.owner)
            for t in await session.scalars(select(Task))
        )
        health = sorted(
            (contracts[c.id], c.health_score, c.health_band)
            for c in await session.scalars(select(Contract))
        )
    return {"checkpoints": checkpoints, "tasks": tasks, "health": health}


async def test_a_batch_writes_what_applying_each_event_on_a_fresh_load_writes(
    two_db_urls: tuple[str, str],
) -> None:
    batched, one_by_one = (Database(url) for url in two_db_urls)
    try:
        for db in (batched, one_by_one):
            await _portfolio_with_its_year(db)
        statements: list[str] = []

        def count(*args: Any) -> None:
            statements.append(args[2])

        event.listen(batched.engine.sync_engine, "before_cursor_execute", count)
        result = await process_batch(batched, holder="me", batch_size=10_000, currency=CURRENCY)
        await _apply_one_by_one(one_by_one)

        assert result is not None
        assert result.applied == result.rows > 50
        assert result.dead_lettered == 0
        written = await _written(batched)
        assert written["tasks"], "the year should make the engine write tasks"
        assert written == await _written(one_by_one)
        assert len(statements) < 3 * result.rows  # a fresh load alone takes 7 per event
    finally:
        await batched.dispose()
        await one_by_one.dispose()
