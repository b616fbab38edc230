"""The renewal pipeline (`/v1/reports/renewals`): contracts renewing within a window,
with their total ARR and the ARR at risk."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from shared.domain.reports.paging import Page, after, cursor_key, limit_of, page_of
from shared.domain.reports.period import check_window
from shared.domain.reports.queries import (
    collector_paused,
    fetch_rows,
    format_minor_sql,
    sum_minor,
    text_id,
)
from shared.domain.reports.schemas import PipelineReport
from shared.enums import CheckpointStatus, ContractStatus, HealthBand, TaskStatus
from shared.models import Account, Checkpoint, Contract, ContractTerm, Task
from shared.money import format_minor
from shared.rules.calendar import notice_deadline

AT_RISK_BANDS = (HealthBand.YELLOW.value, HealthBand.RED.value)
OUTREACH, BUDGET = "renewal_outreach", "budget_confirmation"


async def pipeline_report(
    session: AsyncSession,
    as_of: date,
    within_days: int,
    currency: str,
    page: Page | None = None,
) -> PipelineReport:
    """Contracts not churned whose R lies in [as_of, as_of + within_days], soonest first,
    with totals; ARR at risk is that of yellow and red contracts. Outreach and budget
    count when a task of that kind is done for the current term (the term ending at the
    contract's R); the budget also when the account's done budget task is due on the
    current term's budget day, since one task confirms the budget of every contract of
    the account due that day. Two queries: the totals over the whole window, then the
    contracts of the page (every one without a page) with their done tasks; a third
    looks up a cursor's contract."""
    check_window(as_of, within_days)
    in_window = and_(
        Contract.status != ContractStatus.CHURNED,
        Contract.end_date >= as_of,
        Contract.end_date <= as_of + timedelta(days=within_days),
    )
    current = aliased(ContractTerm)

    def done(kind: str) -> ColumnElement[bool]:
        return (
            select(Task.id)
            .join(
                current,
                and_(current.contract_id == Task.contract_id, current.number == Task.term),
            )
            .where(
                Task.contract_id == Contract.id,
                Task.kind == kind,
                Task.status == TaskStatus.DONE,
                current.end_date == Contract.end_date,
            )
            .exists()
        )

    def budget_day_done() -> ColumnElement[bool]:
        return (
            select(Task.id)
            .join(
                current,
                and_(current.contract_id == Contract.id, current.end_date == Contract.end_date),
            )
            .join(
                Checkpoint,
                and_(
                    Checkpoint.contract_id == Contract.id,
                    Checkpoint.term == current.number,
                    Checkpoint.kind == BUDGET,
                    Checkpoint.status != CheckpointStatus.CANCELLED,
                ),
            )
            .where(
                Task.account_id == Contract.account_id,
                Task.kind == BUDGET,
                Task.status == TaskStatus.DONE,
                Task.due_date == Checkpoint.due_date,
            )
            .exists()
        )

    at_risk = case((Contract.health_band.in_(AT_RISK_BANDS), Contract.arr_minor), else_=0)
    count, total, risky = (
        await fetch_rows(
            session,
            select(func.count(), sum_minor(Contract.arr_minor), sum_minor(at_risk)).where(
                in_window
            ),
        )
    )[0]
    key = await cursor_key(session, page, Contract.id, Contract.end_date)
    order = (Contract.end_date, Contract.id)
    rows = await fetch_rows(
        session,
        select(
            text_id(Contract.id),
            text_id(Contract.account_id),
            Account.name,
            Contract.end_date,
            format_minor_sql(Contract.arr_minor, currency),
            Contract.health_band,
            Account.owner,
            Contract.notice_period_days,
            done(OUTREACH),
            or_(done(BUDGET), budget_day_done()),
        )
        .join(Account, Account.id == Contract.account_id)
        .where(in_window, *([after(order, key)] if key else []))
        .order_by(*order)
        .limit(limit_of(page)),
    )
    rows, next_cursor = page_of(rows, page, lambda row: row[0])
    with collector_paused():
        return PipelineReport.model_validate(
            {
                "as_of": as_of,
                "within_days": within_days,
                "currency": currency,
                "count": count,
                "arr_total": format_minor(total, currency),
                "arr_at_risk": format_minor(risky, currency),
                "next_cursor": next_cursor,
                "items": [
                    {
                        "contract_id": contract_id,
                        "account_id": account_id,
                        "account_name": name,
                        "renewal_date": r,
                        "days_left": (r - as_of).days,
                        "arr": arr,
                        "health": band,
                        "owner": owner,
                        "notice_deadline": notice_deadline(r, notice),
                        "outreach_done": outreach,
                        "budget_confirmed": budget,
                    }
                    for (
                        contract_id,
                        account_id,
                        name,
                        r,
                        arr,
                        band,
                        owner,
                        notice,
                        outreach,
                        budget,
                    ) in rows
                ],
            }
        )
