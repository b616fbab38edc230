"""Rows the embedded worker keeps for itself: its lease and the events it gave up on."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from shared.clock import utcnow
from shared.db.base import Base
from shared.db.types import JSONDocument, UTCDateTime
from shared.models._columns import IdMixin


class DeadLetter(IdMixin, Base):
    """A poison event: it could not be parsed, failed validation or made the engine raise.

    The consumer records it with the error and moves on; `renewals dlq replay` puts it
    back and sets `replayed_at`. Transient failures are retried and never land here.

    Every batch of the worker looks its events up among the pending (not replayed) dead
    letters by event id; the partial index keeps that lookup from reading every dead
    letter ever recorded.
    """

    __tablename__ = "dead_letters"
    __table_args__ = (
        Index(
            "ix_dead_letters_pending_event_id",
            "event_id",
            postgresql_where=text("replayed_at IS NULL"),
            sqlite_where=text("replayed_at IS NULL"),
        ),
    )

    stream: Mapped[str] = mapped_column(String(20))
    event_id: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(100))
    event: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    error: Mapped[str] = mapped_column(Text)
    failed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    replayed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WorkerLease(Base):
    """One row per embedded consumer (`lifecycle`, …): the process whose `holder` it names
    may consume until `expires_at`; it renews the lease every batch and releases it when
    it stops, and any process may take a lease that expired."""

    __tablename__ = "worker_leases"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
