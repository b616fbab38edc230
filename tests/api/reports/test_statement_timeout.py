"""A report whose query runs past the statement timeout answers 503 problem+json with
`Retry-After` (not a 500, not a hung request), and the next call succeeds. The query is
held up by a lock another connection keeps on the table it reads, which counts against
the timeout like a slow plan would."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from shared.db import Database
from tests.support.api import open_harness


async def test_a_report_past_the_statement_timeout_is_503_with_retry_after(
    postgres_db_url: str,
) -> None:
    blocker = Database(postgres_db_url, statement_timeout_ms=0)
    async with open_harness(postgres_db_url, db_statement_timeout_ms=300) as api:
        try:
            async with blocker.transaction() as session:
                await session.execute(text("LOCK TABLE contracts IN ACCESS EXCLUSIVE MODE"))
                held = await asyncio.wait_for(api.client.get("/v1/reports/renewals"), 10)
        finally:
            await blocker.dispose()
        retried = await api.client.get("/v1/reports/renewals")

    assert held.status_code == 503, held.text
    assert held.headers["content-type"] == "application/problem+json"
    assert held.json()["type"] == "urn:renewals:problem:statement-timeout"
    assert held.headers["retry-after"] == "10"
    assert retried.status_code == 200, retried.text
