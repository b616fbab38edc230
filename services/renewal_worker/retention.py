"""Retention: what the worker deletes once it is old enough (DESIGN §2 "Retention").

Processed outbox rows (of every stream) and inbox keys are kept
`RENEWALS_EVENT_RETENTION_DAYS` (a redelivery within that window is still recognised),
`Idempotency-Key` records until they expire (24 h). Both event sources prune every
`RENEWALS_WORKER_PRUNE_INTERVAL_SECONDS` through a `Pruner`; deletes go in batches of
short transactions, and are idempotent, so several workers may prune at once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import delete, select, tuple_

from shared.config import Settings
from shared.db import Database
from shared.events.types import Stream
from shared.models import IdempotencyKey, InboxKey, OutboxEvent

PRUNE_BATCH_SIZE = 1000


async def prune(
    db: Database, *, older_than: datetime, batch_size: int = PRUNE_BATCH_SIZE
) -> tuple[int, int]:
    """Deletes processed outbox rows and inbox keys from before `older_than`, in batches
    of short transactions; returns (outbox rows, inbox keys) deleted. Unprocessed rows
    are never touched."""
    outbox_deleted = inbox_deleted = 0
    for stream in Stream:
        while True:
            doomed = (
                select(OutboxEvent.id)
                .where(OutboxEvent.stream == str(stream), OutboxEvent.processed_at < older_than)
                .order_by(OutboxEvent.id)
                .limit(batch_size)
            )
            async with db.transaction() as session:
                result = await session.execute(
                    delete(OutboxEvent)
                    .where(OutboxEvent.id.in_(doomed.scalar_subquery()))
                    .execution_options(synchronize_session=False)
                )
            count = int(result.rowcount)  # type: ignore[attr-defined]
            outbox_deleted += count
            if count < batch_size:
                break
    key = tuple_(InboxKey.consumer, InboxKey.source, InboxKey.event_id)
    while True:
        doomed_keys = (
            select(InboxKey.consumer, InboxKey.source, InboxKey.event_id)
            .where(InboxKey.processed_at < older_than)
            .order_by(InboxKey.processed_at)
            .limit(batch_size)
        )
        async with db.transaction() as session:
            result = await session.execute(
                delete(InboxKey)
                .where(key.in_(doomed_keys))
                .execution_options(synchronize_session=False)
            )
        count = int(result.rowcount)  # type: ignore[attr-defined]
        inbox_deleted += count
        if count < batch_size:
            break
    return outbox_deleted, inbox_deleted


async def prune_idempotency_keys(
    db: Database, *, now: datetime, batch_size: int = PRUNE_BATCH_SIZE
) -> int:
    """Deletes `Idempotency-Key` records past their expiry (24 h by default)."""
    deleted = 0
    while True:
        doomed = (
            select(IdempotencyKey.id)
            .where(IdempotencyKey.expires_at < now)
            .order_by(IdempotencyKey.expires_at)
            .limit(batch_size)
        )
        async with db.transaction() as session:
            result = await session.execute(
                delete(IdempotencyKey)
                .where(IdempotencyKey.id.in_(doomed.scalar_subquery()))
                .execution_options(synchronize_session=False)
            )
        count = int(result.rowcount)  # type: ignore[attr-defined]
        deleted += count
        if count < batch_size:
            return deleted


class Pruned(NamedTuple):
    outbox_rows: int
    inbox_keys: int
    idempotency_keys: int


class Pruner:
    """Prunes at most every `RENEWALS_WORKER_PRUNE_INTERVAL_SECONDS`."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.retention = timedelta(days=settings.event_retention_days)
        self.interval = timedelta(seconds=settings.worker_prune_interval_seconds)
        self._pruned_at: datetime | None = None

    def due(self, now: datetime) -> bool:
        return self._pruned_at is None or now - self._pruned_at >= self.interval

    async def prune(self, now: datetime) -> Pruned:
        """Prunes what is older than the retention at `now`; the interval counts from
        here, even when pruning fails."""
        self._pruned_at = now
        outbox_rows, inbox_keys = await prune(self.db, older_than=now - self.retention)
        idempotency_keys = await prune_idempotency_keys(self.db, now=now)
        return Pruned(outbox_rows, inbox_keys, idempotency_keys)
