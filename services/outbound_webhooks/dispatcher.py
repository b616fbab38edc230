"""The embedded dispatcher: the notifications rows of the outbox, fanned out to deliveries.

In embedded mode (`RENEWALS_EVENT_BUS=database`) the outbox is the event log, and each
stream has its own consumer (DESIGN §2). This one holds the `notifications` lease (one
active dispatcher; others stand by and take over when it expires or is released), reads
unprocessed notification rows in id order and, in ONE transaction, adds their
deliveries (`fanout`) and marks the rows processed — so the lifecycle consumer's pruning
deletes them after `RENEWALS_EVENT_RETENTION_DAYS`. A crash before the commit leaves the
rows unprocessed; the next batch fans them out again, and the unique (subscription,
event) key keeps that from adding anything twice. Any failure (the database is
unreachable, a subscription vanished mid-batch) rolls the batch back; it is retried
after a capped exponential backoff.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta

import structlog
from sqlalchemy import ColumnElement, select, update

from services.outbound_webhooks.fanout import fan_out
from shared.clock import utcnow
from shared.config import Settings
from shared.db import Database
from shared.events.types import Stream
from shared.models import OutboxEvent
from shared.runtime import lease
from shared.runtime.steps import describe, run_steps

NOTIFICATIONS = "notifications"
"""The lease of the embedded notifications consumer (this dispatcher)."""

_log = structlog.get_logger("renewals.webhooks")


def _pending() -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    return OutboxEvent.stream == str(Stream.NOTIFICATIONS), OutboxEvent.processed_at.is_(None)


class OutboxDispatcher:
    """`run` loops until `stop` is set; `step` runs one batch (tests drive it)."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        on_deliveries: Callable[[], None] | None = None,
        holder: str | None = None,
    ) -> None:
        self.db = db
        self.holder = holder or lease.new_holder_id("webhooks")
        self.batch_size = settings.worker_batch_size
        self.poll_seconds = settings.webhooks_poll_seconds
        self.max_backoff = settings.worker_max_backoff_seconds
        self.lease_ttl = timedelta(seconds=settings.worker_lease_ttl_seconds)
        self.retry_window = timedelta(seconds=settings.webhooks_retry_window_seconds)
        self.on_deliveries = on_deliveries
        self.holds_lease = False
        self._renewed_at: datetime | None = None
        self._log = _log.bind(holder=self.holder)

    async def step(self) -> int | None:
        """One batch under the lease; the number of rows consumed, None without the lease."""
        now = utcnow()
        async with self.db.transaction() as session:
            if not await lease.acquire(session, NOTIFICATIONS, self.holder, ttl=self.lease_ttl):
                self.holds_lease = False
                return None
            rows = (
                await session.execute(
                    select(OutboxEvent.id, OutboxEvent.event)
                    .where(*_pending())
                    .order_by(OutboxEvent.id)
                    .limit(self.batch_size)
                )
            ).all()
            added = 0
            if rows:
                added = await fan_out(
                    session, [row.event for row in rows], now=now, retry_window=self.retry_window
                )
                await session.execute(
                    update(OutboxEvent)
                    .where(OutboxEvent.id.in_([row.id for row in rows]))
                    .values(processed_at=now)
                    .execution_options(synchronize_session=False)
                )
        self.holds_lease = True
        self._renewed_at = now
        if rows:
            self._log.info("notifications_dispatched", rows=len(rows), deliveries=added)
        if added and self.on_deliveries is not None:
            self.on_deliveries()
        return len(rows)

    async def _turn(self) -> bool:
        """One pass; True when a full batch was consumed and more may wait. Idle passes
        only read, so an idle dispatcher does not take SQLite's write lock, except to
        renew its lease."""
        now = utcnow()
        async with self.db.read() as session:
            if not self.holds_lease:
                other = await lease.lease_holder(session, NOTIFICATIONS, now=now)
                if other is not None and other != self.holder:
                    return False
            renewal_due = self._renewed_at is None or now - self._renewed_at >= self.lease_ttl / 3
            if not renewal_due:
                pending = await session.scalar(select(OutboxEvent.id).where(*_pending()).limit(1))
                if pending is None:
                    return False
        consumed = await self.step()
        return consumed is not None and consumed >= self.batch_size

    async def release(self) -> None:
        if not self.holds_lease:
            return
        self.holds_lease = False
        try:
            async with self.db.transaction() as session:
                await lease.release(session, NOTIFICATIONS, self.holder)
        except Exception as exc:
            self._log.warning("lease_release_failed", error=describe(exc))

    async def run(self, stop: asyncio.Event) -> None:
        try:
            await run_steps(
                stop,
                self._turn,
                log=self._log,
                failure="dispatch_failed",
                idle_seconds=self.poll_seconds,
                initial_backoff=self.poll_seconds,
                max_backoff=self.max_backoff,
            )
        finally:
            await self.release()
