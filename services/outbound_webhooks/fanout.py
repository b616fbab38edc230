"""Fan-out: one delivery row per notification and matching subscription.

Both dispatchers (embedded and Kafka) call `fan_out` inside the transaction that also
marks their input consumed (outbox rows processed, or before the offsets commit). Rows
are unique on (subscription, event id) and inserted with ON CONFLICT DO NOTHING, so an
event seen twice — a Kafka redelivery, a dispatcher that crashed before its commit —
creates nothing twice.

A subscription matches when it is enabled, lists the event's type, and either has no
partner filter or names the event's partner: `partner_id` of the event's data (tasks,
re-emitted contracts), else the current partner of the contract it is about
(`contract.health_changed` carries only the contract's and account's ids).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from shared.events.types import DELIVERABLE
from shared.ids import new_id
from shared.models import Contract, WebhookDelivery, WebhookSubscription

_INSERT_CHUNK = 500


def _uuid(value: object) -> uuid.UUID | None:
    if not isinstance(value, str):
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


async def partner_of(session: AsyncSession, event: Mapping[str, Any]) -> uuid.UUID | None:
    """The partner a notification concerns; None for direct contracts (or unknown)."""
    data = event.get("data")
    data = data if isinstance(data, Mapping) else {}
    if "partner_id" in data:
        return _uuid(data["partner_id"])
    contract_id = _uuid(data.get("contract_id"))
    if contract_id is None and str(event.get("type", "")).startswith("contract."):
        contract_id = _uuid(event.get("subject"))
    if contract_id is None:
        return None
    partner: uuid.UUID | None = await session.scalar(
        select(Contract.partner_id).where(Contract.id == contract_id)
    )
    return partner


async def fan_out(
    session: AsyncSession,
    events: Iterable[Mapping[str, Any]],
    *,
    now: datetime,
    retry_window: timedelta,
) -> int:
    """Adds the deliveries the events owe (duplicates are ignored); returns how many
    rows it tried to add, so the caller knows whether to wake the sender. Events that
    are not deliverable notifications, or have no id, are skipped."""
    subscriptions = (
        await session.execute(
            select(
                WebhookSubscription.id,
                WebhookSubscription.event_types,
                WebhookSubscription.partner_id,
            ).where(WebhookSubscription.enabled.is_(True))
        )
    ).all()
    if not subscriptions:
        return 0
    rows: list[dict[str, Any]] = []
    for event in events:
        type, event_id = event.get("type"), event.get("id")
        if type not in DELIVERABLE or not isinstance(event_id, str) or not event_id:
            continue
        interested = [s for s in subscriptions if type in s.event_types]
        partner = (
            await partner_of(session, event)
            if any(s.partner_id is not None for s in interested)
            else None
        )
        rows.extend(
            {
                "id": new_id(),
                "subscription_id": s.id,
                "event_id": event_id,
                "event_type": type,
                "event": dict(event),
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "retry_until": now + retry_window,
                "created_at": now,
                "updated_at": now,
            }
            for s in interested
            if s.partner_id is None or s.partner_id == partner
        )
    await _insert_ignoring_duplicates(session, rows)
    return len(rows)


async def _insert_ignoring_duplicates(
    session: AsyncSession, rows: Sequence[dict[str, Any]]
) -> None:
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    for start in range(0, len(rows), _INSERT_CHUNK):
        statement = (
            insert(WebhookDelivery)
            .values(list(rows[start : start + _INSERT_CHUNK]))
            .on_conflict_do_nothing(index_elements=["subscription_id", "event_id"])
        )
        await session.execute(statement)
