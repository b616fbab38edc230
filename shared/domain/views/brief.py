"""`GET /v1/contracts/{id}/brief`: one page for the renewal meeting, as JSON or Markdown."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.domain.accounts.service import get_account
from shared.domain.contracts.service import contract_read, get_contract
from shared.domain.schemas import CONTROL_CHARACTERS
from shared.domain.views.schemas import (
    Brief,
    BriefAccount,
    BriefBudget,
    BriefContract,
    BriefDates,
    BriefGoal,
    BriefHealth,
    BriefOutcome,
    BriefSignal,
    BriefStakeholder,
    BriefStakeholderChange,
    BriefTask,
    BriefTerm,
    BriefUsage,
)
from shared.enums import TaskStatus
from shared.models import EventLogEntry, Goal, Stakeholder, Task, UsageReport
from shared.rules.calendar import budget_fixed_on, fiscal_year_start, notice_deadline

ERASED = "[erased]"
"""How a person erased under DESIGN's erasure rule appears: never their old name."""

_PRIORITY_RANK = {"urgent": 0, "high": 1, "normal": 2, "low": 3}


def priority_rank(priority: str) -> int:
    return _PRIORITY_RANK.get(priority, len(_PRIORITY_RANK))


def display_name(person: Stakeholder | None) -> str:
    if person is None or person.erased_at is not None or not person.name:
        return ERASED
    return person.name


def budget_dates(renewal: date, fiscal_start_month: int | None, lead_days: int) -> BriefBudget:
    """Both dates are null while the customer's fiscal year is unknown: a January
    default would put a made-up deadline in front of the account manager."""
    return BriefBudget(
        fiscal_year_start=(
            fiscal_year_start(renewal, fiscal_start_month)
            if fiscal_start_month is not None
            else None
        ),
        budget_fixed_on=budget_fixed_on(renewal, fiscal_start_month, lead_days),
    )


def _text(data: dict[str, Any], *path: str) -> str | None:
    value: Any = data
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return str(value) if value is not None else None


async def build_brief(
    session: AsyncSession, contract_id: uuid.UUID, currency: str, as_of: date
) -> Brief:
    contract = await get_contract(session, contract_id)
    account = await get_account(session, contract.account_id)
    read = await contract_read(session, contract, currency, as_of=as_of)

    goals = await session.scalars(
        select(Goal).where(Goal.contract_id == contract.id).order_by(Goal.created_at, Goal.id)
    )
    usage = await session.scalars(
        select(UsageReport)
        .where(UsageReport.contract_id == contract.id)
        .order_by(UsageReport.as_of, UsageReport.created_at, UsageReport.id)
    )
    people = {
        row.id: row
        for row in await session.scalars(
            select(Stakeholder)
            .where(Stakeholder.account_id == account.id)
            .order_by(Stakeholder.created_at, Stakeholder.id)
        )
    }
    events = await session.scalars(
        select(EventLogEntry)
        .where(
            EventLogEntry.account_id == account.id,
            EventLogEntry.type.startswith("stakeholder."),
        )
        .order_by(EventLogEntry.time, EventLogEntry.id)
    )
    tasks = (
        await session.scalars(
            select(Task).where(Task.contract_id == contract.id, Task.status == TaskStatus.OPEN)
        )
    ).all()
    done = await session.scalars(
        select(Task).where(
            Task.contract_id == contract.id,
            Task.term == read.term,
            Task.status == TaskStatus.DONE,
        )
    )

    return Brief(
        as_of=as_of,
        account=BriefAccount(
            id=account.id,
            name=account.name,
            owner=account.owner,
            fiscal_year_start_month=account.fiscal_year_start_month,
            budget_lead_days=account.budget_lead_days,
        ),
        contract=BriefContract(
            id=contract.id,
            status=read.status,
            stage=read.stage,
            channel=read.channel,
            start_date=contract.start_date,
            renewal_date=contract.end_date,
            term=read.term,
            arr=read.arr,
            seats=contract.seats,
            auto_renew=contract.auto_renew,
            notice_period_days=contract.notice_period_days,
        ),
        goals=[BriefGoal(name=g.name, target=g.target, status=g.status) for g in goals],
        usage=[
            BriefUsage(
                as_of=u.as_of,
                active_users=u.active_users,
                seats=u.seats,
                adoption=round(u.active_users / u.seats, 4) if u.seats > 0 else None,
            )
            for u in usage
        ],
        stakeholders=[
            BriefStakeholder(id=p.id, name=display_name(p), role=p.role, status=p.status)
            for p in people.values()
        ],
        stakeholder_changes=[_change(entry, people) for entry in events],
        terms=[BriefTerm(number=t.number, start=t.start, end=t.end, arr=t.arr) for t in read.terms],
        health=BriefHealth(
            score=read.health.score,
            band=read.health.band,
            signals=[BriefSignal(signal=s.signal, points=s.points) for s in read.health.signals],
        ),
        budget=budget_dates(
            contract.end_date, account.fiscal_year_start_month, account.budget_lead_days
        ),
        dates=BriefDates(
            notice_deadline=notice_deadline(contract.end_date, contract.notice_period_days),
            renewal_date=contract.end_date,
            days_to_renewal=(contract.end_date - as_of).days,
        ),
        open_tasks=[
            BriefTask(
                id=t.id,
                kind=t.kind,
                title=t.title,
                due_date=t.due_date,
                priority=t.priority,
                owner=t.owner,
            )
            for t in sorted(tasks, key=lambda t: (t.due_date, priority_rank(t.priority), t.title))
        ],
        done_tasks=[_outcome(t) for t in sorted(done, key=_closed, reverse=True)],
    )


