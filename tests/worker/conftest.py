from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from shared.db import Database


@pytest.fixture
async def database(db_url: str) -> AsyncIterator[Database]:
    """The test's fresh database (see `db_url`), on each backend."""
    db = Database(db_url)
    try:
        yield db
    finally:
        await db.dispose()


@pytest.fixture
async def postgres_database(postgres_db_url: str) -> AsyncIterator[Database]:
    """A fresh Postgres database: concurrent writers commit ids out of order only there."""
    db = Database(postgres_db_url)
    try:
        yield db
    finally:
        await db.dispose()
