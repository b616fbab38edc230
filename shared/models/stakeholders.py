from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.base import Base
from shared.db.types import JSONDocument, UTCDateTime
from shared.models._columns import IdMixin, TimestampMixin


class Stakeholder(IdMixin, TimestampMixin, Base):
    """A person at the customer. Erasure nulls `name` and `email` and keeps the role history."""

    __tablename__ = "stakeholders"

    account_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("accounts.id"), index=True)
    name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="active")
    external_ids: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    former_identifiers: Mapped[list[str]] = mapped_column(JSONDocument, default=list)
    """Names and e-mails the person had before an update: task texts and notifications
    written then still carry them, so an erasure must redact them too."""