def _closed(task: Task) -> tuple[datetime, uuid.UUID]:
    """When a task was closed; `closed_at` is nullable, and a done task without one is
    dated by its last change. Sorted here, as NULLs sort differently per database."""
    return (task.closed_at or task.updated_at, task.id)


def _outcome(task: Task) -> BriefOutcome:
    return BriefOutcome(
        id=task.id,
        kind=task.kind,
        title=task.title,
        closed_on=_closed(task)[0].astimezone(UTC).date(),
        outcome=task.outcome or None,
    )


def _change(entry: EventLogEntry, people: dict[uuid.UUID, Stakeholder]) -> BriefStakeholderChange:
    """Events never carry names (DESIGN §4): the name comes from the stakeholders table,
    so an erased person reads "[erased]" in every change, past ones included."""
    try:
        person_id: uuid.UUID | None = uuid.UUID(entry.subject)
    except ValueError:
        person_id = None
    data = entry.data
    return BriefStakeholderChange(
        at=entry.time,
        type=entry.type,
        stakeholder_id=person_id,
        name=display_name(people.get(person_id) if person_id else None),
        role=_text(data, "role"),
        status=_text(data, "status"),
        previous_role=_text(data, "previous", "role"),
        previous_status=_text(data, "previous", "status"),
    )


def _words(value: str | None) -> str:
    return value.replace("_", " ") if value else "—"


_MARKUP = re.compile(r"([\\`*_\[\]<>|~&#])")
_CONTROL = re.compile(f"[{CONTROL_CHARACTERS}]+")


def _cell(value: object) -> str:
    """Text from people (names, targets, outcomes) and from the engine (task titles quote
    names) shows as typed: a backslash before every character Markdown or its table and
    HTML extensions would read as markup, and a space for each run of control characters,
    so one value can neither end its line or cell nor format the page around it."""
    return _MARKUP.sub(r"\\\1", _CONTROL.sub(" ", str(value)))


