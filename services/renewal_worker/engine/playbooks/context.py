"""What the task texts quote, and the sentences several of them share."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from shared.rules.types import Segment


@dataclass(frozen=True, slots=True)
class GoalLine:
    name: str
    target: str
    status: str


@dataclass(frozen=True, slots=True)
class ContractLine:
    """One contract of a task that covers several (account-level budget and visits)."""

    id: str
    external_ids: tuple[tuple[str, str], ...]
    arr: str
    renewal: date


@dataclass(frozen=True, slots=True)
class TaskContext:
    """What the texts quote; the caller gathers it, the engine only formats it.

    ``arr`` is preformatted (currency and separators) because formatting money
    is the deployment's concern. ``budget_fixed_on`` is FYS(R) minus the
    account's budget lead days; both are None while the customer's fiscal year
    is unknown. ``pilot_end`` and ``trial_end`` are only needed by the pilot
    and trial texts, ``health_signals`` by renewal_at_risk. ``contracts`` and
    ``total_arr`` are set for the tasks that cover several of an account's
    contracts. ``goals`` are all of the contract's goals; ``goal_name`` and
    ``goal_status`` the one a goal_at_risk task is about. The ``stakeholder_*`` and
    ``role_*`` fields describe the change a stakeholder_change task opened on: the key
    role, the person, the change as a sentence, and who still holds that role (vacant
    when nobody active does). ``partner_name`` is set for partner-sold contracts.
    ``trial_name`` is set for an add-on trial, whose end ``trial_end`` then is,
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
    fiscal_year_start: date | None
    budget_fixed_on: date | None
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
    goals: tuple[GoalLine, ...] = ()
    stakeholder_role: str | None = None
    stakeholder_name: str | None = None
    stakeholder_change: str | None = None
    role_holders: tuple[str, ...] = ()
    role_vacant: bool = False
    partner_name: str | None = None
    trial_name: str | None = None
    budget_holders: tuple[str, ...] = ()
    contracts: tuple[ContractLine, ...] = ()
    total_arr: str | None = None
    notice_received_on: date | None = None
    notice_late: bool = False
    """The cancellation notice came after R - notice_period_days (save_attempt)."""


@dataclass(frozen=True, slots=True)
class Playbook:
    title: str
    why: str
    steps: tuple[str, ...]
    done: str
    people: tuple[str, ...] = ()
    """Lines added to the People section, for the people only this task needs."""


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
    """The goal a goal_at_risk task is about."""
    return f"Goal '{ctx.goal_name or 'unnamed goal'}' is {ctx.goal_status or 'without a status'}."


def goals(ctx: TaskContext) -> str:
    """Every goal of the contract with its target and status, so a checkpoint goes
    through each one; without goals, what to do about it."""
    if not ctx.goals:
        return (
            f"No goal is recorded yet: agree the business goals, each with a measurable "
            f"target, with {owner(ctx)} and record them on the contract."
        )
    lines = "\n".join(
        f"- {g.name} (target: {g.target or 'none recorded'}): {g.status.replace('_', ' ')}"
        for g in ctx.goals
    )
    return f"Goals:\n{lines}"


@dataclass(frozen=True, slots=True)
class Meeting:
    """How the account manager meets the customer: ``title`` names it, ``noun`` is what
    to book, ``verb`` meets ``{who}``."""

    title: str
    noun: str
    verb: str


_VISIT = Meeting("On-site visit", "an on-site visit", "Visit {who} on site")
_IN_PERSON = Meeting("In-person meeting", "an in-person meeting", "Meet {who} in person")
_VIDEO = Meeting("Video call", "a video call", "Meet {who} on a video call")
_DIGITAL = Meeting(
    "Digital check-in",
    "a digital check-in (e-mail or in-app message)",
    "Write to {who} by e-mail or in-app message",
)
_MEETINGS: dict[Segment, tuple[Meeting, Meeting]] = {
    Segment.ENTERPRISE: (_VISIT, _VISIT),
    Segment.MID_MARKET: (_IN_PERSON, _IN_PERSON),
    Segment.GROWTH: (_VIDEO, _IN_PERSON),
    Segment.SCALE: (_VIDEO, _VIDEO),
    Segment.SELF_SERVE: (_DIGITAL, _DIGITAL),
}


def meeting(ctx: TaskContext, *, decisive: bool = False) -> Meeting:
    """The meeting a contract's value pays for. Enterprise customers are visited;
    mid-market ones met in person. Growth customers are met by video, except for the
    meetings that decide the renewal (``decisive``: opening it, rescuing it), which are
    worth the trip. Scale customers get video calls, self-serve ones digital touches:
    travel would cost more than they pay."""
    routine, deciding = _MEETINGS[ctx.segment]
    return deciding if decisive else routine


def meet(ctx: TaskContext, who: str, *, decisive: bool = False) -> str:
    return meeting(ctx, decisive=decisive).verb.format(who=who)


def fiscal_year_question(ctx: TaskContext) -> tuple[str, ...]:
    """The step that asks for an unknown fiscal year: without it the budget date is a guess."""
    if ctx.fiscal_year_start is not None:
        return ()
    return (
        "Ask when the customer's fiscal year starts and how many days before it their "
        "budget is fixed; record both on the account (fiscal year start month, budget "
        "lead days).",
    )


def contract_line(line: ContractLine) -> str:
    refs = ", ".join(f"{system}: {value}" for system, value in line.external_ids)
    return (
        f"Contract {line.id}"
        + (f" ({refs})" if refs else "")
        + (f": {line.arr} ARR, renews {line.renewal}")
    )


def people(ctx: TaskContext, extra: tuple[str, ...] = ()) -> str:
    lines = [
        "Business owner: "
        + (
            names(ctx.business_owners)
            if ctx.business_owners
            else "none on record - find out who owns the outcome"
        ),
        "Champion: " + (names(ctx.champions) if ctx.champions else "none on record"),
        *extra,
    ]
    if ctx.partner_name is not None:
        lines.append(f"Partner: {ctx.partner_name} (sold this contract)")
    return "\n".join(f"- {line}" for line in lines)


def stakes(ctx: TaskContext) -> str:
    segment = ctx.segment.value.replace("_", " ")
    if ctx.contracts:
        count = len(ctx.contracts)
        lines = [
            f"ARR at stake: {ctx.total_arr} over {count} "
            f"{'contract' if count == 1 else 'contracts'} ({segment} segment)",
            *(contract_line(line) for line in ctx.contracts),
        ]
    else:
        lines = [
            f"ARR at stake: {ctx.arr} ({segment} segment)",
            f"Term {ctx.term_number}: {ctx.term_start} to {ctx.renewal}"
            + (" (renews automatically)" if ctx.auto_renew else ""),
        ]
        if ctx.notice_deadline is not None:
            lines.append(f"Cancellation notice deadline: {ctx.notice_deadline}")
    if ctx.fiscal_year_start is None:
        lines.append(
            "Customer fiscal year: unknown - find out when it starts and record it on the account"
        )
    else:
        lines.append(
            f"Customer fiscal year paying the renewal starts {ctx.fiscal_year_start}; "
            f"its budget is fixed by {ctx.budget_fixed_on}"
        )
    if not ctx.contracts:
        lines.append(f"Contract: {ctx.contract_id}")
    return "\n".join(f"- {line}" for line in lines)
