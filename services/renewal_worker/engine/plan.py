"""The checkpoint plan of one contract term (DESIGN §3.1).

Boundaries the spec leaves open, decided here:

- Pilot and trial rows exist only in term 1; later terms ignore the pilot and
  trial dates they are given, so callers may pass the contract's fields as
  they are.
- A pilot needs both ``pilot_start`` and ``pilot_end`` (the review is planned
  from the end); giving only one is invalid input.
- The exemption of pilot and trial rows covers only "due before S". They are
  still dropped when due after R, and by the lean plans: "keep only" lists the
  rows that survive, and a pilot review is not among them.
- A term is short when ``R - S`` is under 90 days, counted literally: a
  quarterly term of 90 to 92 days gets the full plan.
- budget_confirmation is moved before the drop rules run, so "before S" is
  judged on the moved date; it is compared with renewal_outreach's computed due
  date even when a lean plan drops the outreach itself.
- An anniversary review is dropped when it lies within 30 days of the
  mid-term review on either side (absolute distance, 30 inclusive).
- While the customer's fiscal year is unknown, budget_confirmation is planned
  at R - 6 calendar months and then follows the same move and drop rules.
- auto_renewal_confirmation is not among the rows the lean plans keep, so
  short terms and self_serve accounts do not get it.
- On-site visits are planned per account, not per term (`onsite_visits`); the
  rules put them on one anchor contract.
- A renewal outreach already due when the plan is made, before R, is not
  skipped: it opens at once, due that day (`opens_late`).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from services.renewal_worker.engine.priority import NEAR_RENEWAL_DAYS
from shared.rules.calendar import (
    add_months,
    budget_fixed_on,
    notice_deadline,
    renewal_outreach_due,
)
from shared.rules.types import CheckpointKind, Segment

_K = CheckpointKind

SHORT_TERM_DAYS = 90
ADOPTION_REVIEW_MIN_TERM_DAYS = 180
MID_TERM_REVIEW_MIN_TERM_DAYS = 120
ANNIVERSARY_MIN_DISTANCE_FROM_MID_TERM_DAYS = 30
UNKNOWN_FISCAL_YEAR_BUDGET_MONTHS = 6
ONSITE_FIRST_AFTER_MONTHS = 2
ONSITE_EVERY_MONTHS = 6
ONSITE_STOP_MONTHS_BEFORE_RENEWAL = 2
SHORT_PILOT_DAYS = 14
FOLLOWUP_EVERY_DAYS = 14
FOLLOWUPS = 6
FOLLOWUP_MIN_DISTANCE_FROM_CHECK_DAYS = 7
IMPLEMENTATION_CHECK_DAYS = 30
FOLLOWUP_SEGMENTS = frozenset({Segment.ENTERPRISE, Segment.MID_MARKET})
SKIP_AFTER_DAYS = 14
WINBACK_AFTER_MONTHS = 6

OPENS_DAYS_BEFORE: dict[CheckpointKind, int] = {
    _K.PILOT_KICKOFF: 7,
    _K.PILOT_REVIEW: 7,
    _K.TRIAL_ENDING: 7,
    _K.KICKOFF: 7,
    _K.IMPLEMENTATION_CHECK: 7,
    _K.IMPLEMENTATION_FOLLOWUP: 7,
    _K.ADOPTION_REVIEW: 7,
    _K.MID_TERM_REVIEW: 7,
    _K.ANNIVERSARY_REVIEW: 7,
    _K.ONSITE_VISIT: 14,
    _K.BUDGET_CONFIRMATION: 30,
    _K.RENEWAL_OUTREACH: 14,
    _K.NOTICE_DEADLINE: 14,
    _K.RENEWAL_DUE: 0,
    _K.RENEWAL_OVERDUE: 0,
    _K.AUTO_RENEWAL: 0,
    # Two weeks, like the other conversations that need a meeting booked.
    _K.WINBACK: 14,
    _K.AUTO_RENEWAL_CONFIRMATION: 14,
}

PRE_START_KINDS = frozenset({_K.PILOT_KICKOFF, _K.PILOT_REVIEW, _K.TRIAL_ENDING})
"""Pilots and trials happen before S, so "due before S" does not drop them."""

NEVER_SKIPPED_KINDS = frozenset({_K.RENEWAL_OVERDUE, _K.AUTO_RENEWAL})
"""These act (escalate, renew) rather than remind, so they must fire even late."""

SHORT_TERM_KINDS = frozenset(
    {_K.TRIAL_ENDING, _K.NOTICE_DEADLINE, _K.RENEWAL_DUE, _K.RENEWAL_OVERDUE, _K.AUTO_RENEWAL}
)
SELF_SERVE_KINDS = SHORT_TERM_KINDS | {_K.RENEWAL_OUTREACH}


@dataclass(frozen=True, slots=True)
class TermPlanInput:
    """Everything the plan of one term depends on, fixed when the term is planned.

    The segment is the caller's: it depends on the account's other contracts
    active on S, which the engine does not see here.
    """

    term_number: int
    start: date
    renewal: date
    segment: Segment
    fiscal_year_start_month: int | None
    budget_lead_days: int
    auto_renew: bool
    notice_period_days: int
    pilot_start: date | None = None
    pilot_end: date | None = None
    trial_end: date | None = None

    def __post_init__(self) -> None:
        # Invalid input must fail loudly here: a silently empty plan would lose a renewal.
        if self.term_number < 1:
            raise ValueError(f"term_number must be >= 1, got {self.term_number}")
        if self.renewal <= self.start:
            raise ValueError(f"renewal {self.renewal} must be after start {self.start}")
        if self.fiscal_year_start_month is not None and not 1 <= self.fiscal_year_start_month <= 12:
            raise ValueError(
                f"fiscal_year_start_month must be 1..12, got {self.fiscal_year_start_month}"
            )
        if self.budget_lead_days < 0:
            raise ValueError(f"budget_lead_days must be >= 0, got {self.budget_lead_days}")
        if self.notice_period_days < 0:
            raise ValueError(f"notice_period_days must be >= 0, got {self.notice_period_days}")
        if (self.pilot_start is None) != (self.pilot_end is None):
            raise ValueError("pilot_start and pilot_end must be given together")
        if (
            self.pilot_start is not None
            and self.pilot_end is not None
            and self.pilot_end < self.pilot_start
        ):
            raise ValueError(f"pilot_end {self.pilot_end} is before pilot_start {self.pilot_start}")

    @property
    def length_days(self) -> int:
        return (self.renewal - self.start).days


@dataclass(frozen=True, slots=True)
class PlannedCheckpoint:
    kind: CheckpointKind
    ordinal: int
    due_date: date
    opens_on: date


def _checkpoint(kind: CheckpointKind, due: date, ordinal: int = 0) -> PlannedCheckpoint:
    return PlannedCheckpoint(
        kind=kind,
        ordinal=ordinal,
        due_date=due,
        opens_on=due - timedelta(days=OPENS_DAYS_BEFORE[kind]),
    )


def is_short_term(start: date, renewal: date) -> bool:
    """Monthly and quarterly terms get only the renewal-date checkpoints.

    DESIGN names quarterly terms among those "shorter than 90 days", but a calendar
    quarter lasts 89 to 92 days; any term of at most three calendar months counts.
    """
    return (renewal - start).days < SHORT_TERM_DAYS or renewal <= add_months(start, 3)


def pilot_review_due(pilot_start: date, pilot_end: date) -> date:
    """A week before a pilot ends, leaving time to act on the verdict.

    A pilot under two weeks has no such week to spare, so the review moves to
    its middle, but never onto the kickoff itself.
    """
    length = (pilot_end - pilot_start).days
    if length >= SHORT_PILOT_DAYS:
        return pilot_end - timedelta(days=7)
    kickoff = pilot_start + timedelta(days=3)
    return max(pilot_start + timedelta(days=length // 2), kickoff + timedelta(days=1))


def budget_confirmation_due(inp: TermPlanInput) -> date | None:
    """The day the customer's budget for the renewal is fixed, or None when moot.

    A budget fixed before the term began is confirmed at the kickoff, the
    first chance to ask. One fixed on or after the outreach is left to the
    outreach, which then covers the budget. With the fiscal year unknown, six
    months before R leaves time to find out and still get into the budget.
    """
    fixed_on = budget_fixed_on(inp.renewal, inp.fiscal_year_start_month, inp.budget_lead_days)
    if fixed_on is None:
        fixed_on = add_months(inp.renewal, -UNKNOWN_FISCAL_YEAR_BUDGET_MONTHS)
    kickoff = inp.start + timedelta(days=3)
    due = max(fixed_on, kickoff)
    if due >= renewal_outreach_due(inp.renewal, inp.notice_period_days):
        return None
    return due


def _pilot_and_trial_rows(inp: TermPlanInput) -> list[PlannedCheckpoint]:
    if inp.term_number != 1:
        return []
    rows: list[PlannedCheckpoint] = []
    if inp.pilot_start is not None and inp.pilot_end is not None:
        rows.append(_checkpoint(_K.PILOT_KICKOFF, inp.pilot_start + timedelta(days=3)))
        rows.append(_checkpoint(_K.PILOT_REVIEW, pilot_review_due(inp.pilot_start, inp.pilot_end)))
    if inp.trial_end is not None:
        rows.append(_checkpoint(_K.TRIAL_ENDING, inp.trial_end - timedelta(days=7)))
    return rows


def _anniversary_rows(inp: TermPlanInput, mid_term: date | None) -> list[PlannedCheckpoint]:
    limit = add_months(inp.renewal, -6)
    rows: list[PlannedCheckpoint] = []
    k = 1
    while (due := add_months(inp.start, 12 * k)) < limit:
        near_mid_term = (
            mid_term is not None
            and abs((due - mid_term).days) <= ANNIVERSARY_MIN_DISTANCE_FROM_MID_TERM_DAYS
        )
        if not near_mid_term:
            rows.append(_checkpoint(_K.ANNIVERSARY_REVIEW, due, ordinal=k))
        k += 1
    return rows


def _followup_rows(inp: TermPlanInput) -> list[PlannedCheckpoint]:
    """During implementation follow-ups are more frequent: every two weeks from S + 14
    to S + 84 for the larger customers, where a slow roll-out costs the most. One that
    would fall within a week of the implementation check is left to the check, and none
    is due on R or later: by then the renewal tasks speak for the contract."""
    if inp.term_number != 1 or inp.segment not in FOLLOWUP_SEGMENTS:
        return []
    check = inp.start + timedelta(days=IMPLEMENTATION_CHECK_DAYS)
    rows: list[PlannedCheckpoint] = []
    for k in range(1, FOLLOWUPS + 1):
        due = inp.start + timedelta(days=FOLLOWUP_EVERY_DAYS * k)
        near_check = abs((due - check).days) <= FOLLOWUP_MIN_DISTANCE_FROM_CHECK_DAYS
        if not near_check and due < inp.renewal:
            rows.append(_checkpoint(_K.IMPLEMENTATION_FOLLOWUP, due, ordinal=k))
    return rows


def onsite_visits(first_start: date, window_start: date, renewal: date) -> list[PlannedCheckpoint]:
    """An account's on-site visits from `window_start` until two months before `renewal`
    (the anchor contract's R, when the renewal outreach's in-person meeting takes over).

    Visit k is due `first_start` + 2 + 6k months, `first_start` being the start of the
    account's earliest active contract; k is the ordinal, so a visit keeps its identity
    however the window moves. Whether the account is enterprise on a visit's day is the
    caller's to judge: it depends on the account's other contracts.
    """
    limit = add_months(renewal, -ONSITE_STOP_MONTHS_BEFORE_RENEWAL)
    rows: list[PlannedCheckpoint] = []
    k = 0
    while (
        due := add_months(first_start, ONSITE_FIRST_AFTER_MONTHS + ONSITE_EVERY_MONTHS * k)
    ) < limit:
        if due >= window_start:
            rows.append(_checkpoint(_K.ONSITE_VISIT, due, ordinal=k))
        k += 1
    return rows


def _table_rows(inp: TermPlanInput) -> list[PlannedCheckpoint]:
    s, r, length = inp.start, inp.renewal, inp.length_days
    rows = _pilot_and_trial_rows(inp)
    rows.append(_checkpoint(_K.KICKOFF, s + timedelta(days=3)))
    if inp.term_number == 1:
        rows.append(
            _checkpoint(_K.IMPLEMENTATION_CHECK, s + timedelta(days=IMPLEMENTATION_CHECK_DAYS))
        )
        rows.extend(_followup_rows(inp))
        if length >= ADOPTION_REVIEW_MIN_TERM_DAYS:
            rows.append(_checkpoint(_K.ADOPTION_REVIEW, s + timedelta(days=90)))
    mid_term: date | None = None
    if length >= MID_TERM_REVIEW_MIN_TERM_DAYS:
        mid_term = s + timedelta(days=length // 2)
        rows.append(_checkpoint(_K.MID_TERM_REVIEW, mid_term))
    rows.extend(_anniversary_rows(inp, mid_term))
    if (budget := budget_confirmation_due(inp)) is not None:
        rows.append(_checkpoint(_K.BUDGET_CONFIRMATION, budget))
    rows.append(_checkpoint(_K.RENEWAL_OUTREACH, renewal_outreach_due(r, inp.notice_period_days)))
    if (deadline := notice_deadline(r, inp.notice_period_days)) is not None:
        rows.append(_checkpoint(_K.NOTICE_DEADLINE, deadline))
    if inp.auto_renew:
        rows.append(_checkpoint(_K.AUTO_RENEWAL_CONFIRMATION, r - timedelta(days=14)))
        rows.append(_checkpoint(_K.AUTO_RENEWAL, r))
    else:
        rows.append(_checkpoint(_K.RENEWAL_DUE, r - timedelta(days=14)))
        rows.append(_checkpoint(_K.RENEWAL_OVERDUE, r + timedelta(days=1)))
    return rows


def _kept(row: PlannedCheckpoint, inp: TermPlanInput) -> bool:
    if row.due_date < inp.start and row.kind not in PRE_START_KINDS:
        return False
    if row.due_date > inp.renewal and row.kind is not _K.RENEWAL_OVERDUE:
        return False
    if is_short_term(inp.start, inp.renewal) and row.kind not in SHORT_TERM_KINDS:
        return False
    return not (inp.segment is Segment.SELF_SERVE and row.kind not in SELF_SERVE_KINDS)


def plan_term(inp: TermPlanInput) -> list[PlannedCheckpoint]:
    """Every checkpoint of the term, after the drop rules, in date order.

    The result depends on the input only, so re-planning after a change yields
    the same identities (kind, ordinal) and lets the caller move checkpoints
    instead of recreating them.
    """
    rows = [row for row in _table_rows(inp) if _kept(row, inp)]
    return sorted(rows, key=lambda c: (c.due_date, c.kind, c.ordinal))


def skipped_at_creation(checkpoint: PlannedCheckpoint, event_date: date) -> bool:
    """Whether a checkpoint is already too old to act on when the plan is made.

    Importing a contract mid-term must not flood the owner with stale tasks,
    but renewal_overdue and auto_renewal still have to happen.
    """
    if checkpoint.kind in NEVER_SKIPPED_KINDS:
        return False
    return (event_date - checkpoint.due_date).days > SKIP_AFTER_DAYS


def opens_late(checkpoint: PlannedCheckpoint, event_date: date, renewal: date) -> bool:
    """Whether a renewal outreach is already due when the plan is made, with R still ahead.

    Skipping it, or leaving it for the next sweep with a past due date, would leave a
    contract heading for its renewal without anyone opening the conversation; the
    caller opens it at once, due on the event's day. Other checkpoints are skipped
    or opened as usual.
    """
    return checkpoint.kind is _K.RENEWAL_OUTREACH and checkpoint.due_date < event_date < renewal


def winback_checkpoint(churned_on: date) -> PlannedCheckpoint:
    """Six months after a churn, long enough for the customer's situation to change."""
    return _checkpoint(_K.WINBACK, add_months(churned_on, WINBACK_AFTER_MONTHS))


