"""The embedded event source: the outbox table read as the lifecycle event log (DESIGN §2).

One process at a time consumes, under the `lifecycle` lease. It reads the lifecycle
rows that are not processed yet, in id order, through the leased outbox reader
(`shared.runtime.outbox_reader`; never a bare id cursor), and in ONE transaction
applies them (`step`: inbox keys, savepoints, dead letters) and marks every row of the
batch processed. A transient error aborts the whole batch, which is retried with capped
exponential backoff, forever, and never dead-lettered.

Notification rows (`stream == "notifications"`) are not consumed here: the webhook
dispatcher has its own consumer over the same table and marks them processed. Pruning
(`retention`) deletes processed rows of every stream.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import datetime, timedelta

import structlog
from sqlalchemy import func, select

from services.renewal_worker.apply.load import in_chunks
from services.renewal_worker.sources import step
from services.renewal_worker.sources.base import EventSource
from services.renewal_worker.sources.step import BatchResult, Incoming
from shared.clock import utcnow
from shared.config import Settings
from shared.db import Database
from shared.events.outbox import outbox_commits
from shared.events.types import Stream
from shared.models import OutboxEvent
from shared.runtime import lease, outbox_reader
from shared.runtime.outbox_reader import OutboxReader, pending

_log = structlog.get_logger("renewals.worker")


async def process_batch(
    db: Database,
    *,
    holder: str,
    batch_size: int = 100,
    lease_ttl: timedelta = lease.DEFAULT_TTL,
    currency: str = "USD",
) -> BatchResult | None:
    """One batch under the lease, in one transaction. None when another live process
    holds the lease (nothing was read or applied). `currency` is the deployment's, for
    the amounts the engine writes."""
    async with db.transaction() as session:
        rows = await outbox_reader.read_batch(
            session,
            stream=Stream.LIFECYCLE,
            lease_name=lease.LIFECYCLE,
            holder=holder,
            limit=batch_size,
            ttl=lease_ttl,
        )
        if rows is None:
            return None
        if not rows:
            return BatchResult()
        batch = [
            Incoming(row.stream, row.source, row.event_id, row.type, row.event) for row in rows
        ]
        processed = await step.apply_batch(session, batch, currency=currency)
        await outbox_reader.mark_processed(session, rows, at=utcnow())
    return step.settle(processed)


async def has_pending(db: Database) -> bool:
    """Whether any lifecycle row waits: a cheap read, so an idle consumer does not write."""
    async with db.read() as session:
        return await outbox_reader.has_pending(session, Stream.LIFECYCLE)


async def pending_event_ids(db: Database) -> list[str]:
    """The lifecycle events not processed yet, in log order."""
    async with db.read() as session:
        rows = await session.scalars(
            select(OutboxEvent.event_id).where(*pending(Stream.LIFECYCLE)).order_by(OutboxEvent.id)
        )
        return list(rows.all())


async def pending_among(db: Database, event_ids: Iterable[str]) -> int:
    """How many of these lifecycle events are still unprocessed (through the pending
    index, so the cost follows the backlog, not the table)."""
    ids = sorted(set(event_ids))
    count = 0
    async with db.read() as session:
        for chunk in in_chunks(ids):
            count += int(
                await session.scalar(
                    select(func.count())
                    .select_from(OutboxEvent)
                    .where(*pending(Stream.LIFECYCLE), OutboxEvent.event_id.in_(chunk))
                )
                or 0
            )
    return count


class LifecycleConsumer(EventSource):
    """The embedded lifecycle consumer of one process: lease, batches, backoff, pruning.

    `run` loops until `stop` is set, finishing the batch in progress, then releases the
    lease. `step` runs one batch, for callers that drive it themselves (`renewals tick
    --wait`). While another process holds the lease, the consumer stands by with cheap
    reads and takes over once that lease expires or is released.
    """

    def __init__(self, db: Database, settings: Settings, *, holder: str | None = None) -> None:
        holder = holder or lease.new_holder_id("worker")
        super().__init__(
            db, settings, log=_log.bind(holder=holder), idle_seconds=settings.worker_poll_seconds
        )
        self.holder = holder
        self.batch_size = settings.worker_batch_size
        self.reader = OutboxReader(
            db,
            stream=Stream.LIFECYCLE,
            lease_name=lease.LIFECYCLE,
            holder=holder,
            batch_size=self.batch_size,
            lease_ttl=timedelta(seconds=settings.worker_lease_ttl_seconds),
            log=self.log,
        )

    @property
    def holds_lease(self) -> bool:
        return self.reader.holds_lease

    async def step(self) -> BatchResult | None:
        """One batch; None when another process holds the lease."""
        result = await process_batch(
            self.db,
            holder=self.holder,
            batch_size=self.batch_size,
            lease_ttl=self.reader.lease_ttl,
            currency=self.currency,
        )
        if result is None:
            if self.reader.lost():
                self.log.warning("lease_lost")
            return None
        if self.reader.held(utcnow()):
            self.log.info("lease_acquired")
        if result.rows:
            self.log.info(
                "batch_processed",
                rows=result.rows,
                applied=result.applied,
                duplicates=result.duplicates,
                dead_lettered=result.dead_lettered,
            )
        return result

    async def _turn(self) -> bool:
        """One pass of the loop; True when it did work and the next pass should follow
        at once."""
        now = utcnow()
        if not await self.reader.worth_reading(now):
            await self.prune_if_due(now)  # only while holding the lease
            return False
        result = await self.step()
        if result is None:
            return False
        await self.prune_if_due(now)
        return result.rows >= self.batch_size

    async def prune_if_due(self, now: datetime | None = None) -> None:
        """Prunes at most every `worker_prune_interval_seconds`, only while holding the lease."""
        now = now or utcnow()
        if not self.holds_lease or not self.pruner.due(now):
            return
        pruned = await self.pruner.prune(now)
        if any(pruned):
            self.log.info(
                "pruned",
                outbox_rows=pruned.outbox_rows,
                inbox_keys=pruned.inbox_keys,
                idempotency_keys=pruned.idempotency_keys,
            )

    async def release(self) -> None:
        """Gives the lease up (if held) so a successor starts at once."""
        if await self.reader.release():
            self.log.info("lease_released")

    async def close(self) -> None:
        await self.release()

    async def run(self, stop: asyncio.Event, *, wake: asyncio.Event | None = None) -> None:
        """Polls every `RENEWALS_WORKER_POLL_SECONDS`, and at once after a transaction of
        this process (the API in `renewals dev`) committed events."""
        wake = wake or asyncio.Event()
        with outbox_commits(wake.set):
            await super().run(stop, wake=wake)


async def run(db: Database, settings: Settings, stop: asyncio.Event) -> None:
    """The embedded lifecycle consumer until `stop` is set (`renewals worker`, `dev`)."""
    await LifecycleConsumer(db, settings).run(stop)
