"""A database that cannot take the write right now answers 503 with Retry-After, writes
nothing, and leaves the connection usable: under overload clients retry, not give up."""

from __future__ import annotations

import sqlite3

from sqlalchemy.engine import make_url

from shared.models import Partner
from tests.support.api import open_harness


async def test_a_locked_database_is_503_with_retry_after_and_nothing_written(
    sqlite_db_url: str,
) -> None:
    async with open_harness(sqlite_db_url, sqlite_busy_timeout_ms=50) as api:
        other_writer = sqlite3.connect(make_url(sqlite_db_url).database or "", isolation_level=None)
        other_writer.execute("BEGIN IMMEDIATE")
        try:
            busy = await api.client.post("/v1/partners", json={"name": "P"})
        finally:
            other_writer.execute("ROLLBACK")
            other_writer.close()
        assert busy.status_code == 503
        assert busy.headers["retry-after"] == "1"
        assert busy.headers["content-type"] == "application/problem+json"
        assert busy.json()["type"] == "urn:renewals:problem:database-unavailable"
        assert await api.count(Partner) == 0
        retried = await api.client.post("/v1/partners", json={"name": "P"})
        assert retried.status_code == 201
        assert await api.count(Partner) == 1
