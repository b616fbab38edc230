"""Contract health (DESIGN §3.3).

outreach_not_done keeps counting after R has passed: a contract in its grace
period whose outreach never happened is the riskiest kind, and the signal
ends only when the outreach is done or a renewal moves R.
"""

from dataclasses import dataclass
from datetime import date

FULL_SCORE = 100
GREEN_FROM = 70
YELLOW_FROM = 40
LOW_ADOPTION_BELOW = 0.5
WEAK_ADOPTION_BELOW = 0.7
OUTREACH_WINDOW_DAYS = 60
OVERDUE_AFTER_DAYS = 14


@dataclass(frozen=True, slots=True)
class HealthSignal:
    signal: str
    points: int


@dataclass(frozen=True, slots=True)
class Health:
    score: int
    band: str
    signals: tuple[HealthSignal, ...]


@dataclass(frozen=True, slots=True)
class HealthInput:
    """The facts health is computed from; the caller gathers them from its state.

    ``latest_adoption`` is None when there is no usage report or the latest
    one has no seats, since neither says anything about adoption.
    """

    as_of: date
    renewal: date
    key_stakeholder_lost: bool
    latest_adoption: float | None
    goal_at_risk: bool
    outreach_done: bool
    open_task_due_dates: tuple[date, ...]
    cancellation_pending: bool
    outreach_planned: bool = True
    """False when the term's plan has no renewal_outreach (the lean plans of monthly and
    quarterly terms): there is no outreach to miss."""


def _signals(inp: HealthInput) -> list[HealthSignal]:
    signals: list[HealthSignal] = []
    if inp.key_stakeholder_lost:
        signals.append(HealthSignal("key_stakeholder_lost", -30))
    if inp.latest_adoption is not None:
        if inp.latest_adoption < LOW_ADOPTION_BELOW:
            signals.append(HealthSignal("low_adoption", -25))
        elif inp.latest_adoption < WEAK_ADOPTION_BELOW:
            signals.append(HealthSignal("weak_adoption", -10))
    if inp.goal_at_risk:
        signals.append(HealthSignal("goal_at_risk", -20))
    outreach_due = (inp.renewal - inp.as_of).days <= OUTREACH_WINDOW_DAYS
    if inp.outreach_planned and not inp.outreach_done and outreach_due:
        signals.append(HealthSignal("outreach_not_done", -15))
    if any((inp.as_of - due).days > OVERDUE_AFTER_DAYS for due in inp.open_task_due_dates):
        signals.append(HealthSignal("overdue_tasks", -10))
    if inp.cancellation_pending:
        signals.append(HealthSignal("cancellation_notice", -30))
    return signals


def band_for(score: int) -> str:
    if score >= GREEN_FROM:
        return "green"
    if score >= YELLOW_FROM:
        return "yellow"
    return "red"


def compute_health(inp: HealthInput) -> Health:
    """Score the contract and keep the deductions, so reads can explain the score."""
    signals = _signals(inp)
    score = max(0, min(FULL_SCORE, FULL_SCORE + sum(s.points for s in signals)))
    return Health(score=score, band=band_for(score), signals=tuple(signals))
