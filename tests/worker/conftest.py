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
