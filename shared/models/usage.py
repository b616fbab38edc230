from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from shared.clock import utcnow
from shared.db.base import Base
from shared.db.types import UTCDateTime
from shared.models._columns import IdMixin


class UsageReport(IdMixin, Base):
    """Immutable: a correction is a new report (the latest `as_of` wins, then the latest id)."""

    __tablename__ = "usage_reports"
    __table_args__ = (Index("ix_usage_reports_contract_as_of", "contract_id", "as_of", "id"),)

    contract_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("contracts.id"))
    active_users: Mapped[int] = mapped_column(Integer)
    seats: Mapped[int] = mapped_column(Integer)
    as_of: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
