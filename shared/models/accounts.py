from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.base import Base
from shared.db.types import JSONDocument
from shared.models._columns import IdMixin, TimestampMixin


class Account(IdMixin, TimestampMixin, Base):
    """The customer company. Its segment is derived from the ARR of its active contracts.

    `fiscal_year_start_month` is None until someone finds out: guessing January would
    plan the budget task at the wrong time for every customer whose year starts later."""

    __tablename__ = "accounts"

    name: Mapped[str] = mapped_column(String(200))
    external_ids: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    fiscal_year_start_month: Mapped[int | None] = mapped_column(Integer)
    budget_lead_days: Mapped[int] = mapped_column(Integer, default=90)
    owner: Mapped[str | None] = mapped_column(String(320), index=True)
    partner_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("partners.id"), index=True
    )
