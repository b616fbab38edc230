"""The leased outbox reader: one stream of the outbox table read as an event log.

In embedded mode (`RENEWALS_EVENT_BUS=database`) the outbox is the event log, and each
stream has exactly one active consumer (DESIGN §2): the engine's lifecycle consumer and
the webhook dispatcher. Each holds its stream's lease (`lease`) and reads the rows of
its stream that are not processed yet, in id order — never through a bare id cursor,
because ids can commit out of order on Postgres and a row that commits late with a lower
id must still be seen — then marks them processed in the same transaction as their
effects, so a crash before the commit leaves them to be read again. Processed rows are
deleted later by the worker's pruning.

`read_batch` and `mark_processed` run in the caller's transaction; an `OutboxReader`
keeps one process's view of its lease between batches, so idle passes only read
(an idle consumer takes no write lock on SQLite, except to renew its lease) and a
standby waits without writing while another live process holds the lease.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import Database
from shared.events.types import Stream
from shared.models import OutboxEvent
from shared.runtime import lease
from shared.runtime.steps import describe


class OutboxRow(NamedTuple):
    """An outbox row as plain values: a savepoint rollback cannot expire them."""

    id: int
    stream: str
    source: str
    event_id: str
    type: str
    event: dict[str, Any]


def pending(stream: Stream) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """The rows of `stream` not processed yet (the partial index on unprocessed rows)."""
    return OutboxEvent.stream == str(stream), OutboxEvent.processed_at.is_(None)


async def read_batch(
    session: AsyncSession,
    *,
    stream: Stream,
    lease_name: str,
    holder: str,
    limit: int,
    ttl: timedelta = lease.DEFAULT_TTL,
) -> list[OutboxRow] | None:
    """Takes or renews the lease in the caller's transaction, then reads up to `limit`
    unprocessed rows of `stream` in id order. None, with nothing read, when another live
    process holds the lease."""
    if not await lease.acquire(session, lease_name, holder, ttl=ttl):
        return None
    rows = await session.execute(
        select(
            OutboxEvent.id,
            OutboxEvent.stream,
            OutboxEvent.source,
            OutboxEvent.event_id,
            OutboxEvent.type,
            OutboxEvent.event,
        )
        .where(*pending(stream))
        .order_by(OutboxEvent.id)
        .limit(limit)
    )
    return [OutboxRow(*columns) for columns in rows]


async def mark_processed(session: AsyncSession, rows: Sequence[OutboxRow], *, at: datetime) -> None:
    """Marks the rows processed in the caller's transaction, the one of their effects."""
    if not rows:
        return
    await session.execute(
        update(OutboxEvent)
        .where(OutboxEvent.id.in_([row.id for row in rows]))
        .values(processed_at=at)
        .execution_options(synchronize_session=False)
    )


async def has_pending(session: AsyncSession, stream: Stream) -> bool:
    """Whether any row of `stream` waits: a cheap read."""
    found = await session.scalar(select(OutboxEvent.id).where(*pending(stream)).limit(1))
    return found is not None


class OutboxReader:
    """One process's reader of one stream under its lease, as its loop sees it.

    `read` takes a batch in the caller's transaction; after that transaction the loop
    says what became of the lease (`held`, `lost`). `worth_reading` is the cheap check
    before a batch, `release` gives the lease up when the loop stops.
    """

    def __init__(
        self,
        db: Database,
        *,
        stream: Stream,
        lease_name: str,
        holder: str,
        batch_size: int,
        lease_ttl: timedelta,
        log: Any,
    ) -> None:
        self.db = db
        self.stream = stream
        self.lease_name = lease_name
        self.holder = holder
        self.batch_size = batch_size
        self.lease_ttl = lease_ttl
        self.holds_lease = False
        self._renewed_at: datetime | None = None
        self._log = log

    async def read(self, session: AsyncSession) -> list[OutboxRow] | None:
        """A batch of this stream under the lease (`read_batch`)."""
        return await read_batch(
            session,
            stream=self.stream,
            lease_name=self.lease_name,
            holder=self.holder,
            limit=self.batch_size,
            ttl=self.lease_ttl,
        )

    def held(self, at: datetime) -> bool:
        """The lease was taken or renewed at `at` (its transaction committed); True when
        this process did not hold it before."""
        acquired = not self.holds_lease
        self.holds_lease = True
        self._renewed_at = at
        return acquired

    def lost(self) -> bool:
        """Another process holds the lease; True when this process held it before."""
        was_held = self.holds_lease
        self.holds_lease = False
        return was_held

    def _renewal_due(self, now: datetime) -> bool:
        return self._renewed_at is None or now - self._renewed_at >= self.lease_ttl / 3

    async def worth_reading(self, now: datetime) -> bool:
        """Whether a batch should be taken now: not while another live process holds the
        lease, nor while this one holds it, its renewal is not due and no row waits."""
        async with self.db.read() as session:
            if not self.holds_lease:
                other = await lease.lease_holder(session, self.lease_name, now=now)
                return other is None or other == self.holder
            return self._renewal_due(now) or await has_pending(session, self.stream)

    async def release(self) -> bool:
        """Gives the lease up (if held) so a successor starts at once; True when it did."""
        if not self.holds_lease:
            return False
        self.holds_lease = False
        try:
            async with self.db.transaction() as session:
                await lease.release(session, self.lease_name, self.holder)
        except Exception as exc:
            self._log.warning("lease_release_failed", error=describe(exc))
            return False
        return True
