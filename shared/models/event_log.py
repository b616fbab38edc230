"""The durable history of lifecycle events, one row per event, kept forever.

The outbox is a queue, not a history: embedded mode prunes processed rows after
`RENEWALS_EVENT_RETENTION_DAYS`, and distributed mode deletes each row once the broker
has it. `emit` writes this table in the same transaction as the outbox row, so the
contract timeline can be read long after the outbox forgot the event.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.base import Base
from shared.db.types import BigIntPK, JSONDocument, UTCDateTime


class EventLogEntry(Base):
    """A lifecycle event as it was emitted.

    Only the lifecycle stream is logged: its events never carry names or e-mails, so
    erasing a stakeholder has nothing to redact here. Task notifications may name people
    and are left out; the timeline reads tasks from the tasks table instead.

    `contract_id` is the subject of `contract.*` events and `data.contract_id` of the
    others that name one (usage, goals, checkpoints); `account_id` is the partition key,
    null for `partner.*` events. Account-level events (account and stakeholder changes)
    have an account and no contract.
    """

    __tablename__ = "event_log"
    __table_args__ = (
        Index("ix_event_log_contract_id_time", "contract_id", "time"),
        Index("ix_event_log_account_id_time", "account_id", "time"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(100))
    time: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(200))
    account_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    contract_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    subject: Mapped[str] = mapped_column(String(200))
    data: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
