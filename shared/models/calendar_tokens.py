from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.base import Base
from shared.db.types import UTCDateTime
from shared.models._columns import IdMixin, TimestampMixin


class CalendarToken(IdMixin, TimestampMixin, Base):
    """A read-only token for one owner's calendar feed. Calendar apps keep the feed's URL
    in plain sight (sync logs, shared calendars), so the URL carries this token, which
    opens that feed only, never an API key. Only its SHA-256 is stored."""

    __tablename__ = "calendar_tokens"

    owner: Mapped[str] = mapped_column(String(320), index=True)
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[str] = mapped_column(String(100))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
