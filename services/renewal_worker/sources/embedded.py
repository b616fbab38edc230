"""The embedded event source: the outbox table read as the lifecycle event log (DESIGN §2).

One process at a time consumes, under the `lifecycle` lease. It reads the lifecycle rows
that are not processed yet, in id order, through the leased outbox reader
(`shared.runtime.outbox_reader`: never a bare id cursor), and applies a batch in ONE
transaction:

- an event whose key (`source`, `id`) is already in the inbox of the `engine` consumer
  is a redelivery and is skipped;
- otherwise `handle.apply_event` runs inside a SAVEPOINT, and the key is written to the
  inbox with the batch's other keys in one statement before the commit;
- a poison event (it cannot be parsed, fails validation or makes the engine raise) has
  its savepoint rolled back and becomes a `DeadLetter` row with the error; the batch
  moves on. Its key is NOT written to the inbox: it was never applied, so a replay
  (the same event put back into the outbox) is applied once the cause is fixed;
- every row of the batch is marked processed.

A transient error (see `errors.is_transient`) aborts the whole batch, which is retried
with capped exponential backoff, forever, and never dead-lettered.

The per-event step (`Incoming`, `load_seen`, `process_event`) is shared with the Kafka
worker (`kafka_worker`), so both modes apply an event through the same code: the same
inbox keys, savepoints and dead letters. A poison event that already has a dead letter
not yet replayed counts as a duplicate (a Kafka redelivery after a crash must not
record it twice). The metrics (`renewals_events_processed_total`,
`renewals_dead_letters_total`) are counted by `count_outcomes` once the batch committed.

Notification rows (`stream == "notifications"`) are not consumed here: the webhook
dispatcher (`services.outbound_webhooks.dispatcher`) has its own consumer over the same table and
marks them processed. Pruning deletes processed rows of every stream.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import structlog
from sqlalchemy import Select, delete, func, insert, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from services.renewal_worker.apply import handle
from services.renewal_worker.apply.decode import contract_log_ids
from services.renewal_worker.apply.load import in_chunks
from shared.clock import utcnow
from shared.config import Settings
from shared.db import Database
from shared.events.outbox import outbox_commits
from shared.events.types import EventType, Stream
from shared.metrics import DEAD_LETTERS, EVENTS_PROCESSED
from shared.models import DeadLetter, IdempotencyKey, InboxKey, OutboxEvent
from shared.runtime import lease, outbox_reader
from shared.runtime.outbox_reader import OutboxReader, pending
from shared.runtime.steps import describe, run_steps
from shared.runtime.transient import is_transient

ENGINE_CONSUMER = "engine"
"""The inbox `consumer` of lifecycle events applied by the engine."""

PRUNE_BATCH_SIZE = 1000
_log = structlog.get_logger("renewals.worker")


@dataclass(frozen=True, slots=True)
class BatchResult:
    """What one batch did; `rows` counts the outbox rows it marked processed."""

    rows: int = 0
    applied: int = 0
    duplicates: int = 0
    dead_lettered: int = 0


class Outcome(StrEnum):
    """What became of one event (the `outcome` label of `renewals_events_processed_total`)."""

    APPLIED = "applied"
    DUPLICATE = "duplicate"
    DEAD_LETTERED = "dead_lettered"


@dataclass(frozen=True, slots=True)
class Incoming:
    """An event as a consumer received it: its inbox key (`source`, `event_id`), its type
    and the structured-mode CloudEvent. `event` may be something else than a CloudEvent
    for a Kafka record that could not be parsed; such an event is only dead-lettered."""

    stream: str
    source: str
    event_id: str
    type: str
    event: dict[str, Any]

    @property
    def key(self) -> tuple[str, str]:
        return (self.source, self.event_id)


@dataclass(slots=True)
class Seen:
    """The keys of a batch's events already applied (the `engine` inbox) or already
    dead-lettered and not replayed (with their error); `process_event` adds to both as
    it goes. `unrecorded` are the keys applied in this batch and not yet in the inbox
    (see `record_applied`)."""

    applied: set[tuple[str, str]] = field(default_factory=set)
    dead_lettered: dict[tuple[str, str], str] = field(default_factory=dict)
    unrecorded: list[tuple[str, str]] = field(default_factory=list)

    def __contains__(self, key: tuple[str, str]) -> bool:
        return key in self.applied or key in self.dead_lettered


def pending_dead_letters(
    event_ids: Sequence[str],
) -> Select[str, str, str]:
    """The dead letters not replayed yet among these event ids, by the partial index on
    `event_id` (`ix_dead_letters_pending_event_id`): dead letters are kept after their
    replay, and the worker asks once per batch."""
    return select(DeadLetter.source, DeadLetter.event_id, DeadLetter.error).where(
        DeadLetter.event_id.in_(event_ids), DeadLetter.replayed_at.is_(None)
    )


async def load_seen(session: AsyncSession, keys: Iterable[tuple[str, str]]) -> Seen:
    """What the inbox and the pending dead letters know of events with these keys. The
    inbox is asked by whole key, which its primary key (`consumer`, `source`,
    `event_id`) answers by lookups: by `event_id` alone it would be scanned, and it holds
    `RENEWALS_EVENT_RETENTION_DAYS` of events."""
    wanted = sorted(set(keys))
    seen = Seen()
    for chunk in in_chunks(wanted):
        applied = await session.execute(
            select(InboxKey.source, InboxKey.event_id).where(
                InboxKey.consumer == ENGINE_CONSUMER,
                tuple_(InboxKey.source, InboxKey.event_id).in_(chunk),
            )
        )
        seen.applied.update((source, event_id) for source, event_id in applied)
        dead = await session.execute(
            pending_dead_letters(sorted({event_id for _, event_id in chunk}))
        )
        seen.dead_lettered.update(((source, event_id), error) for source, event_id, error in dead)
    return seen


async def preload(session: AsyncSession, batch: Iterable[Incoming], seen: Seen) -> None:
    """Reads the accounts of a batch's new events at once (see `handle.preload`); call
    after `load_seen`, before the batch's `process_event` calls."""
    await handle.preload(
        session, [incoming.event for incoming in batch if incoming.key not in seen]
    )


