"""`renewals forecast refresh` stores a forecast for contracts from before forecasts."""

from __future__ import annotations

from sqlalchemy import select

from shared.models import ContractForecast
from tests.support.api import Harness
from tests.support.cli import run_cli
from tests.support.factories import make_account, make_contract, outbox_rows


async def test_refresh_forecasts_every_contract_once(api: Harness) -> None:
    account = await make_account(api.db)
    contracts = [await make_contract(api.db, account) for _ in range(3)]
    red = await make_contract(api.db, account, health_band="red")

    first = run_cli(api.settings.database_url, "forecast", "refresh", "--batch", "2")
    again = run_cli(api.settings.database_url, "forecast", "refresh")

    assert (first.returncode, again.returncode) == (0, 0), first.stderr + again.stderr
    assert "2 batch(es)" in first.stdout
    async with api.db.read() as session:
        rows = (await session.scalars(select(ContractForecast))).all()
    assert {(row.contract_id, row.category) for row in rows} == {
        *((c.id, "probable") for c in contracts),
        (red.id, "at_risk"),
    }
    assert await outbox_rows(api.db) == []  # first forecasts are no change
