from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import Field

from shared.domain.schemas import Day, InputModel, OutputModel

Count = Annotated[int, Field(ge=0, le=2_147_483_647)]


class UsageCreate(InputModel):
    active_users: Count
    seats: Count = Field(description="Seats in use by the customer; 0 means no adoption signal")
    as_of: Day = Field(description="The day the numbers describe; at most one day ahead")


class UsageRead(OutputModel):
    id: uuid.UUID
    contract_id: uuid.UUID
    account_id: uuid.UUID
    active_users: int
    seats: int
    as_of: date
    created_at: datetime


class UsagePage(OutputModel):
    items: list[UsageRead]
    next_cursor: str | None
