"""The embedded event source: the outbox table read as an event log (DESIGN §2).

Rows of a stream are read in id order among those not yet processed, and marked
processed in the same transaction as their effects — never through a bare id cursor,
because ids can commit out of order on Postgres.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.clock import utcnow
from shared.db import Database
from shared.events.types import Stream
from shared.models import OutboxEvent

Handler = Callable[[AsyncSession, Sequence[OutboxEvent]], Awaitable[None]]
_log = structlog.get_logger("renewals.worker")


async def acknowledge(_session: AsyncSession, _events: Sequence[OutboxEvent]) -> None:
    """Applies nothing: events are only marked processed."""


async def process_batch(db: Database, stream: Stream, handle: Handler, batch_size: int) -> int:
    """One batch in one transaction; returns how many events it processed."""
    async with db.transaction() as session:
        rows = (
            await session.scalars(
                select(OutboxEvent)
                .where(OutboxEvent.stream == str(stream), OutboxEvent.processed_at.is_(None))
                .order_by(OutboxEvent.id)
                .limit(batch_size)
            )
        ).all()
        if not rows:
            return 0
        await handle(session, rows)
        now = utcnow()
        for row in rows:
            row.processed_at = now
        return len(rows)


async def run(
    db: Database,
    stream: Stream,
    handle: Handler,
    *,
    batch_size: int,
    poll_seconds: float,
    stop: asyncio.Event,
) -> None:
    """Drains the stream, then polls; transient errors are logged and retried."""
    backoff = poll_seconds
    while not stop.is_set():
        try:
            processed = await process_batch(db, stream, handle, batch_size)
            backoff = poll_seconds
        except Exception:
            _log.exception("batch_failed", stream=str(stream))
            processed = 0
            backoff = min(backoff * 2, 30.0)
        if processed == 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=backoff)