def trial_rows(inp: TermPlanInput, trial_ends: Sequence[date]) -> list[PlannedCheckpoint]:
    """The `trial_ending` rows of the contract's add-on trials that this term plans.

    ``trial_ends`` are the trials' end dates in the order they were recorded; the k-th
    trial is ordinal k (the contract's own trial keeps 0 in term 1), so recording a
    trial, even a backdated one, never renumbers the others. Each row is planned by
    exactly one term, the first whose R is on or after its due date: due in (S, R], and
    term 1 also takes the ones due on or before S, like its own trial. A trial due after
    R is planned by the renewal that creates its term. The lean plans keep trial_ending.
    """
    rows: list[PlannedCheckpoint] = []
    for ordinal, ends_on in enumerate(trial_ends, start=1):
        row = _checkpoint(_K.TRIAL_ENDING, ends_on - timedelta(days=7), ordinal=ordinal)
        if _kept(row, inp) and (inp.term_number == 1 or row.due_date > inp.start):
            rows.append(row)
    return rows


RENEWAL_WINDOW_DAYS = 90
"""DESIGN §3.2 "At-risk escalation": a red contract escalates once R is this close."""

MARKER_DAYS_BEFORE_RENEWAL: dict[CheckpointKind, int] = {
    _K.RENEWAL_WINDOW: RENEWAL_WINDOW_DAYS,
    _K.RENEWAL_NEAR: NEAR_RENEWAL_DAYS,
}
"""R - 60 days is also where outreach_not_done starts counting (health_score)."""


def marker_rows(renewal: date) -> list[PlannedCheckpoint]:
    """The term's renewal markers (`MARKER_KINDS`), due and opening on their day, so the
    scheduler's indexed sweep brings that day to the engine as it does a checkpoint's.
    Apart from `plan_term`: they are not rows of DESIGN §3.1's table, open no task and
    obey none of its drop rules (a quarterly term's open tasks move up too)."""
    rows: list[PlannedCheckpoint] = []
    for kind, days in MARKER_DAYS_BEFORE_RENEWAL.items():
        day = renewal - timedelta(days=days)
        rows.append(PlannedCheckpoint(kind=kind, ordinal=0, due_date=day, opens_on=day))
    return rows
