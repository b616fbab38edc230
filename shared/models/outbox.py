from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from shared.clock import utcnow
from shared.db.base import Base
from shared.db.types import BigIntPK, JSONDocument, UTCDateTime


class OutboxEvent(Base):
    """A CloudEvent written in the same transaction as the change it describes.

    In embedded mode this table is the event log: each stream's consumer reads rows with
    no `processed_at` in id order (never a bare id cursor: ids can commit out of order on
    Postgres). In distributed mode the relay deletes a row once the broker acknowledged it.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_stream_pending", "stream", "processed_at", "id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    stream: Mapped[str] = mapped_column(String(20))
    event_id: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(100))
    subject: Mapped[str | None] = mapped_column(String(200))
    partition_key: Mapped[str] = mapped_column(String(200))
    event: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class InboxKey(Base):
    """Keys (`source`, `id`) of CloudEvents a consumer has already applied.

    `consumer` separates the API (events received from clients), the engine and the
    notification dispatcher, so each dedupes on its own.
    """

    __tablename__ = "inbox"

    consumer: Mapped[str] = mapped_column(String(40), primary_key=True)
    source: Mapped[str] = mapped_column(String(200), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
