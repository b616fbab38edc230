"""How far behind the event pipeline is, as the database alone can tell.

- The outbox backlog: rows no consumer has taken yet (`processed_at` null). In embedded
  mode the stream's consumer marks a row processed; in distributed mode the relay deletes
  a row once the broker acknowledged it, so what is left is what Kafka does not have yet.
- The worker's lag: lifecycle events recorded (the event log, written with the outbox
  row) that the engine has not applied (no key in its inbox), dead letters left out,
  looked at over the inbox's retention window (older keys are pruned, so older events
  cannot be told apart). In distributed mode this includes events already in Kafka that
  the worker has not consumed yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.events.types import ENGINE_CONSUMER, Stream
from shared.models import DeadLetter, EventLogEntry, InboxKey, OutboxEvent


@dataclass(frozen=True, slots=True)
class Backlog:
    """`count` events waiting, the oldest recorded at `oldest_at` (None when none wait)."""

    name: str
    count: int
    oldest_at: datetime | None

    def age(self, now: datetime) -> timedelta | None:
        return None if self.oldest_at is None else max(now - self.oldest_at, timedelta(0))


async def outbox_backlog(session: AsyncSession) -> list[Backlog]:
    """One row per stream, both streams always listed."""
    rows = await session.execute(
        select(OutboxEvent.stream, func.count(), func.min(OutboxEvent.created_at))
        .where(OutboxEvent.processed_at.is_(None))
        .group_by(OutboxEvent.stream)
    )
    found = {stream: (count, oldest) for stream, count, oldest in rows.all()}
    return [Backlog(stream.value, *found.get(stream.value, (0, None))) for stream in Stream]


async def worker_lag(session: AsyncSession, *, now: datetime, window: timedelta) -> Backlog:
    """Lifecycle events of the last `window` (by event time) the engine has not applied."""
    applied = exists().where(
        InboxKey.consumer == ENGINE_CONSUMER, InboxKey.event_id == EventLogEntry.event_id
    )
    poisoned = exists().where(DeadLetter.event_id == EventLogEntry.event_id)
    count, oldest = (
        await session.execute(
            select(func.count(), func.min(EventLogEntry.time)).where(
                EventLogEntry.time >= now - window, ~applied, ~poisoned
            )
        )
    ).one()
    return Backlog("engine", count, oldest)
