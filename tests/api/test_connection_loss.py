"""The API's pool does not ping connections before use: a database restart must surface
as a retryable 503 once per open connection, never as a 500 or a lost write, and the
next request must work again."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text

from shared.db.engine import create_unpooled_engine
from shared.models import Partner
from tests.support.api import Harness, open_harness


@pytest.fixture
async def postgres_api(postgres_db_url: str) -> AsyncIterator[Harness]:
    async with open_harness(postgres_db_url) as harness:
        yield harness


async def _drop_server_connections(url: str) -> None:
    """What a restart does to the pool: every other session of the database is ended."""
    engine = create_unpooled_engine(url)
    try:
        async with engine.connect() as connection:
            await connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
    finally:
        await engine.dispose()


@pytest.mark.parametrize("idempotency_key", [None, "retry-me"])
async def test_lost_connections_answer_503_once_then_recover(
    postgres_api: Harness, idempotency_key: str | None
) -> None:
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
    assert (await postgres_api.client.post("/v1/partners", json={"name": "A"})).status_code == 201
    await _drop_server_connections(postgres_api.settings.database_url)

    lost = await postgres_api.client.post("/v1/partners", json={"name": "B"}, headers=headers)
    assert lost.status_code == 503
    assert lost.headers["content-type"] == "application/problem+json"
    assert lost.json()["type"] == "urn:renewals:problem:database-unavailable"

    retried = await postgres_api.client.post("/v1/partners", json={"name": "B"}, headers=headers)
    assert retried.status_code == 201
    assert await postgres_api.count(Partner) == 2
