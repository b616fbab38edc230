"""Response models of the account manager's views."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import Field

from shared.domain.schemas import OutputModel


class BriefAccount(OutputModel):
    id: uuid.UUID
    name: str
    owner: str | None
    fiscal_year_start_month: int | None = Field(description="null while unknown")
    budget_lead_days: int


class BriefContract(OutputModel):
    id: uuid.UUID
    status: str
    stage: str
    channel: str
    start_date: date
    renewal_date: date = Field(description="R, the end of the current term")
    term: int
    arr: str
    seats: int | None
    auto_renew: bool
    notice_period_days: int


class BriefGoal(OutputModel):
    name: str
    target: str
    status: str


class BriefUsage(OutputModel):
    as_of: date
    active_users: int
    seats: int
    adoption: float | None = Field(description="active_users / seats; null with no seats")


class BriefStakeholder(OutputModel):
    id: uuid.UUID
    name: str = Field(description="'[erased]' for an erased person")
    role: str
    status: str


class BriefStakeholderChange(OutputModel):
    at: datetime
    type: str = Field(description="The event type: stakeholder.added, .updated, …")
    stakeholder_id: uuid.UUID | None
    name: str
    role: str | None
    status: str | None
    previous_role: str | None
    previous_status: str | None


class BriefTerm(OutputModel):
    number: int
    start: date
    end: date
    arr: str


class BriefSignal(OutputModel):
    signal: str
    points: int


class BriefHealth(OutputModel):
    score: int
    band: str
    signals: list[BriefSignal]


class BriefBudget(OutputModel):
    fiscal_year_start: date | None = Field(
        description="FYS(R): the budget year that pays the renewal; null while the "
        "customer's fiscal year is unknown"
    )
    budget_fixed_on: date | None = Field(
        description="FYS(R) - budget_lead_days; null while the fiscal year is unknown"
    )


class BriefDates(OutputModel):
    notice_deadline: date | None = Field(description="R - notice_period_days; null without one")
    renewal_date: date
    days_to_renewal: int


class BriefTask(OutputModel):
    id: uuid.UUID
    kind: str
    title: str
    due_date: date
    priority: str
    owner: str | None


class BriefOutcome(OutputModel):
    id: uuid.UUID
    kind: str
    title: str
    closed_on: date = Field(description="The day (UTC) the task was marked done")
    outcome: str | None = Field(description="What was learned; null when none was recorded")


class Brief(OutputModel):
    as_of: date
    account: BriefAccount
    contract: BriefContract
    goals: list[BriefGoal]
    usage: list[BriefUsage] = Field(description="Usage reports by as_of, oldest first")
    stakeholders: list[BriefStakeholder]
    stakeholder_changes: list[BriefStakeholderChange]
    terms: list[BriefTerm]
    health: BriefHealth
    budget: BriefBudget
    dates: BriefDates
    open_tasks: list[BriefTask]
    done_tasks: list[BriefOutcome] = Field(
        description="The current term's done tasks with their outcomes, most recently "
        "closed first; those closed without an outcome too, with null"
    )


class AgendaItem(OutputModel):
    task_id: uuid.UUID
    contract_id: uuid.UUID
    account_id: uuid.UUID
    account_name: str
    kind: str
    title: str
    due_date: date
    priority: str
    arr: str = Field(description="The contract's current ARR")


class AgendaDay(OutputModel):
    date: date
    weekday: str
    items: list[AgendaItem]


class Agenda(OutputModel):
    owner: str
    week: str = Field(description="ISO week, e.g. 2026-W49")
    start: date
    end: date
    overdue: list[AgendaItem] = Field(description="Open tasks due before the week")
    days: list[AgendaDay] = Field(description="Monday to Sunday")
