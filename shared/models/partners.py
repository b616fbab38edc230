from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.base import Base
from shared.models._columns import IdMixin, TimestampMixin


class Partner(IdMixin, TimestampMixin, Base):
    __tablename__ = "partners"

    name: Mapped[str] = mapped_column(String(200))
    tier: Mapped[str | None] = mapped_column(String(16))
