"""The renewal forecast (`/v1/reports/forecast`): per month of R, the ARR of the terms
renewing then by forecast category, and the ARR expected of them."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.domain.contracts.derived import active_on
from shared.domain.reports.queries import fetch_rows, segment_sql, sum_minor
from shared.domain.reports.schemas import ForecastAmounts, ForecastMonth, ForecastReport
from shared.models import Account, Contract, ContractForecast, ContractTerm
from shared.money import format_minor
from shared.rules.calendar import add_months
from shared.rules.forecast import ForecastCategory
from shared.rules.types import Segment

MAX_MONTHS = 36


def window_end(as_of: date, months: int) -> date:
    """The first day after the window: the window is the rest of `as_of`'s month and
    the `months - 1` whole months after it."""
    return add_months(as_of.replace(day=1), months)


def _month(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


class _Sums:
    def __init__(self) -> None:
        self.contracts = 0
        self.arr: dict[str, int] = dict.fromkeys(ForecastCategory, 0)
        self.expected = 0

    def add(self, category: str, contracts: int, arr: int, expected: int) -> None:
        self.contracts += contracts
        self.arr[category] += arr
        self.expected += expected

    def amounts(self, currency: str) -> dict[str, object]:
        return {
            "contracts": self.contracts,
            **{f"{c}_arr": format_minor(self.arr[c], currency) for c in ForecastCategory},
            "arr_total": format_minor(sum(self.arr.values()), currency),
            "expected_arr": format_minor(self.expected, currency),
        }


def _segment_is(segment: Segment, as_of: date, currency: str) -> ColumnElement[bool]:
    """The account's segment by the ARR of its contracts active on `as_of`, as account
    reads derive it (no active contract: ARR 0)."""
    account_arr = (
        select(sum_minor(Contract.arr_minor))
        .where(Contract.account_id == Account.id, active_on(as_of))
        .scalar_subquery()
    )
    return segment_sql(account_arr, currency) == segment.value


async def forecast_report(
    session: AsyncSession,
    as_of: date,
    months: int,
    currency: str,
    *,
    owner: str | None = None,
    partner_id: uuid.UUID | None = None,
    segment: Segment | None = None,
) -> ForecastReport:
    """Terms whose R lies in [as_of, `window_end`), with their stored forecast, summed
    per day of R and category in one query; Python adds the days up into months. The
    ARR of a category is the terms' own ARR (what is up for renewal); `expected_arr` is
    the forecasts' expected ARR. Terms the engine has not forecast yet are left out.
    Filters: the account's owner, the contract's partner, the account's segment."""
    until = window_end(as_of, months)
    conditions = [
        ContractTerm.end_date >= as_of,
        ContractTerm.end_date < until,
        *([Account.owner == owner] if owner is not None else []),
        *([Contract.partner_id == partner_id] if partner_id is not None else []),
        *([_segment_is(segment, as_of, currency)] if segment is not None else []),
    ]
    rows = await fetch_rows(
        session,
        select(
            ContractTerm.end_date,
            ContractForecast.category,
            func.count(),
            sum_minor(ContractTerm.arr_minor),
            sum_minor(ContractForecast.expected_arr_minor),
        )
        .join(
            ContractTerm,
            and_(
                ContractTerm.contract_id == ContractForecast.contract_id,
                ContractTerm.number == ContractForecast.term,
            ),
        )
        .join(Contract, Contract.id == ContractForecast.contract_id)
        .join(Account, Account.id == Contract.account_id)
        .where(*conditions)
        .group_by(ContractTerm.end_date, ContractForecast.category),
    )
    per_month: dict[str, _Sums] = defaultdict(_Sums)
    totals = _Sums()
    for day, category, count, arr, expected in rows:
        per_month[_month(day)].add(category, count, arr, expected)
        totals.add(category, count, arr, expected)
    items = []
    for k in range(months):
        month = _month(add_months(as_of.replace(day=1), k))
        sums = per_month.get(month, _Sums())
        items.append(ForecastMonth.model_validate({"month": month, **sums.amounts(currency)}))
    return ForecastReport(
        as_of=as_of,
        months=months,
        until=until,
        currency=currency,
        owner=owner,
        partner_id=partner_id,
        segment=segment,
        totals=ForecastAmounts.model_validate(totals.amounts(currency)),
        items=items,
    )