async def _apply(session: AsyncSession, incoming: Incoming, currency: str) -> Exception | None:
    """Applies one event in a savepoint; returns the error of a poison event, or None.
    Transient errors propagate and abort the batch."""
    try:
        async with session.begin_nested():
            await handle.apply_event(session, incoming.event, currency=currency)
    except Exception as exc:
        if is_transient(exc):
            raise
        return exc
    return None


async def add_dead_letter(
    session: AsyncSession,
    incoming: Incoming,
    error: str,
    seen: Seen | None = None,
    *,
    exc: BaseException | None = None,
) -> None:
    """Records a poison event, flushed at once: a failing insert is the batch's error,
    never blamed on the next event's savepoint."""
    _log.warning(
        "event_dead_lettered",
        event_id=incoming.event_id,
        type=incoming.type,
        outcome=str(Outcome.DEAD_LETTERED),
        error=error,
        exc_info=exc,
    )
    session.add(
        DeadLetter(
            stream=incoming.stream,
            event_id=incoming.event_id,
            source=incoming.source,
            type=incoming.type,
            event=incoming.event,
            error=error,
        )
    )
    await session.flush()
    if seen is not None:
        seen.dead_lettered[incoming.key] = error


async def process_event(
    session: AsyncSession, incoming: Incoming, seen: Seen, *, currency: str
) -> tuple[Outcome, str | None]:
    """The step both consumers take for one event, inside their batch's transaction:

    - already applied, or already dead-lettered and not replayed: a duplicate, skipped;
    - else `handle.apply_event` in a SAVEPOINT; its inbox key is written with the
      batch's others by `record_applied`, before the batch commits;
    - a poison event has its savepoint rolled back and becomes a `DeadLetter` row; its key
      is NOT written to the inbox, so a replay is applied once the cause is fixed.

    Returns the outcome and, for a dead letter, the error. Transient errors propagate."""
    log = _log.bind(
        event_id=incoming.event_id,
        type=incoming.type,
        **contract_log_ids(incoming.event),
    )
    if incoming.key in seen:
        log.info("event_skipped", outcome=str(Outcome.DUPLICATE))
        return Outcome.DUPLICATE, None
    failure = await _apply(session, incoming, currency)
    if failure is not None:
        error = describe(failure)
        await add_dead_letter(session, incoming, error, seen, exc=failure)
        return Outcome.DEAD_LETTERED, error
    seen.applied.add(incoming.key)
    seen.unrecorded.append(incoming.key)
    log.info("event_applied", outcome=str(Outcome.APPLIED))
    return Outcome.APPLIED, None


async def record_applied(session: AsyncSession, seen: Seen) -> None:
    """Writes the inbox keys of the events the batch applied, in one statement, in the
    batch's transaction: an event's effects and its key commit or roll back together. A
    concurrent consumer that applied the same event makes this insert fail, and with it
    the batch, which is retried and then sees a duplicate."""
    if not seen.unrecorded:
        return
    now = utcnow()
    await session.execute(
        insert(InboxKey),
        [
            {
                "consumer": ENGINE_CONSUMER,
                "source": source,
                "event_id": event_id,
                "processed_at": now,
            }
            for source, event_id in seen.unrecorded
        ],
    )
    seen.unrecorded.clear()


