from __future__ import annotations

import uuid

from sqlalchemy import String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.base import Base


class ExternalRef(Base):
    """Index of `external_ids` ({"hubspot": "123"}): unique per entity type and system, and
    the way events and CRM webhooks find an entity without knowing our id."""

    __tablename__ = "external_refs"

    entity_type: Mapped[str] = mapped_column(String(20), primary_key=True)
    system: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[str] = mapped_column(String(200), primary_key=True)
    entity_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
