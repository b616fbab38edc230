from __future__ import annotations

import asyncio
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

import shared.models  # noqa: F401
from shared.db.base import Base
from shared.db.engine import create_unpooled_engine
from shared.db.migrate import alembic_config, downgrade, upgrade
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
