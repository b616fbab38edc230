from __future__ import annotations

import uuid
from datetime import datetime

from shared.domain.schemas import InputModel, Label, Name, OutputModel, UpdateModel
from shared.enums import GoalStatus


class GoalCreate(InputModel):
    name: Name
    target: Label
    status: GoalStatus = GoalStatus.ON_TRACK


class GoalUpdate(UpdateModel):
    status: GoalStatus | None = None
    name: Name | None = None
    target: Label | None = None


class GoalRead(OutputModel):
    """`account_id` is the contract's, so listeners can key the goal without a lookup."""

    id: uuid.UUID
    contract_id: uuid.UUID
    account_id: uuid.UUID
    name: str
    target: str
    status: GoalStatus
    created_at: datetime
    updated_at: datetime


class GoalPage(OutputModel):
    items: list[GoalRead]
    next_cursor: str | None
