from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import Date, ForeignKey, Index, Integer, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.base import Base
from shared.models._columns import IdMixin, TimestampMixin


class Checkpoint(IdMixin, TimestampMixin, Base):
    """One row of a term's plan, identified by (contract, term, kind, ordinal).

    The (status, opens_on, id) index makes the scheduler's sweep cost follow the rows due:
    it returns due rows in the sweep's order, so each batch reads only its own rows.
    """

    __tablename__ = "checkpoints"
    __table_args__ = (
        UniqueConstraint("contract_id", "term", "kind", "ordinal"),
        Index("ix_checkpoints_status_opens_on_id", "status", "opens_on", "id"),
    )

    contract_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("contracts.id"))
    term: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(40))
    ordinal: Mapped[int] = mapped_column(Integer, default=0)
    due_date: Mapped[date] = mapped_column(Date)
    opens_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="planned")
