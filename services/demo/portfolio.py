"""A synthetic customer portfolio and a year of things happening to it: the rows
`generator.generate` draws, as plain frozen dataclasses, so the demo loads them through
the service functions and a benchmark can bulk-insert the same rows.

`Portfolio.happenings` is the year after `as_of`, in date order: business owners
leaving and replaced, usage reports (with dips and growth), goals slipping and
recovering, renewals (flat, with expansion or contraction), cancellation notices,
churns and renewals left to lapse.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class Partner:
    key: str
    name: str
    tier: str | None


@dataclass(frozen=True, slots=True)
class Stakeholder:
    key: str
    name: str
    email: str
    role: str


@dataclass(frozen=True, slots=True)
class Account:
    key: str
    name: str
    segment: str
    owner: str
    fiscal_year_start_month: int | None
    budget_lead_days: int
    partner: str | None
    stakeholders: tuple[Stakeholder, ...]


@dataclass(frozen=True, slots=True)
class Goal:
    key: str
    name: str
    target: str


@dataclass(frozen=True, slots=True)
class Contract:
    """`start` and `end` are the current term (it is loaded as term 1); `start` after
    the portfolio's `as_of` makes it a new deal, the only ones with a pilot or trial."""

    key: str
    account: str
    start: date
    end: date
    arr: int
    seats: int
    auto_renew: bool
    notice_period_days: int
    pilot_start: date | None = None
    pilot_end: date | None = None
    trial_end: date | None = None
    goals: tuple[Goal, ...] = ()


class Kind(StrEnum):
    """What happens, each mapped by the demo onto one service call."""

    STAKEHOLDER_LEFT = "stakeholder_left"  # `stakeholder` departs
    STAKEHOLDER_JOINED = "stakeholder_joined"  # `person` is added to `account`
    USAGE = "usage"  # `active_users` of `seats` on `contract`
    GOAL = "goal"  # `goal` moves to `status`
    RENEWAL = "renewal"  # `contract` renews until `end` at `arr`, `seats`
    CANCELLATION = "cancellation"  # `contract` gives notice (`reason`); churns at R
    CHURN = "churn"  # `contract` churns on the day (`reason`)
    TRIAL = "trial"  # `contract` starts a 30-day add-on trial of `name`


@dataclass(frozen=True, slots=True)
class Happening:
    day: date
    kind: Kind
    account: str
    contract: str | None = None
    stakeholder: str | None = None
    person: Stakeholder | None = None
    goal: str | None = None
    status: str | None = None
    active_users: int | None = None
    seats: int | None = None
    end: date | None = None
    arr: int | None = None
    reason: str | None = None
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Portfolio:
    seed: int
    as_of: date
    until: date
    managers: tuple[str, ...]
    partners: tuple[Partner, ...]
    accounts: tuple[Account, ...]
    contracts: tuple[Contract, ...]
    happenings: tuple[Happening, ...]
