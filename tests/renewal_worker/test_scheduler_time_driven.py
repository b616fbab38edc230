"""The sweep and cancellation notices: a late notice neither churns the contract at R
nor stops its auto-renewal."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from services.renewal_worker.scheduler import sweep
from shared.db import Database
from shared.models import Contract
from tests.support.factories import make_account, make_contract

AS_OF = date(2026, 6, 1)
TIME = datetime(2026, 6, 1, tzinfo=UTC)


async def _contract(db: Database, contract_id: object) -> Contract:
    async with db.read() as session:
        contract = await session.scalar(
            select(Contract).where(Contract.id == contract_id).options(selectinload(Contract.terms))
        )
        assert contract is not None
        return contract


async def test_a_late_notice_neither_churns_at_r_nor_stops_the_auto_renewal(
    database: Database,
) -> None:
    account = await make_account(database)
    late = {
        "start_date": date(2025, 5, 20),
        "end_date": date(2026, 5, 20),
        "notice_period_days": 30,
        "cancellation_notice_on": date(2026, 5, 1),
        "cancellation_reason": "price",
        "cancellation_notice_late": True,
    }
    renews = await make_contract(database, account, auto_renew=True, **late)
    by_hand = await make_contract(database, account, **late)
    in_time = await make_contract(database, account, **(late | {"cancellation_notice_late": False}))

    result = await sweep(database, AS_OF, time=TIME, currency="USD")

    assert (result.renewals, result.churns) == (1, 1)
    renewed = await _contract(database, renews.id)
    assert (renewed.status, renewed.end_date, len(renewed.terms)) == (
        "active",
        date(2027, 5, 20),
        2,
    )
    assert (renewed.cancellation_notice_on, renewed.cancellation_notice_late) == (None, False)
    untouched = await _contract(database, by_hand.id)
    assert (untouched.status, untouched.end_date, untouched.cancellation_notice_late) == (
        "active",
        date(2026, 5, 20),
        True,
    )
    churned = await _contract(database, in_time.id)
    assert (churned.status, churned.churned_on) == ("churned", date(2026, 5, 20))
