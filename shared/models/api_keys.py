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
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """When the key last authenticated a request, to a minute: written at most once a
    minute per key, so a busy key costs no write per request. Shows which keys are
    unused and can be revoked."""
