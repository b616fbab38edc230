"""Outbound webhooks: who wants which notifications, and every delivery owed to them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.base import Base
from shared.db.types import JSONDocument, UTCDateTime
from shared.models._columns import IdMixin, TimestampMixin


class WebhookSubscription(IdMixin, TimestampMixin, Base):
    """An endpoint that receives the notifications it names, signed with its secret.

    The secret is sealed (`shared/secret_box.py`), not hashed: every delivery is signed
    with it, and an HMAC key cannot be hashed away. After a rotation `previous_secret`
    still signs deliveries until `previous_secret_expires_at`, so receivers can switch
    without losing any.
    `partner_id` narrows the subscription to one partner's contracts and tasks.
    """

    __tablename__ = "webhook_subscriptions"

    url: Mapped[str] = mapped_column(String(2000))
    event_types: Mapped[list[str]] = mapped_column(JSONDocument)
    partner_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("partners.id"), index=True
    )
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(300))
    secret: Mapped[str] = mapped_column(String(500))
    previous_secret: Mapped[str | None] = mapped_column(String(500))
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebhookDelivery(IdMixin, TimestampMixin, Base):
    """One notification owed to one subscription, and what became of it.

    The id is the `webhook-id` of every attempt, so receivers can dedupe retries. A
    sender claims a pending delivery by pushing `next_attempt_at` past the attempt's
    timeout and writing its name in `claimed_by`: a sender that dies mid-attempt leaves
    the delivery due again once that time passes. `status` is `pending` (waiting for
    `next_attempt_at`), `delivered` or `failed` (given up: a 4xx, a refused address, or
    retries past `retry_until`).
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("subscription_id", "event_id"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    )

    subscription_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("webhook_subscriptions.id", ondelete="CASCADE")
    )
    event_id: Mapped[str] = mapped_column(String(200))
    event_type: Mapped[str] = mapped_column(String(100))
    event: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    retry_until: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
