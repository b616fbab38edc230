"""Revenue retention (DESIGN §3.3): GRR and NRR over the accounts active at the start
of a period, with each account's expansion, contraction and churn."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, and_, case, cast, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from shared.domain.contracts.derived import active_on
from shared.domain.reports.paging import Page, after, cursor_key, limit_of, page_of
from shared.domain.reports.period import check_period
from shared.domain.reports.queries import (
    collector_paused,
    fetch_rows,
    format_minor_sql,
    rate,
    sum_minor,
    text_id,
)
from shared.domain.reports.schemas import RevenueRetentionReport
from shared.models import Account, Contract, ContractTerm
from shared.money import format_minor


def _latest_term_arr(on: date) -> ColumnElement[int]:
    """The ARR of a contract's latest term started by `on` (the term covering the date, or
    the last one during grace and pending auto-renewal), correlated to `Contract`: one
    backward step on the (contract_id, number) index per contract. SQLite's form."""
    return (
        select(ContractTerm.arr_minor)
        .where(ContractTerm.contract_id == Contract.id, ContractTerm.start_date <= on)
        .order_by(ContractTerm.number.desc())
        .limit(1)
        .scalar_subquery()
    )


def _latest_terms(on: date) -> Any:
    """The same terms as a set, one per contract: started by `on` with no later-numbered
    term started by then. Postgres's form: it plans this as one hash anti-join, where it
    runs a correlated subquery once per contract, several times slower."""
    term, later = aliased(ContractTerm), aliased(ContractTerm)
    return (
        select(term.contract_id, term.arr_minor)
        .where(
            term.start_date <= on,
            ~exists().where(
                later.contract_id == term.contract_id,
                later.number > term.number,
                later.start_date <= on,
            ),
        )
        .subquery()
    )


def _contract_arr(start: date, end: date, dialect: str) -> Any:
    """Per contract active on `start` or `end`: its account and its ARR on each date (null
    when not active then). Materialized, so each contract's terms are looked up once."""
    if dialect == "sqlite":
        statement = select(
            Contract.account_id,
            case((active_on(start), _latest_term_arr(start))).label("start_arr"),
            case((active_on(end), _latest_term_arr(end))).label("end_arr"),
        )
    else:
        at_start, at_end = _latest_terms(start), _latest_terms(end)
        statement = (
            select(
                Contract.account_id,
                at_start.c.arr_minor.label("start_arr"),
                at_end.c.arr_minor.label("end_arr"),
            )
            .outerjoin(at_start, and_(at_start.c.contract_id == Contract.id, active_on(start)))
            .outerjoin(at_end, and_(at_end.c.contract_id == Contract.id, active_on(end)))
        )
    return (
        statement.where(or_(active_on(start), active_on(end)))
        .cte("contract_arr")
        .prefix_with("MATERIALIZED")
    )


async def revenue_retention_report(
    session: AsyncSession, start: date, end: date, currency: str, page: Page | None = None
) -> RevenueRetentionReport:
    """GRR and NRR over the accounts active on `start`; accounts that became customers
    later are left out, accounts with nothing active on `end` count 0 (churned). A new
    contract of a cohort account counts as expansion. Per account: expansion is the ARR
    gained, churn the whole starting ARR of an account at 0, contraction any other loss.
    One query: the per-account rows of the page (all of them without a page), each
    carrying the totals of the whole cohort, which the window functions compute before
    the page is cut. A cursor's account is looked up first; a page left empty by rows
    gone since (nothing follows the cursor) reads the totals from the first row."""
    check_period(start, end)
    per_contract = _contract_arr(start, end, session.get_bind().dialect.name)
    per_account = (
        select(
            per_contract.c.account_id,
            sum_minor(per_contract.c.start_arr).label("start_arr"),
            sum_minor(per_contract.c.end_arr).label("end_arr"),
        )
        .group_by(per_contract.c.account_id)
        .having(func.count(per_contract.c.start_arr) > 0)
        .subquery()
    )
    start_arr, end_arr = per_account.c.start_arr, per_account.c.end_arr
    churned = case((end_arr == 0, start_arr), else_=0)
    amounts = [
        start_arr,
        end_arr,
        case((end_arr > start_arr, end_arr - start_arr), else_=0),  # expansion
        case((start_arr > end_arr, start_arr - end_arr), else_=0) - churned,  # contraction
        churned,
    ]
    kept = case((end_arr < start_arr, end_arr), else_=start_arr)
    cohort = (
        select(
            Account.id.label("sort_id"),
            text_id(Account.id),
            Account.name.label("account_name"),
            *(format_minor_sql(amount, currency) for amount in amounts),
            func.count().over(),
            *(cast(func.sum(total).over(), BigInteger) for total in [kept, *amounts]),
        )
        .join(Account, Account.id == per_account.c.account_id)
        .subquery()
    )
    order = (cohort.c.account_name, cohort.c.sort_id)

    async def rows_after(key: tuple[Any, ...] | None, limit: int | None) -> Any:
        return await fetch_rows(
            session,
            select(*list(cohort.c)[1:])
            .where(*([after(order, key)] if key else []))
            .order_by(*order)
            .limit(limit),
        )

    key = await cursor_key(session, page, Account.id, Account.name)
    rows, next_cursor = page_of(await rows_after(key, limit_of(page)), page, lambda row: row[0])
    totals = rows or (await rows_after(None, 1) if key else rows)
    accounts, kept_total, starting, ending, expansion, contraction, lost = (
        tuple(int(total) for total in totals[0][-7:]) if totals else (0,) * 7
    )
    reason = None
    if not starting:
        reason = (
            "no account had ARR on start"
            if accounts
            else "no account had an active contract on start"
        )
    with collector_paused():
        return RevenueRetentionReport.model_validate(
            {
                "start": start,
                "end": end,
                "currency": currency,
                "accounts": accounts,
                "starting_arr": format_minor(starting, currency),
                "ending_arr": format_minor(ending, currency),
                "expansion_arr": format_minor(expansion, currency),
                "contraction_arr": format_minor(contraction, currency),
                "churned_arr": format_minor(lost, currency),
                "grr": rate(kept_total, starting),
                "nrr": rate(ending, starting),
                "reason": reason,
                "next_cursor": next_cursor,
                "items": [
                    {
                        "account_id": account_id,
                        "account_name": name,
                        "start_arr": start_text,
                        "end_arr": end_text,
                        "expansion_arr": up,
                        "contraction_arr": down,
                        "churned_arr": gone,
                    }
                    for account_id, name, start_text, end_text, up, down, gone, *_ in rows
                ],
            }
        )
