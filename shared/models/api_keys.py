from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.base import Base
from shared.db.types import JSONDocument, UTCDateTime
from shared.models._columns import IdMixin, TimestampMixin


class ApiKey(IdMixin, TimestampMixin, Base):
    """Only the SHA-256 of a key is stored; `prefix` lets people tell keys apart."""

    __tablename__ = "api_keys"

    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(JSONDocument)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """After this instant the key gets 401, as if revoked: a key given to a contractor or
    a trial integration need not be remembered to be revoked."""
