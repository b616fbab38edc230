"""A month of the forecast lists the very terms the report sums, with the same filters."""

from __future__ import annotations

from datetime import UTC, date, datetime

from shared.db import Database
from shared.domain.context import Context
from shared.domain.forecast.service import refresh_forecasts
from shared.domain.partners.service import partner_names
from shared.domain.reports.forecast import ForecastFilters, forecast_contracts, forecast_report
from tests.support.factories import make_account, make_contract, make_partner

CTX = Context(actor="test", currency="USD", time=datetime(2026, 3, 1, tzinfo=UTC))
AS_OF = date(2026, 3, 10)


async def test_a_months_contracts_add_up_to_the_reports_month(database: Database) -> None:
    db = database
    partner = await make_partner(db, name="Zeta Resellers")
    await make_partner(db, name="Alpha Partners")
    ann = await make_account(db, name="Ann's", owner="ann@vendor.example")
    bob = await make_account(db, name="Bob's", owner="bob@vendor.example", partner_id=partner.id)
    rows = [
        await make_contract(db, ann, start_date=date(2025, 3, 5), end_date=date(2026, 3, 5)),
        await make_contract(
            db, ann, start_date=date(2025, 3, 20), end_date=date(2026, 3, 20), arr_minor=100_001
        ),
        await make_contract(db, bob, start_date=date(2025, 3, 25), end_date=date(2026, 3, 25)),
        await make_contract(db, bob, start_date=date(2025, 4, 2), end_date=date(2026, 4, 2)),
    ]
    async with db.transaction() as session:
        await refresh_forecasts(session, CTX, [row.id for row in rows])

    async with db.read() as session:
        march = await forecast_contracts(session, AS_OF, date(2026, 3, 1), "USD", ForecastFilters())
        bobs = await forecast_contracts(
            session, AS_OF, date(2026, 3, 1), "USD", ForecastFilters(partner_id=partner.id)
        )
        report = await forecast_report(session, AS_OF, 2, "USD")
        partners = await partner_names(session)

    assert [(c.account_name, c.renewal_date, c.arr) for c in march] == [
        ("Ann's", date(2026, 3, 20), "1000.01"),
        ("Bob's", date(2026, 3, 25), "24000.00"),
    ]
    assert [c.contract_id for c in march] == [rows[1].id, rows[2].id]
    assert [c.contract_id for c in bobs] == [rows[2].id]
    assert report.items[0].month == "2026-03"
    assert report.items[0].contracts == len(march)
    assert report.items[0].arr_total == "25000.01"
    assert [name for _, name in partners] == ["Alpha Partners", "Zeta Resellers"]
