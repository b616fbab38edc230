"""What the engine knows about one account when an event arrives: plain, frozen facts.

The worker loads them from the database; tests build them by hand. Nothing here reads
a clock or does I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from shared.rules.stage import LAPSE_GRACE
from shared.rules.types import Priority

CheckpointId = tuple[str, int, str, int]
"""(contract, term, kind, ordinal): how a checkpoint is identified across re-plans."""


@dataclass(frozen=True, slots=True)
class Term:
    number: int
    start: date
    end: date
    arr: Decimal


@dataclass(frozen=True, slots=True)
class TrialFacts:
    """An add-on trial of more users or modules, on any term."""

    id: str
    name: str
    started_on: date
    ends_on: date


@dataclass(frozen=True, slots=True)
class ContractFacts:
    id: str
    account_id: str
    partner_id: str | None
    start_date: date
    pilot_start: date | None
    pilot_end: date | None
    trial_end: date | None
    auto_renew: bool
    notice_period_days: int
    terms: tuple[Term, ...]
    churned_on: date | None = None
    churn_reason: str | None = None
    cancellation_notice_on: date | None = None
    health_band: str = "green"
    health_score: int = 100
    health_signals: tuple[tuple[str, int], ...] = ()
    partner_name: str | None = None
    """The name of the partner who sold it, when `partner_id` is set."""
    trials: tuple[TrialFacts, ...] = ()
    """Add-on trials in the order they were recorded: the k-th is `trial_ending` ordinal k."""
    external_ids: tuple[tuple[str, str], ...] = ()
    """(system, id) pairs, sorted: how the customer's CRM names the contract."""
    cancellation_notice_late: bool = False
    """The pending notice came after R - notice_period_days: it does not stop the renewal."""

    @property
    def term(self) -> Term:
        return self.terms[-1]

    @property
    def renewal(self) -> date:
        return self.term.end

    def active_on(self, day: date) -> bool:
        """DESIGN §3 "Active": started, not churned, and within grace or auto-renewing."""
        if self.start_date > day:
            return False
        if self.churned_on is not None and self.churned_on <= day:
            return False
        return day < self.renewal + LAPSE_GRACE or self.auto_renew

    def arr_on(self, day: date) -> Decimal:
        for term in self.terms:
            if term.start <= day < term.end:
                return term.arr
        return self.term.arr


@dataclass(frozen=True, slots=True)
class CheckpointFacts:
    contract_id: str
    term: int
    kind: str
    ordinal: int
    due_date: date
    opens_on: date
    status: str

    @property
    def identity(self) -> CheckpointId:
        return (self.contract_id, self.term, self.kind, self.ordinal)


@dataclass(frozen=True, slots=True)
class TaskFacts:
    dedupe_key: str
    contract_id: str
    kind: str
    due_date: date
    status: str
    description: str
    owner: str | None
    term: int
    checkpoint: CheckpointId | None = None
    priority: Priority | None = None
    """None when the caller does not know it; a raise then sets the computed one."""


@dataclass(frozen=True, slots=True)
class StakeholderFacts:
    id: str
    name: str | None
    role: str
    status: str


@dataclass(frozen=True, slots=True)
class GoalFacts:
    id: str
    contract_id: str
    name: str
    status: str
    target: str = ""


@dataclass(frozen=True, slots=True)
class UsageFacts:
    contract_id: str
    active_users: int
    seats: int
    as_of: date

    @property
    def adoption(self) -> float | None:
        return self.active_users / self.seats if self.seats > 0 else None


@dataclass(frozen=True, slots=True)
class AccountFacts:
    id: str
    name: str
    owner: str | None
    fiscal_year_start_month: int | None
    """None while nobody has found out: then the engine asks instead of guessing."""
    budget_lead_days: int
    contracts: tuple[ContractFacts, ...] = ()
    checkpoints: tuple[CheckpointFacts, ...] = ()
    tasks: tuple[TaskFacts, ...] = ()
    stakeholders: tuple[StakeholderFacts, ...] = ()
    """In the order they were added."""
    goals: tuple[GoalFacts, ...] = ()
    latest_usage: Mapping[str, UsageFacts] = field(default_factory=dict)
    """Per contract; for a `usage.reported` event, among the reports received up to it."""

    def contract(self, contract_id: str) -> ContractFacts | None:
        return next((c for c in self.contracts if c.id == contract_id), None)


@dataclass(frozen=True, slots=True)
class EngineEvent:
    id: str
    source: str
    type: str
    time: datetime
    data: Mapping[str, Any]

    @property
    def day(self) -> date:
        return self.time.date()
