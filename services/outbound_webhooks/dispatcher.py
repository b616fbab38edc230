"""The embedded dispatcher: the notifications rows of the outbox, fanned out to deliveries.

In embedded mode (`RENEWALS_EVENT_BUS=database`) the outbox is the event log, and each
stream has its own consumer (DESIGN §2). This one holds the `notifications` lease (one
active dispatcher; others stand by and take over when it expires or is released), reads
unprocessed notification rows in id order through the leased outbox reader
(`shared.runtime.outbox_reader`) and, in ONE transaction, adds their deliveries
(`fanout`) and marks the rows processed — so the lifecycle consumer's pruning deletes
them after `RENEWALS_EVENT_RETENTION_DAYS`. A crash before the commit leaves the rows
unprocessed; the next batch fans them out again, and the unique (subscription, event)
key keeps that from adding anything twice. Any failure (the database is unreachable, a
subscription vanished mid-batch) rolls the batch back; it is retried after a capped
exponential backoff.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import structlog

from services.outbound_webhooks.base import Dispatcher, Fanned
from shared.clock import utcnow
from shared.config import Settings
from shared.db import Database
from shared.events.types import Stream
from shared.runtime import lease
from shared.runtime.outbox_reader import OutboxReader, mark_processed

NOTIFICATIONS = "notifications"
"""The lease of the embedded notifications consumer (this dispatcher)."""

_log = structlog.get_logger("renewals.webhooks")


class OutboxDispatcher(Dispatcher):
    """`run` loops until `stop` is set; `step` runs one batch (tests drive it)."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        on_deliveries: Callable[[], None] | None = None,
        on_crm_syncs: Callable[[], None] | None = None,
        holder: str | None = None,
    ) -> None:
        holder = holder or lease.new_holder_id("webhooks")
        super().__init__(
            db,
            settings,
            on_deliveries=on_deliveries,
            on_crm_syncs=on_crm_syncs,
            log=_log.bind(holder=holder),
            idle_seconds=settings.webhooks_poll_seconds,
        )
        self.holder = holder
        self.batch_size = settings.worker_batch_size
        self.reader = OutboxReader(
            db,
            stream=Stream.NOTIFICATIONS,
            lease_name=NOTIFICATIONS,
            holder=holder,
            batch_size=self.batch_size,
            lease_ttl=timedelta(seconds=settings.worker_lease_ttl_seconds),
            log=self._log,
        )

    @property
    def holds_lease(self) -> bool:
        return self.reader.holds_lease

    async def step(self) -> int | None:
        """One batch under the lease; the number of rows consumed, None without the lease."""
        now = utcnow()
        async with self.db.transaction() as session:
            rows = await self.reader.read(session)
            if rows is None:
                self.reader.lost()
                return None
            added = Fanned(0, 0)
            if rows:
                added = await self.fan_out(session, [row.event for row in rows], now=now)
                await mark_processed(session, rows, at=now)
        self.reader.held(now)
        if rows:
            self._log.info(
                "notifications_dispatched",
                rows=len(rows),
                deliveries=added.deliveries,
                crm_syncs=added.crm_syncs,
            )
        self.delivered(added)
        return len(rows)

    async def _turn(self) -> bool:
        """One pass; True when a full batch was consumed and more may wait. Idle passes
        only read, so an idle dispatcher does not take SQLite's write lock, except to
        renew its lease."""
        if not await self.reader.worth_reading(utcnow()):
            return False
        consumed = await self.step()
        return consumed is not None and consumed >= self.batch_size

    async def release(self) -> None:
        await self.reader.release()

    async def close(self) -> None:
        await self.release()
