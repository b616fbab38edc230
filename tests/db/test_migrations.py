from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Uuid, column, insert, inspect, select, table
from sqlalchemy.engine import Connection

import shared.models  # noqa: F401
from shared.config import Settings
from shared.db import Database
from shared.db.base import Base
from shared.db.engine import create_unpooled_engine
from shared.db.migrate import alembic_config, downgrade, upgrade
from shared.db.types import UTCDateTime
from shared.models import Checkpoint, Task
from tests.support.databases import PostgresTemplates


def test_the_chain_has_exactly_one_head() -> None:
    assert len(ScriptDirectory.from_config(alembic_config()).get_heads()) == 1


async def _tables(url: str) -> set[str]:
    engine = create_unpooled_engine(url)
    try:
        async with engine.connect() as connection:
            names: list[str] = await connection.run_sync(
                lambda sync: inspect(sync).get_table_names()
            )
            return set(names) - {"alembic_version"}
    finally:
        await engine.dispose()


async def test_upgrade_from_empty_downgrade_to_base_and_upgrade_again(empty_db_url: str) -> None:
    expected = set(Base.metadata.tables)
    await upgrade(empty_db_url)
    assert await _tables(empty_db_url) == expected
    await downgrade(empty_db_url)
    assert await _tables(empty_db_url) == set()
    await upgrade(empty_db_url)
    assert await _tables(empty_db_url) == expected


async def test_upgrading_twice_is_a_no_op(empty_db_url: str) -> None:
    await upgrade(empty_db_url)
    await upgrade(empty_db_url)
    assert await _tables(empty_db_url) == set(Base.metadata.tables)


