from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, ClassVar

from pydantic import EmailStr, Field

from shared.domain.schemas import ExternalIds, InputModel, Name, OutputModel, UpdateModel
from shared.rules.types import Segment

FiscalYearStartMonth = Annotated[
    int,
    Field(
        ge=1,
        le=12,
        description="The month the customer's fiscal year starts, 1-12; null while unknown "
        "(the tasks then ask for it, and the budget is checked six months before renewal)",
    ),
]
BudgetLeadDays = Annotated[
    int,
    Field(
        ge=0,
        le=730,
        description="By this many days before a fiscal year starts, its budget is fixed",
    ),
]
Owner = Annotated[EmailStr, Field(max_length=320, description="The account manager's e-mail")]


class AccountCreate(InputModel):
    name: Name
    fiscal_year_start_month: FiscalYearStartMonth | None = None
    budget_lead_days: BudgetLeadDays = 90
    owner: Owner | None = None
    partner_id: uuid.UUID | None = Field(
        default=None, description="The default partner of the account's new contracts"
    )
    external_ids: ExternalIds = Field(default_factory=dict)


class AccountUpdate(UpdateModel):
    nullable: ClassVar[frozenset[str]] = frozenset(
        {"owner", "partner_id", "fiscal_year_start_month"}
    )

    name: Name | None = None
    fiscal_year_start_month: FiscalYearStartMonth | None = None
    budget_lead_days: BudgetLeadDays | None = None
    owner: Owner | None = None
    partner_id: uuid.UUID | None = None
    external_ids: ExternalIds | None = None


class AccountRead(OutputModel):
    id: uuid.UUID
    name: str
    fiscal_year_start_month: int | None
    budget_lead_days: int
    owner: str | None
    partner_id: uuid.UUID | None
    external_ids: dict[str, str]
    segment: Segment = Field(description="From `arr`; derived, read-only")
    arr: str = Field(description="The ARR of the account's contracts active today")
    created_at: datetime
    updated_at: datetime


class AccountPage(OutputModel):
    items: list[AccountRead]
    next_cursor: str | None
