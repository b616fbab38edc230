from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from shared.clock import utcnow
from shared.db.base import Base
from shared.db.types import JSONDocument, UTCDateTime
from shared.models._columns import IdMixin


class IdempotencyKey(IdMixin, Base):
    """A POST's `Idempotency-Key`, scoped to the API key that sent it.

    `fingerprint` hashes method, path, query and body; `response_status` stays null while
    the first request is in flight.
    """

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("api_key_id", "key"),)

    api_key_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("api_keys.id"))
    key: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(64))
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_headers: Mapped[list[list[str]] | None] = mapped_column(JSONDocument)
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