def to_markdown(brief: Brief) -> str:
    """The same facts as the JSON, as a page to read before the meeting."""
    a, c = brief.account, brief.contract
    lines = [
        f"# Renewal brief: {_cell(a.name)}",
        "",
        f"As of {brief.as_of.isoformat()}.",
        "",
        "## Account and contract",
        "",
        f"- Account: {_cell(a.name)} (owner {_cell(a.owner or '—')})",
        f"- Contract: {c.id}",
        f"- Status: {c.status}, stage {c.stage}, channel {c.channel}",
        f"- Term {c.term}, started {c.start_date.isoformat()}",
        f"- ARR: {c.arr}; seats: {c.seats if c.seats is not None else '—'}",
        f"- Auto-renew: {'yes' if c.auto_renew else 'no'}; "
        f"notice period: {c.notice_period_days} days",
        "",
        "## Dates",
        "",
        _budget_line(brief),
        "- Notice deadline: "
        + (brief.dates.notice_deadline.isoformat() if brief.dates.notice_deadline else "none"),
        f"- Renewal date: {brief.dates.renewal_date.isoformat()} "
        f"({brief.dates.days_to_renewal} days)",
        "",
        "## Health",
        "",
        f"- Score: {brief.health.score} ({brief.health.band})",
    ]
    lines += [f"- {_words(s.signal)}: {s.points}" for s in brief.health.signals]
    lines += ["", "## Goals", ""]
    lines += _table(
        ["Goal", "Target", "Status"],
        [[g.name, g.target, _words(g.status)] for g in brief.goals],
        "No goals recorded.",
    )
    lines += ["", "## Usage trend", ""]
    lines += _table(
        ["As of", "Active users", "Seats", "Adoption"],
        [
            [
                u.as_of.isoformat(),
                str(u.active_users),
                str(u.seats),
                f"{u.adoption:.0%}" if u.adoption is not None else "—",
            ]
            for u in brief.usage
        ],
        "No usage reported.",
    )
    lines += ["", "## Stakeholders", ""]
    lines += _table(
        ["Name", "Role", "Status"],
        [[p.name, _words(p.role), p.status] for p in brief.stakeholders],
        "No stakeholders recorded.",
    )
    lines += ["", "### Changes", ""]
    lines += _table(
        ["When", "Change", "Name", "Role", "Status"],
        [
            [
                ch.at.date().isoformat(),
                ch.type.removeprefix("stakeholder."),
                ch.name,
                _role_change(ch.previous_role, ch.role),
                _role_change(ch.previous_status, ch.status),
            ]
            for ch in brief.stakeholder_changes
        ],
        "No stakeholder changes.",
    )
    lines += ["", "## ARR per term", ""]
    lines += _table(
        ["Term", "Start", "End", "ARR"],
        [[str(t.number), t.start.isoformat(), t.end.isoformat(), t.arr] for t in brief.terms],
        "No terms.",
    )
    lines += ["", "## Open tasks", ""]
    lines += _table(
        ["Due", "Priority", "Task", "Owner"],
        [[t.due_date.isoformat(), t.priority, t.title, t.owner or "—"] for t in brief.open_tasks],
        "No open tasks.",
    )
    lines += ["", "## Done this term", ""]
    lines += _table(
        ["Closed", "Task", "Outcome"],
        [
            [t.closed_on.isoformat(), t.title, t.outcome or "no outcome recorded"]
            for t in brief.done_tasks
        ],
        "Nothing done yet this term.",
    )
    return "\n".join(lines) + "\n"


def _budget_line(brief: Brief) -> str:
    budget = brief.budget
    if budget.budget_fixed_on is None or budget.fiscal_year_start is None:
        return (
            "- Budget fixed on: unknown - the customer's fiscal year start is not recorded; "
            "find out and record it on the account"
        )
    return (
        f"- Budget fixed on: {budget.budget_fixed_on.isoformat()} "
        f"(fiscal year starting {budget.fiscal_year_start.isoformat()}, "
        f"{brief.account.budget_lead_days} days ahead)"
    )


def _role_change(before: str | None, after: str | None) -> str:
    if before and after and before != after:
        return f"{_words(before)} → {_words(after)}"
    return _words(after)


def _table(header: list[str], rows: list[list[str]], empty: str) -> list[str]:
    if not rows:
        return [empty]
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return out
