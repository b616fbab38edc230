from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, String, Text, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.base import Base
from shared.db.types import UTCDateTime
from shared.models._columns import IdMixin, TimestampMixin


class Task(IdMixin, TimestampMixin, Base):
    """Work for an account manager. `dedupe_key` is deterministic, so redelivered events
    can never create a second task for the same reason.

    `version` is checked and bumped by every update: the worker reads a batch's tasks
    when the batch starts, and a task a user closed since then fails the worker's write
    (`StaleDataError`, transient: the batch is redone from fresh reads) instead of the
    worker overwriting the user's outcome."""

    __tablename__ = "tasks"
    __table_args__ = (
        Index(
            "ix_tasks_overdue_unnoted_due_date",
            "due_date",
            postgresql_where=text("status = 'open' AND overdue_noted_on IS NULL"),
            sqlite_where=text("status = 'open' AND overdue_noted_on IS NULL"),
        ),
    )

    contract_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("contracts.id"), index=True)
    account_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("accounts.id"), index=True)
    partner_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("partners.id"), index=True
    )
    checkpoint_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("checkpoints.id"))
    term: Mapped[int] = mapped_column(Integer, default=1)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text)
    due_date: Mapped[date] = mapped_column(Date, index=True)
    priority: Mapped[str] = mapped_column(String(8))
    owner: Mapped[str | None] = mapped_column(String(320), index=True)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    status_reason: Mapped[str | None] = mapped_column(String(300))
    outcome: Mapped[str | None] = mapped_column(Text)
    dedupe_key: Mapped[str] = mapped_column(String(300), unique=True)
    source_event_id: Mapped[str | None] = mapped_column(String(200))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    overdue_noted_on: Mapped[date | None] = mapped_column(Date)
    """The sweep day that told the engine this task is over 14 days overdue (so health
    is recomputed then, not at the next event); cleared when the due date moves."""
    expected_arr_minor: Mapped[int | None] = mapped_column(BigInteger)
    """The ARR an account manager expects, recorded when closing an
    `expansion_opportunity` task as done; the term's forecast expects it."""
    version: Mapped[int] = mapped_column(Integer, server_default="1")

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (read once, by the mapper)
