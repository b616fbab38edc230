"""What the task texts quote, and the sentences several of them share."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from shared.rules.types import Segment


@dataclass(frozen=True, slots=True)
class TaskContext:
    """What the texts quote; the caller gathers it, the engine only formats it.

    ``arr`` is preformatted (currency and separators) because formatting money
    is the deployment's concern. ``budget_fixed_on`` is FYS(R) minus the
    account's budget lead days. ``pilot_end`` and ``trial_end`` are only
    needed by the pilot and trial texts, ``health_signals`` by renewal_at_risk,
    ``notice_received_on`` and ``notice_late`` by save_attempt.
    """

    account_name: str
    contract_id: str
    term_number: int
    term_start: date
    arr: str
    segment: Segment
    renewal: date
    due_date: date
    fiscal_year_start: date
    budget_fixed_on: date
    auto_renew: bool
    notice_deadline: date | None = None
    business_owners: tuple[str, ...] = ()
    champions: tuple[str, ...] = ()
    active_users: int | None = None
    seats: int | None = None
    goal_name: str | None = None
    goal_status: str | None = None
    churn_reason: str | None = None
    pilot_end: date | None = None
    trial_end: date | None = None
    health_signals: tuple[str, ...] = ()
    notice_received_on: date | None = None
    notice_late: bool = False
    """The cancellation notice came after R - notice_period_days (save_attempt)."""


@dataclass(frozen=True, slots=True)
class Playbook:
    title: str
    why: str
    steps: tuple[str, ...]
    done: str


def names(people: tuple[str, ...]) -> str:
    return ", ".join(people)


def owner(ctx: TaskContext) -> str:
    return names(ctx.business_owners) if ctx.business_owners else "the business owner"


def usage(ctx: TaskContext) -> str:
    if ctx.active_users is None or not ctx.seats:
        return "No usage report with seats yet."
    share = ctx.active_users / ctx.seats
    return f"Latest usage: {ctx.active_users} of {ctx.seats} seats active ({share:.0%})."


def days_to_renewal(ctx: TaskContext) -> str:
    days = (ctx.renewal - ctx.due_date).days
    if days >= 0:
        return f"On the due date the renewal ({ctx.renewal}) is {days} days away."
    return f"The renewal date {ctx.renewal} passed {-days} days before the due date."


def goal(ctx: TaskContext) -> str:
    if ctx.goal_name is None:
        return "No goal is recorded yet."
    return f"Goal '{ctx.goal_name}' is {ctx.goal_status or 'without a status'}."


def people(ctx: TaskContext) -> str:
    lines = [
        "Business owner: "
        + (
            names(ctx.business_owners)
            if ctx.business_owners
            else "none on record - find out who owns the outcome"
        ),
        "Champion: " + (names(ctx.champions) if ctx.champions else "none on record"),
    ]
    return "\n".join(f"- {line}" for line in lines)


def stakes(ctx: TaskContext) -> str:
    lines = [
        f"ARR at stake: {ctx.arr} ({ctx.segment.value.replace('_', ' ')} segment)",
        f"Term {ctx.term_number}: {ctx.term_start} to {ctx.renewal}"
        + (" (renews automatically)" if ctx.auto_renew else ""),
    ]
    if ctx.notice_deadline is not None:
        lines.append(f"Cancellation notice deadline: {ctx.notice_deadline}")
    lines.append(
        f"Customer fiscal year paying the renewal starts {ctx.fiscal_year_start}; "
        f"its budget is fixed by {ctx.budget_fixed_on}"
    )
    lines.append(f"Contract: {ctx.contract_id}")
    return "\n".join(f"- {line}" for line in lines)
