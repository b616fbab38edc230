"""The step both event sources take: a batch of events applied in ONE transaction.

The embedded source (`embedded`) and the Kafka source (`kafka`) fetch and acknowledge
their batches differently; they apply them through the same code, so both modes have
the same inbox keys, savepoints and dead letters (DESIGN §2 "effectively-once"):

- an event whose key (`source`, `id`) is already in the inbox of the `engine` consumer
  is a redelivery and is skipped; so is a poison event that already has a dead letter
  not yet replayed (a Kafka redelivery after a crash must not record it twice);
- otherwise the event is applied set-wise with the batch's other new events
  (`apply.batch`: their accounts read once, the engine run over them in memory, every
  change written with a few statements per table), and its key is written to the inbox
  with the batch's other keys in one statement before the commit;
- a poison event (it cannot be parsed, fails validation or makes the engine raise)
  changes nothing and becomes a `DeadLetter` row with the error; the batch moves on.
  Its key is NOT written to the inbox: it was never applied, so a replay (the same
  event handed back) is applied once the cause is fixed;
- when the set-wise write itself fails (a constraint it breaks, rows it does not keep),
  its savepoint is rolled back and the batch is applied event by event
  (`apply_batch_per_event`: `handle.apply_event` in a SAVEPOINT per event), which
  isolates the event that fails.

A transient error (see `shared.runtime.transient`) propagates and aborts the batch. The
metrics (`renewals_events_processed_total`, `renewals_dead_letters_total`) are counted
by `settle` once the batch committed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NamedTuple

import structlog
from sqlalchemy import Select, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.renewal_worker.apply import batch as setwise
from services.renewal_worker.apply import forecasts, handle
from services.renewal_worker.apply.decode import contract_log_ids
from services.renewal_worker.apply.load import among, in_chunks
from shared.clock import utcnow
from shared.events.types import ENGINE_CONSUMER, EventType
from shared.metrics import DEAD_LETTERS, EVENTS_PROCESSED
from shared.models import DeadLetter, InboxKey
from shared.runtime.steps import describe
from shared.runtime.transient import is_transient

_log = structlog.get_logger("renewals.worker")


class Outcome(StrEnum):
    """What became of one event (the `outcome` label of `renewals_events_processed_total`)."""

    APPLIED = "applied"
    DUPLICATE = "duplicate"
    DEAD_LETTERED = "dead_lettered"


@dataclass(frozen=True, slots=True)
class Incoming:
    """An event as a source received it: its inbox key (`source`, `event_id`), its type
    and the structured-mode CloudEvent. `event` may be something else than a CloudEvent
    for a Kafka record that could not be parsed; such an event carries the reason in
    `poison` and is only dead-lettered."""

    stream: str
    source: str
    event_id: str
    type: str
    event: dict[str, Any]
    poison: str | None = None

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


class Processed(NamedTuple):
    """What became of one event of a batch; `error` is a poison event's (dead-lettered
    now, or earlier and redelivered), so a source can pass it on (the Kafka DLQ)."""

    type: str
    outcome: Outcome
    error: str | None


@dataclass(frozen=True, slots=True)
class BatchResult:
    """What one batch did; `rows` counts the events it consumed (outbox rows marked
    processed, or Kafka records)."""

    rows: int = 0
    applied: int = 0
    duplicates: int = 0
    dead_lettered: int = 0


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
    inbox is asked by its primary key's columns in order (`consumer`, `source`,
    `event_id`): the consumer, the batch's few sources and its event ids, so the index
    answers by lookups (by `event_id` alone it would be scanned, and it holds
    `RENEWALS_EVENT_RETENTION_DAYS` of events; a list of whole keys cost Postgres more to
    plan than to run); pairs of a source and an id that belong to no key of the batch
    are left out."""
    wanted = sorted(set(keys))
    seen = Seen()
    for chunk in in_chunks(wanted):
        asked = set(chunk)
        event_ids = sorted({event_id for _, event_id in chunk})
        applied = await session.execute(
            select(InboxKey.source, InboxKey.event_id).where(
                InboxKey.consumer == ENGINE_CONSUMER,
                among(session, InboxKey.source, sorted({source for source, _ in chunk})),
                among(session, InboxKey.event_id, event_ids),
            )
        )
        seen.applied.update(
            (source, event_id) for source, event_id in applied if (source, event_id) in asked
        )
        dead = await session.execute(pending_dead_letters(event_ids))
        seen.dead_lettered.update(
            ((source, event_id), error)
            for source, event_id, error in dead
            if (source, event_id) in asked
        )
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
    """One event, inside its batch's transaction:

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


async def apply_batch(
    session: AsyncSession, batch: Sequence[Incoming], *, currency: str
) -> list[Processed]:
    """Applies a batch set-wise in the caller's transaction (`batch.apply_events`: the
    accounts read once, the engine run in memory, every change written with a few
    statements per table), with its dead letters and inbox keys, in one savepoint. If
    that fails for any other reason than a transient error (a constraint the bulk write
    broke, rows it does not keep), the savepoint is rolled back and the batch is applied
    event by event (`apply_batch_per_event`), so one poison event is dead-lettered and
    the rest applied. Call `settle` once it committed."""
    seen = await load_seen(session, [incoming.key for incoming in batch])
    fresh: dict[int, Incoming] = {}
    keys: set[tuple[str, str]] = set()
    for position, incoming in enumerate(batch):
        if incoming.poison is None and incoming.key not in seen and incoming.key not in keys:
            fresh[position] = incoming
        keys.add(incoming.key)
    try:
        async with session.begin_nested():
            failures = await setwise.apply_events(
                session, [incoming.event for incoming in fresh.values()], currency=currency
            )
            processed = await _outcomes(
                session, batch, seen, dict(zip(fresh, failures, strict=True))
            )
            await record_applied(session, seen)
    except Exception as exc:
        if is_transient(exc):
            raise
        _log.warning("batch_applied_event_by_event", events=len(batch), error=describe(exc))
        return await apply_batch_per_event(session, batch, currency=currency)
    return processed


async def _outcomes(
    session: AsyncSession,
    batch: Sequence[Incoming],
    seen: Seen,
    failures: dict[int, Exception | None],
) -> list[Processed]:
    """What became of each event of a set-wise batch, in order, as `process_event`
    tells it: applied ones logged and kept for the inbox, poison ones dead-lettered,
    redeliveries skipped."""
    processed: list[Processed] = []
    for position, incoming in enumerate(batch):
        key = incoming.key
        if position in failures:
            failure = failures[position]
            if failure is None:
                seen.applied.add(key)
                seen.unrecorded.append(key)
                _log.info(
                    "event_applied",
                    event_id=incoming.event_id,
                    type=incoming.type,
                    outcome=str(Outcome.APPLIED),
                    **contract_log_ids(incoming.event),
                )
                processed.append(Processed(incoming.type, Outcome.APPLIED, None))
                continue
            error = describe(failure)
            await add_dead_letter(session, incoming, error, seen, exc=failure)
            processed.append(Processed(incoming.type, Outcome.DEAD_LETTERED, error))
        elif incoming.poison is not None and key not in seen:
            await add_dead_letter(session, incoming, incoming.poison, seen)
            processed.append(Processed(incoming.type, Outcome.DEAD_LETTERED, incoming.poison))
        else:
            if incoming.poison is None:
                _log.info(
                    "event_skipped",
                    event_id=incoming.event_id,
                    type=incoming.type,
                    outcome=str(Outcome.DUPLICATE),
                    **contract_log_ids(incoming.event),
                )
            redelivered = None if key in seen.applied else seen.dead_lettered.get(key)
            processed.append(Processed(incoming.type, Outcome.DUPLICATE, redelivered))
    return processed


async def apply_batch_per_event(
    session: AsyncSession, batch: Sequence[Incoming], *, currency: str
) -> list[Processed]:
    """Applies a batch event by event in the caller's transaction: what the inbox and the
    dead letters know of it (`load_seen`), its accounts at once (`preload`), each event
    in its savepoint (`process_event`; one that is poison already is only
    dead-lettered), then the inbox keys of the applied ones (`record_applied`). The
    path `apply_batch` falls back to when its bulk write fails. Call `settle` once it
    committed."""
    seen = await load_seen(session, [incoming.key for incoming in batch])
    await preload(session, [incoming for incoming in batch if incoming.poison is None], seen)
    processed: list[Processed] = []
    for incoming in batch:
        key = incoming.key
        if incoming.poison is None:
            outcome, error = await process_event(session, incoming, seen, currency=currency)
        elif key in seen:
            outcome, error = Outcome.DUPLICATE, None
        else:
            await add_dead_letter(session, incoming, incoming.poison, seen)
            outcome, error = Outcome.DEAD_LETTERED, incoming.poison
        if outcome is Outcome.DUPLICATE and key not in seen.applied:
            error = seen.dead_lettered.get(key)  # a poison event redelivered
        processed.append(Processed(incoming.type, outcome, error))
    await forecasts.refresh_after_bands(session, forecasts.take_noted(session), currency=currency)
    await record_applied(session, seen)
    return processed


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


def settle(processed: Sequence[Processed]) -> BatchResult:
    """Counts a committed batch in the metrics; what it did."""
    count_outcomes((item.type, item.outcome) for item in processed)
    tally = [item.outcome for item in processed]
    return BatchResult(
        rows=len(processed),
        applied=tally.count(Outcome.APPLIED),
        duplicates=tally.count(Outcome.DUPLICATE),
        dead_lettered=tally.count(Outcome.DEAD_LETTERED),
    )
