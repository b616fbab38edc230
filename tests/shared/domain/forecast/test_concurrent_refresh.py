"""Two transactions forecasting one contract for the first time at once (Postgres, where
they really run side by side): the second waits for the first's lock instead of failing
on the unique (contract, term)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import select

from shared.db import Database
from shared.domain.context import Context
from shared.domain.forecast.schemas import ForecastOverride
from shared.domain.forecast.service import override_forecast, refresh_forecasts
from shared.models import ContractForecast
from shared.rules.forecast import ForecastCategory
from tests.support.factories import make_account, make_contract

CTX = Context(actor="test", currency="USD", time=datetime(2026, 6, 1, tzinfo=UTC))


async def test_concurrent_first_forecasts_of_a_contract_both_commit(
    postgres_database: Database,
) -> None:
    db = postgres_database
    contract = await make_contract(db, await make_account(db))
    first_locked = asyncio.Event()

    async def engine() -> None:
        async with db.transaction() as session:
            await refresh_forecasts(session, CTX, [contract.id])
            first_locked.set()
            await asyncio.sleep(0.3)  # hold the lock while the override arrives

    async def person() -> None:
        await first_locked.wait()
        async with db.transaction() as session:
            body = ForecastOverride(category=ForecastCategory.COMMIT)
            await override_forecast(session, CTX, contract.id, body, set_by="Ann")

    await asyncio.gather(engine(), person())

    async with db.read() as session:
        rows = (await session.scalars(select(ContractForecast))).all()
    assert [(row.term, row.category, row.set_by) for row in rows] == [(1, "commit", "Ann")]
