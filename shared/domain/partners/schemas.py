from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

from shared.domain.schemas import InputModel, Name, OutputModel, UpdateModel
from shared.enums import PartnerTier


class PartnerCreate(InputModel):
    name: Name
    tier: PartnerTier | None = None


class PartnerUpdate(UpdateModel):
    nullable: ClassVar[frozenset[str]] = frozenset({"tier"})

    name: Name | None = None
    tier: PartnerTier | None = None


class PartnerRead(OutputModel):
    id: uuid.UUID
    name: str
    tier: PartnerTier | None
    created_at: datetime
    updated_at: datetime


class PartnerPage(OutputModel):
    items: list[PartnerRead]
    next_cursor: str | None