_KNOWN_TYPES = frozenset(str(type) for type in EventType)


def metric_type(type: str) -> str:
    """The `type` label: known event types only, so garbage cannot explode the series."""
    return type if type in _KNOWN_TYPES else "unknown"


def count_outcomes(outcomes: Iterable[tuple[str, Outcome]]) -> None:
    """Counts (type, outcome) pairs in the metrics; call only after the commit."""
    for type, outcome in outcomes:
        EVENTS_PROCESSED.labels(type=metric_type(type), outcome=str(outcome)).inc()
        if outcome is Outcome.DEAD_LETTERED:
            DEAD_LETTERS.inc()


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
        seen = await load_seen(session, [(row.source, row.event_id) for row in rows])
        batch = [
            Incoming(row.stream, row.source, row.event_id, row.type, row.event) for row in rows
        ]
        await preload(session, batch, seen)
        outcomes: list[tuple[str, Outcome]] = []
        for incoming in batch:
            outcome, _ = await process_event(session, incoming, seen, currency=currency)
            outcomes.append((incoming.type, outcome))
        await record_applied(session, seen)
        await outbox_reader.mark_processed(session, rows, at=utcnow())
    count_outcomes(outcomes)
    tally = [outcome for _, outcome in outcomes]
    return BatchResult(
        rows=len(rows),
        applied=tally.count(Outcome.APPLIED),
        duplicates=tally.count(Outcome.DUPLICATE),
        dead_lettered=tally.count(Outcome.DEAD_LETTERED),
    )


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


class LifecycleConsumer:
    """The embedded lifecycle consumer of one process: lease, batches, backoff, pruning.

    `run` loops until `stop` is set, finishing the batch in progress, then releases the
    lease. `step` runs one batch, for callers that drive it themselves (`renewals tick
    --wait`). While another process holds the lease, the consumer stands by with cheap
    reads and takes over once that lease expires or is released.
    """

    def __init__(self, db: Database, settings: Settings, *, holder: str | None = None) -> None:
        self.db = db
        self.holder = holder or lease.new_holder_id("worker")
        self.batch_size = settings.worker_batch_size
        self.currency = settings.currency
        self.poll_seconds = settings.worker_poll_seconds
        self.lease_ttl = timedelta(seconds=settings.worker_lease_ttl_seconds)
        self.max_backoff = settings.worker_max_backoff_seconds
        self.retention = timedelta(days=settings.event_retention_days)
        self.prune_interval = timedelta(seconds=settings.worker_prune_interval_seconds)
        self._pruned_at: datetime | None = None
        self._log = _log.bind(holder=self.holder)
        self.reader = OutboxReader(
            db,
            stream=Stream.LIFECYCLE,
            lease_name=lease.LIFECYCLE,
            holder=self.holder,
            batch_size=self.batch_size,
            lease_ttl=self.lease_ttl,
            log=self._log,
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
            lease_ttl=self.lease_ttl,
            currency=self.currency,
        )
        if result is None:
            if self.reader.lost():
                self._log.warning("lease_lost")
            return None
        if self.reader.held(utcnow()):
            self._log.info("lease_acquired")
        if result.rows:
            self._log.info(
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
        if not self.holds_lease or (
            self._pruned_at is not None and now - self._pruned_at < self.prune_interval
        ):
            return
        self._pruned_at = now
        outbox_rows, inbox_keys = await prune(self.db, older_than=now - self.retention)
        idempotency_keys = await prune_idempotency_keys(self.db, now=now)
        if outbox_rows or inbox_keys or idempotency_keys:
            self._log.info(
                "pruned",
                outbox_rows=outbox_rows,
                inbox_keys=inbox_keys,
                idempotency_keys=idempotency_keys,
            )

    async def release(self) -> None:
        """Gives the lease up (if held) so a successor starts at once."""
        if await self.reader.release():
            self._log.info("lease_released")

    async def run(self, stop: asyncio.Event) -> None:
        """Polls every `RENEWALS_WORKER_POLL_SECONDS`, and at once after a transaction of
        this process (the API in `renewals dev`) committed events."""
        wake = asyncio.Event()
        try:
            with outbox_commits(wake.set):
                await run_steps(
                    stop,
                    self._turn,
                    log=self._log,
                    failure="batch_failed",
                    idle_seconds=self.poll_seconds,
                    initial_backoff=self.poll_seconds,
                    max_backoff=self.max_backoff,
                    wake=wake,
                )
        finally:
            await self.release()


async def run(db: Database, settings: Settings, stop: asyncio.Event) -> None:
    """The embedded lifecycle consumer until `stop` is set (`renewals worker`, `dev`)."""
    await LifecycleConsumer(db, settings).run(stop)
