"""Every Postgres connection of a `Database` carries RENEWALS_DB_STATEMENT_TIMEOUT_MS:
the server cancels a longer statement (SQLSTATE 57014) and the connection stays usable."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from shared.config import Settings
from shared.db import Database


async def _show_timeout(db: Database) -> str:
    async with db.read() as session:
        return str(await session.scalar(text("SHOW statement_timeout")))


async def test_a_statement_past_the_timeout_is_cancelled_and_the_pool_stays_usable(
    postgres_db_url: str,
) -> None:
    db = Database(postgres_db_url, statement_timeout_ms=200)
    try:
        with pytest.raises(DBAPIError) as cancelled:
            async with db.transaction() as session:
                await session.execute(text("SELECT pg_sleep(1)"))
        assert getattr(cancelled.value.orig, "sqlstate", None) == "57014"
        assert await _show_timeout(db) == "200ms"
    finally:
        await db.dispose()


async def test_the_setting_defaults_to_15_s_and_zero_turns_it_off(postgres_db_url: str) -> None:
    assert Settings(database_url=postgres_db_url).db_statement_timeout_ms == 15_000
    default = Database(postgres_db_url)
    unlimited = Database(postgres_db_url, statement_timeout_ms=0)
    try:
        assert await _show_timeout(default) == "15s"
        assert await _show_timeout(unlimited) == "0"
    finally:
        await default.dispose()
        await unlimited.dispose()
