"""Engine tasks mirrored into CRMs' own task queues (HubSpot, Salesforce)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.base import Base
from shared.db.types import UTCDateTime
from shared.models._columns import IdMixin, TimestampMixin


class CrmTaskSync(IdMixin, TimestampMixin, Base):
    """One engine task in one CRM, and how far the CRM's copy has caught up.

    The notifications dispatcher raises `wanted_version` to the version each
    `task.created`/`task.updated` carries and makes the row due; a syncer claims due rows
    (like webhook deliveries: `claimed_by` and `next_attempt_at` pushed past the attempt's
    timeout), pushes the task as it is *now*, and records `synced_version`. So the CRM
    always ends at the latest state, whatever order notifications arrive in, and a
    syncer that dies mid-push leaves the row due again. `crm_object_id` is the CRM's id
    of its task once known; before a create is retried the CRM is searched for a task
    carrying the engine's task id, so a crash between the CRM's answer and our commit
    creates nothing twice. `status`: `pending` (due at `next_attempt_at`), `synced`, or
    `failed` (given up; `POST /v1/crm-sync/{task_id}/retry` makes it due again).
    `retry_until` closes the retry window of the wanted version (webhooks' window, from
    when that version was wanted): a push still failing then is given up.
    `completed_in_crm_at` is when a completion reported by the CRM closed the engine's
    task, so a second report of it changes nothing.
    """

    __tablename__ = "crm_task_syncs"
    __table_args__ = (
        UniqueConstraint("task_id", "crm"),
        Index("ix_crm_task_syncs_due", "status", "next_attempt_at"),
        Index("ix_crm_task_syncs_object", "crm", "crm_object_id"),
    )

    task_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("tasks.id", ondelete="CASCADE"))
    crm: Mapped[str] = mapped_column(String(20))
    crm_object_id: Mapped[str | None] = mapped_column(String(100))
    wanted_version: Mapped[int] = mapped_column(Integer)
    synced_version: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    last_error: Mapped[str | None] = mapped_column(Text)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_in_crm_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    retry_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CrmPollCursor(Base):
    """How far a CRM's completed tasks have been polled (the fallback for CRMs that do
    not push completions): the next poll asks for tasks modified since `polled_until`."""

    __tablename__ = "crm_poll_cursors"

    crm: Mapped[str] = mapped_column(String(20), primary_key=True)
    polled_until: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
