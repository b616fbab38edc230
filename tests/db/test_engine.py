"""Engines as every process builds them (`shared.db.engine`)."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from shared.db import Database
from shared.db.engine import create_unpooled_engine

SECRET = "jane.doe@example.com"


async def test_a_failing_statement_never_shows_its_bound_values(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="sqlalchemy")
    with pytest.raises(DBAPIError) as failed:
        async with database.transaction() as session:
            await session.execute(
                text("INSERT INTO no_such_table (email) VALUES (:email)"), {"email": SECRET}
            )
    assert "hidden due to hide_parameters" in str(failed.value)
    assert SECRET not in str(failed.value)
    assert SECRET not in caplog.text


async def test_the_unpooled_engine_hides_bound_values_too(db_url: str) -> None:
    engine = create_unpooled_engine(db_url)
    try:
        with pytest.raises(DBAPIError) as failed:
            async with engine.connect() as connection:
                await connection.execute(
                    text("SELECT * FROM no_such_table WHERE email = :email"), {"email": SECRET}
                )
    finally:
        await engine.dispose()
    assert SECRET not in str(failed.value)