async def test_models_match_the_migrations(db_url: str) -> None:
    def diff(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(
            connection,
            opts={"compare_type": True, "render_as_batch": connection.dialect.name == "sqlite"},
        )
        return list(compare_metadata(context, Base.metadata))

    engine = create_unpooled_engine(db_url)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(diff) == []
    finally:
        await engine.dispose()


def test_concurrent_migrations_are_serialised_on_postgres(
    postgres_templates: PostgresTemplates,
) -> None:
    async def three_at_once(url: str) -> set[str]:
        await asyncio.gather(upgrade(url), upgrade(url), upgrade(url))
        return await _tables(url)

    url = postgres_templates.empty()
    try:
        assert asyncio.run(three_at_once(url)) == set(Base.metadata.tables)
    finally:
        postgres_templates.drop(url)


STAMPS = {
    "created_at": datetime(2026, 3, 1, tzinfo=UTC),
    "updated_at": datetime(2026, 3, 1, tzinfo=UTC),
}


async def _contract_as_0005_stored_it(
    db: Database, end_date: date = date(2027, 3, 15), status: str = "active"
) -> tuple[uuid.UUID, uuid.UUID]:
    """An account and a contract with its term 1, written with the columns 0005 had, so
    later migrations can be tested on rows stored before them."""
    account_id, contract_id = uuid.uuid4(), uuid.uuid4()
    accounts_at_0005 = table(
        "accounts",
        column("id", Uuid),
        *(column(name) for name in ("name", "external_ids", "fiscal_year_start_month")),
        column("budget_lead_days"),
        *(column(name, UTCDateTime) for name in STAMPS),
    )
    contracts_at_0005 = table(
        "contracts",
        *(column(name, Uuid) for name in ("id", "account_id")),
        *(column(name) for name in ("start_date", "end_date", "arr_minor", "auto_renew")),
        *(column(name) for name in ("notice_period_days", "status", "health_score")),
        *(column(name) for name in ("health_band", "health_signals", "external_ids")),
        *(column(name, UTCDateTime) for name in STAMPS),
    )
    terms_at_0005 = table(
        "contract_terms",
        *(column(name, Uuid) for name in ("id", "contract_id")),
        *(column(name) for name in ("number", "start_date", "end_date", "arr_minor")),
    )
    async with db.transaction() as session:
        await session.execute(
            insert(accounts_at_0005).values(
                id=account_id,
                name="Acme",
                external_ids="{}",
                fiscal_year_start_month=1,
                budget_lead_days=90,
                **STAMPS,
            )
        )
        await session.execute(
            insert(contracts_at_0005).values(
                id=contract_id,
                account_id=account_id,
                start_date=date(2026, 3, 15),
                end_date=end_date,
                arr_minor=1_200_000,
                auto_renew=False,
                notice_period_days=0,
                status=status,
                health_score=100,
                health_band="green",
                health_signals="[]",
                external_ids="{}",
                **STAMPS,
            )
        )
        await session.execute(
            insert(terms_at_0005).values(
                id=uuid.uuid4(),
                contract_id=contract_id,
                number=1,
                start_date=date(2026, 3, 15),
                end_date=end_date,
                arr_minor=1_200_000,
            )
        )
    return account_id, contract_id


async def test_tasks_stored_before_their_version_column_get_version_1(empty_db_url: str) -> None:
    """0006 adds `tasks.version` to a table that already holds tasks; the mapper then
    checks and bumps it on the next update."""
    await upgrade(empty_db_url, "0005")
    db = Database(empty_db_url)
    try:
        account_id, contract_id = await _contract_as_0005_stored_it(db)
        task_id = uuid.uuid4()
        tasks_at_0005 = table(  # the table as 0005 left it: no version
            "tasks",
            *(column(name, Uuid) for name in ("id", "contract_id", "account_id")),
            *(column(name) for name in ("term", "kind", "title", "description", "priority")),
            *(column(name) for name in ("status", "dedupe_key", "due_date")),
            *(column(name, UTCDateTime) for name in ("created_at", "updated_at")),
        )
        async with db.transaction() as session:
            await session.execute(
                insert(tasks_at_0005).values(
                    id=task_id,
                    contract_id=contract_id,
                    account_id=account_id,
                    term=1,
                    kind="kickoff",
                    title="Kick off",
                    description="Meet the team",
                    priority="normal",
                    status="open",
                    dedupe_key="kickoff:before-0006",
                    due_date=date(2026, 3, 22),
                    created_at=datetime(2026, 3, 1, tzinfo=UTC),
                    updated_at=datetime(2026, 3, 1, tzinfo=UTC),
                )
            )
        await db.dispose()
        await upgrade(empty_db_url)
        db = Database(empty_db_url)
        async with db.transaction() as session:
            task = await session.get(Task, task_id)
            assert task is not None
            assert task.version == 1
            task.status = "done"
        async with db.read() as session:
            updated = await session.get(Task, task_id)
            assert updated is not None
            assert updated.version == 2
    finally:
        await db.dispose()


async def test_contracts_planned_before_the_renewal_markers_get_them(empty_db_url: str) -> None:
    """0009 adds the renewal markers to the current term of live contracts whose R has
    not passed, as `planned`, so the next sweep opens those already reached."""
    await upgrade(empty_db_url, "0008")
    db = Database(empty_db_url)
    try:
        ahead = date.today() + timedelta(days=75)
        _, live = await _contract_as_0005_stored_it(db, end_date=ahead)
        _, churned = await _contract_as_0005_stored_it(db, end_date=ahead, status="churned")
        _, lapsed = await _contract_as_0005_stored_it(db, end_date=date.today() - timedelta(1))
        await db.dispose()
        await upgrade(empty_db_url)
        db = Database(empty_db_url)
        async with db.read() as session:
            rows = (
                await session.execute(
                    select(Checkpoint.contract_id, Checkpoint.kind, Checkpoint.due_date,
                           Checkpoint.opens_on, Checkpoint.status, Checkpoint.term)
                )
            ).all()  # fmt: skip
        assert sorted((r.contract_id, r.kind, r.due_date, r.opens_on, r.status, r.term)
                      for r in rows) == sorted([
            (live, "renewal_near", ahead - timedelta(60), ahead - timedelta(60), "planned", 1),
            (live, "renewal_window", ahead - timedelta(90), ahead - timedelta(90), "planned", 1),
        ])  # fmt: skip
        assert {churned, lapsed}.isdisjoint(r.contract_id for r in rows)
    finally:
        await db.dispose()


_SUBSCRIPTIONS_AT_0012 = table(  # as 0012 left it: secrets in clear
    "webhook_subscriptions",
    column("id", Uuid),
    *(column(name) for name in ("url", "event_types", "enabled", "secret", "previous_secret")),
    *(column(name, UTCDateTime) for name in ("created_at", "updated_at")),
)


async def _secrets(url: str) -> list[tuple[str, str | None]]:
    engine = create_unpooled_engine(url)
    try:
        async with engine.connect() as connection:
            query = select(
                _SUBSCRIPTIONS_AT_0012.c.secret, _SUBSCRIPTIONS_AT_0012.c.previous_secret
            )
            return [(row.secret, row.previous_secret) for row in await connection.execute(query)]
    finally:
        await engine.dispose()


async def test_secrets_stored_in_clear_are_sealed_and_a_downgrade_opens_them(
    empty_db_url: str,
) -> None:
    """0013 seals the signing secrets stored before it with RENEWALS_SECRET_KEY (the
    tests' key), in place; its downgrade restores them in clear."""
    await upgrade(empty_db_url, "0012")
    at = datetime(2026, 11, 1, tzinfo=UTC)
    rows = [("whsec_current", "whsec_previous"), ("whsec_only", None)]
    engine = create_unpooled_engine(empty_db_url)
    try:
        async with engine.begin() as connection:
            for secret, previous in rows:
                await connection.execute(
                    insert(_SUBSCRIPTIONS_AT_0012).values(
                        id=uuid.uuid4(), url="https://hooks.example.com", event_types="[]",
                        enabled=True, secret=secret, previous_secret=previous,
                        created_at=at, updated_at=at,
                    )
                )  # fmt: skip
    finally:
        await engine.dispose()
    await upgrade(empty_db_url)
    sealed = await _secrets(empty_db_url)
    box = Settings(database_url=empty_db_url).secret_box()
    assert all(not secret.startswith("whsec_") for secret, _ in sealed)
    opened = [(box.open(s), None if p is None else box.open(p)) for s, p in sealed]
    assert sorted(opened, key=str) == sorted(rows, key=str)
    await downgrade(empty_db_url, "0012")
    assert sorted(await _secrets(empty_db_url), key=str) == sorted(rows, key=str)
