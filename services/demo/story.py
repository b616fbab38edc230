"""What the year did, told with the numbers the product itself shows: the tasks the
engine opened, an account manager's agenda (`GET /v1/agenda`), the renewal pipeline
(`GET /v1/reports/renewals`) and partner retention (`GET /v1/reports/retention`)."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.demo.portfolio import Kind, Portfolio
from shared.config import Settings
from shared.domain.reports.csv import to_table
from shared.domain.reports.pipeline import pipeline_report
from shared.domain.reports.retention import retention_report
from shared.domain.views.agenda import build_agenda
from shared.enums import ContractStatus, HealthBand, TaskStatus
from shared.models import Contract, ContractTerm, Task
from shared.rules.stage import LAPSE_GRACE

PIPELINE_DAYS = 90
SHOWN = 8
"""Rows shown of a long list; the rest are counted."""


class TaskKindRow(BaseModel):
    kind: str
    opened: int
    done: int
    dismissed: int
    auto_closed: int
    open: int


class AgendaRow(BaseModel):
    due: date
    priority: str
    kind: str
    account: str
    arr: str


class PipelineRow(BaseModel):
    renewal_date: date
    days_left: int
    account: str
    arr: str
    health: str
    owner: str | None
    outreach_done: bool


class RetentionRow(BaseModel):
    partner: str
    tier: str | None
    active: int
    lost: int
    retention: str
    target: str
    meets_tier: bool | None


def _percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.0%}"


def _table(model: type[BaseModel], rows: list[BaseModel], shown: int = SHOWN) -> str:
    """At most `shown` rows; the rest are counted."""
    more = f"\n… and {len(rows) - shown} more" if len(rows) > shown else ""
    return to_table(model, rows[:shown]) + more


async def _renewed_and_lapsed(session: AsyncSession, as_of: date) -> tuple[int, int]:
    """Terms after the first (every contract was loaded as term 1), and contracts past
    R + 30 days with no renewal or churn."""
    renewed = await session.scalar(select(func.count()).where(ContractTerm.number > 1))
    lapsed = await session.scalar(
        select(func.count()).where(
            Contract.status != ContractStatus.CHURNED,
            Contract.end_date < as_of - LAPSE_GRACE,
        )
    )
    return int(renewed or 0), int(lapsed or 0)


def headline(portfolio: Portfolio, happened: Counter[str], renewed: int, lapsed: int) -> str:
    segments = Counter(a.segment for a in portfolio.accounts)
    arr = sum(c.arr for c in portfolio.contracts)
    renewals = [h for h in portfolio.happenings if h.kind == Kind.RENEWAL]
    expanded = sum(
        1 for h in renewals if h.arr and h.contract and h.arr > _arr_of(portfolio, h.contract)
    )
    dips = len(
        {
            h.contract
            for h in portfolio.happenings
            if h.kind == Kind.USAGE and h.seats and (h.active_users or 0) < h.seats / 2
        }
    )
    slipped = sum(1 for h in portfolio.happenings if h.kind == Kind.GOAL and h.status == "at_risk")
    return "\n".join(
        [
            f"Portfolio (seed {portfolio.seed}): {len(portfolio.accounts)} accounts, "
            f"{len(portfolio.contracts)} contracts, ARR {arr:,}, "
            f"{len(portfolio.partners)} partners, {len(portfolio.managers)} account managers",
            "  segments: " + ", ".join(f"{s} {n}" for s, n in segments.most_common()),
            f"A year, {portfolio.as_of} to {portfolio.until}, a tick a week:",
            f"  {happened[Kind.STAKEHOLDER_LEFT]} business owners left, "
            f"{dips} contracts dipped below half their seats, {slipped} goals slipped",
            f"  renewals: {happened[Kind.RENEWAL]} recorded ({expanded} with expansion), "
            f"{renewed - happened[Kind.RENEWAL]} automatic, {lapsed} lapsed",
            f"  cancellation notices: {happened[Kind.CANCELLATION]}, "
            f"churns recorded: {happened[Kind.CHURN]}, "
            f"add-on trials started: {happened[Kind.TRIAL]}",
            f"  the account managers closed {happened['done']} tasks "
            f"and dismissed {happened['dismissed']}",
        ]
    )


def _arr_of(portfolio: Portfolio, key: str) -> int:
    return next(c.arr for c in portfolio.contracts if c.key == key)


async def tasks_by_kind(session: AsyncSession) -> str:
    rows = await session.execute(
        select(Task.kind, Task.status, func.count()).group_by(Task.kind, Task.status)
    )
    counts: dict[str, Counter[str]] = {}
    for kind, status, n in rows:
        counts.setdefault(kind, Counter())[status] += n
    table: list[BaseModel] = [
        TaskKindRow(
            kind=kind,
            opened=sum(c.values()),
            done=c[TaskStatus.DONE],
            dismissed=c[TaskStatus.DISMISSED],
            auto_closed=c[TaskStatus.AUTO_CLOSED],
            open=c[TaskStatus.OPEN],
        )
        for kind, c in sorted(counts.items(), key=lambda kv: -sum(kv[1].values()))
    ]
    return _table(TaskKindRow, table, shown=len(table))


async def agenda(session: AsyncSession, as_of: date, currency: str) -> str:
    """The week after the year, for the manager with the most open tasks in it."""
    monday = as_of + timedelta(days=7 - as_of.weekday())
    sunday = monday + timedelta(days=6)
    owner = await session.scalar(
        select(Task.owner)
        .where(Task.status == TaskStatus.OPEN, Task.due_date <= sunday, Task.owner.is_not(None))
        .group_by(Task.owner)
        .order_by(func.count().desc(), Task.owner)
        .limit(1)
    )
    if owner is None:
        return "(nobody has an open task next week)"
    week = await build_agenda(session, owner, monday, currency)
    items = [*week.overdue, *(item for day in week.days for item in day.items)]
    rows: list[BaseModel] = [
        AgendaRow(due=i.due_date, priority=i.priority, kind=i.kind, account=i.account_name,
                  arr=i.arr)
        for i in items
    ]  # fmt: skip
    return (
        f"{owner}, week {week.week} ({week.start} to {week.end}): "
        f"{len(week.overdue)} overdue, {len(items) - len(week.overdue)} due this week\n"
        + _table(AgendaRow, rows)
    )


async def pipeline(session: AsyncSession, as_of: date, currency: str) -> str:
    report = await pipeline_report(session, as_of, PIPELINE_DAYS, currency)
    risky = [i for i in report.items if i.health in (HealthBand.YELLOW, HealthBand.RED)]
    rows: list[BaseModel] = [
        PipelineRow(renewal_date=i.renewal_date, days_left=i.days_left, account=i.account_name,
                    arr=i.arr, health=i.health, owner=i.owner, outreach_done=i.outreach_done)
        for i in sorted(risky, key=lambda i: -float(i.arr))
    ]  # fmt: skip
    return (
        f"{report.count} contracts renew in the next {PIPELINE_DAYS} days, ARR "
        f"{report.arr_total} {currency}; at risk (yellow or red): {len(risky)}, "
        f"ARR {report.arr_at_risk} {currency}\n" + _table(PipelineRow, rows)
    )


async def retention(session: AsyncSession, as_of: date, settings: Settings) -> str:
    report = await retention_report(session, as_of, settings.retention_excluded_reasons)
    rows: list[BaseModel] = [
        RetentionRow(partner=i.partner_name or "(direct)", tier=i.tier, active=i.active,
                     lost=i.closed, retention=_percent(i.retention_rate),
                     target=_percent(i.target), meets_tier=i.meets_tier)
        for i in report.items
    ]  # fmt: skip
    return (
        f"12 months to {as_of}; churns for {', '.join(report.excluded_reasons) or 'no reason'} "
        "left out\n" + _table(RetentionRow, rows, shown=len(rows))
    )


async def tell(
    session: AsyncSession, portfolio: Portfolio, happened: Counter[str], settings: Settings
) -> str:
    as_of = portfolio.until
    sections = [
        ("The year", headline(portfolio, happened, *await _renewed_and_lapsed(session, as_of))),
        ("Tasks opened by kind", await tasks_by_kind(session)),
        ("Next week's agenda", await agenda(session, as_of, settings.currency)),
        ("Renewal pipeline", await pipeline(session, as_of, settings.currency)),
        ("Partner retention against tiers", await retention(session, as_of, settings)),
    ]
    return "\n\n".join(f"== {title} ==\n{body}" for title, body in sections)
