from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import EmailStr, Field

from shared.domain.schemas import ExternalIds, InputModel, Name, OutputModel, UpdateModel
from shared.enums import StakeholderRole, StakeholderStatus


class StakeholderCreate(InputModel):
    name: Name
    email: EmailStr
    role: StakeholderRole
    external_ids: ExternalIds = Field(default_factory=dict)


class StakeholderUpdate(UpdateModel):
    """Every field may be omitted; none may be null (an erased person's name and e-mail
    are null because of the erasure, not because a PATCH cleared them)."""

    role: StakeholderRole | None = None
    status: StakeholderStatus | None = None
    name: Name | None = None
    email: EmailStr | None = None
    external_ids: ExternalIds | None = None


class StakeholderRead(OutputModel):
    id: uuid.UUID
    account_id: uuid.UUID
    name: str | None = Field(description="null once the person has been erased")
    email: str | None = Field(description="null once the person has been erased")
    role: StakeholderRole
    status: StakeholderStatus
    external_ids: dict[str, Any]
    erased_at: datetime | None
    created_at: datetime
    updated_at: datetime


class StakeholderEventData(OutputModel):
    """What lifecycle events say about a person: never a name or an e-mail (DESIGN §4)."""

    id: uuid.UUID
    account_id: uuid.UUID
    role: StakeholderRole
    status: StakeholderStatus
    external_ids: dict[str, Any]


class StakeholderPage(OutputModel):
    items: list[StakeholderRead]
    next_cursor: str | None
