from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.base import Base
from shared.models._columns import IdMixin, TimestampMixin


class Goal(IdMixin, TimestampMixin, Base):
    __tablename__ = "goals"

    contract_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("contracts.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    target: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16))
