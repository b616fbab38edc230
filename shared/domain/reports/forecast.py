"""The renewal forecast (`/v1/reports/forecast`): per month of R, the ARR of the terms
renewing then by forecast category, and the ARR expected of them."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import TypeVarTuple

from sqlalchemy import Select, Subquery, and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.domain.contracts.derived import active_on
from shared.domain.reports.queries import fetch_rows, segment_sql, sum_minor
from shared.domain.reports.schemas import (
    ForecastAmounts,
    ForecastContract,
    ForecastMonth,
    ForecastReport,
)
from shared.models import Account, Contract, ContractForecast, ContractTerm
from shared.money import format_minor
from shared.rules.calendar import add_months
from shared.rules.forecast import ForecastCategory
from shared.rules.types import Segment

MAX_MONTHS = 36
_Ts = TypeVarTuple("_Ts")


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


def _account_arr(as_of: date) -> Subquery:
    """Each account's ARR of contracts active on `as_of`, which its segment derives from
    as account reads show it (an account with none has ARR 0)."""
    return (
        select(Contract.account_id, sum_minor(Contract.arr_minor).label("arr"))
        .where(active_on(as_of))
        .group_by(Contract.account_id)
        .subquery()
    )


@dataclass(frozen=True, slots=True)
class ForecastFilters:
    """The cuts of the forecast: the account's owner, the contract's partner, the
    account's segment on `as_of`."""

    owner: str | None = None
    partner_id: uuid.UUID | None = None
    segment: Segment | None = None


def _forecast_terms(
    statement: Select[*_Ts],
    start: date,
    until: date,
    as_of: date,
    currency: str,
    filters: ForecastFilters,
) -> Select[*_Ts]:
    """`statement` narrowed to the forecast terms whose R lies in [start, until): the
    report and its list of contracts both read them here, so a month's sum is its list's
    sum."""
    statement = (
        statement.select_from(ContractForecast)
        .join(
            ContractTerm,
            and_(
                ContractTerm.contract_id == ContractForecast.contract_id,
                ContractTerm.number == ContractForecast.term,
            ),
        )
        .join(Contract, Contract.id == ContractForecast.contract_id)
        .join(Account, Account.id == Contract.account_id)
        .where(
            ContractTerm.end_date >= start,
            ContractTerm.end_date < until,
            *([Account.owner == filters.owner] if filters.owner is not None else []),
            *(
                [Contract.partner_id == filters.partner_id]
                if filters.partner_id is not None
                else []
            ),
        )
    )
    if filters.segment is not None:
        account_arr = _account_arr(as_of)
        total = func.coalesce(account_arr.c.arr, 0)
        statement = statement.outerjoin(account_arr, account_arr.c.account_id == Account.id).where(
            segment_sql(total, currency) == filters.segment.value
        )
    return statement


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
    filters = ForecastFilters(owner=owner, partner_id=partner_id, segment=segment)
    statement = _forecast_terms(
        select(
            ContractTerm.end_date,
            ContractForecast.category,
            func.count(),
            sum_minor(ContractTerm.arr_minor),
            sum_minor(ContractForecast.expected_arr_minor),
        ),
        as_of,
        until,
        as_of,
        currency,
        filters,
    ).group_by(ContractTerm.end_date, ContractForecast.category)
    rows = await fetch_rows(session, statement)
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


async def forecast_contracts(
    session: AsyncSession,
    as_of: date,
    month: date,
    currency: str,
    filters: ForecastFilters,
) -> list[ForecastContract]:
    """The terms one month of `forecast_report` sums (the month of `month`, from `as_of`
    on when it is the current one), each with its contract and account, by R then
    account name."""
    start = max(as_of, month.replace(day=1))
    statement = _forecast_terms(
        select(
            Contract.id,
            Account.name,
            ContractTerm.end_date,
            ContractForecast.category,
            ContractTerm.arr_minor,
            ContractForecast.expected_arr_minor,
            ContractForecast.overridden,
        ),
        start,
        add_months(month.replace(day=1), 1),
        as_of,
        currency,
        filters,
    ).order_by(ContractTerm.end_date, Account.name, Contract.id)
    return [
        ForecastContract(
            contract_id=contract_id,
            account_name=account_name,
            renewal_date=renewal_date,
            category=ForecastCategory(category),
            arr=format_minor(arr, currency),
            expected_arr=format_minor(expected, currency),
            overridden=overridden,
        )
        for (
            contract_id,
            account_name,
            renewal_date,
            category,
            arr,
            expected,
            overridden,
        ) in await fetch_rows(session, statement)
    ]
