"""Writing CloudEvents to the outbox, inside the caller's transaction.

Every state change calls `emit` in the same unit of work as the change itself, so an
event exists exactly when its change committed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shared.events.types import NOTIFICATION_TYPES, EventType, Stream
from shared.ids import new_id
from shared.models import OutboxEvent


def build_event(
    *,
    type: EventType,
    source: str,
    subject: str,
    data: dict[str, Any],
    dataschema: str,
    actor: str,
    time: datetime,
    event_id: str | None = None,
) -> dict[str, Any]:
    """A CloudEvents 1.0 structured-mode envelope with the `actor` extension."""
    return {
        "specversion": "1.0",
        "id": event_id or str(new_id()),
        "source": source,
        "type": str(type),
        "subject": subject,
        "time": time.isoformat(),
        "datacontenttype": "application/json",
        "dataschema": dataschema,
        "actor": actor,
        "data": data,
    }


def stream_for(type: EventType, *, reemitted: bool = False) -> Stream:
    if reemitted or type in NOTIFICATION_TYPES:
        return Stream.NOTIFICATIONS
    return Stream.LIFECYCLE


def emit(
    session: AsyncSession,
    *,
    type: EventType,
    source: str,
    subject: str,
    partition_key: str,
    data: dict[str, Any],
    dataschema: str,
    actor: str,
    time: datetime,
    stream: Stream | None = None,
) -> dict[str, Any]:
    event = build_event(
        type=type,
        source=source,
        subject=subject,
        data=data,
        dataschema=dataschema,
        actor=actor,
        time=time,
    )
    session.add(
        OutboxEvent(
            stream=str(stream or stream_for(type)),
            event_id=event["id"],
            source=source,
            type=str(type),
            subject=subject,
            partition_key=partition_key,
            event=event,
        )
    )
    return event
