"""Writing CloudEvents to the outbox, inside the caller's transaction.

Every state change calls `emit` in the same unit of work as the change itself, so an
event exists exactly when its change committed. Lifecycle events are also written to the
event log, which outlives the outbox's pruning and feeds the contract timeline.

On Postgres the commit that carries outbox rows also issues `NOTIFY renewals_outbox`, so
the relay (which `LISTEN`s) publishes at once instead of at its next poll. `emit` is
synchronous, so it only flags the session; a `before_commit` hook sends the NOTIFY inside
the same transaction (Postgres delivers it only if that transaction commits). A flag left
by a rolled-back savepoint costs one spurious wake-up, nothing more; a rolled-back
transaction sends nothing.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import Table, insert, text
from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from shared.events.types import NOTIFICATION_TYPES, EventType, Stream
from shared.ids import new_id
from shared.models import EventLogEntry, OutboxEvent

OUTBOX_CHANNEL = "renewals_outbox"
"""The Postgres NOTIFY channel that wakes the relay when outbox rows commit."""

_NOTIFY_FLAG = "renewals.notify_outbox"
_WAKE_FLAG = "renewals.wake_local"
_NOTIFIED_FLAG = "renewals.outbox_notified"
_local_listeners: set[Callable[[], None]] = set()
_NOTIFY = text(f"NOTIFY {OUTBOX_CHANNEL}")


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


class Emission(NamedTuple):
    """What differs between the events of one `emit_many` call."""

    subject: str
    partition_key: str
    data: dict[str, Any]


def _rows(
    event: dict[str, Any],
    type: EventType,
    stream: Stream,
    partition_key: str,
    actor: str,
    time: datetime,
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The event's outbox row and, on the lifecycle stream, its event-log row."""
    outbox = {
        "stream": str(stream),
        "event_id": event["id"],
        "source": event["source"],
        "type": event["type"],
        "subject": event["subject"],
        "partition_key": partition_key,
        "event": event,
    }
    if stream != Stream.LIFECYCLE:
        return outbox, None
    return outbox, {
        "event_id": event["id"],
        "type": event["type"],
        "time": time,
        "actor": actor,
        "account_id": _log_account_id(type, partition_key),
        "contract_id": _log_contract_id(type, event["subject"], event["data"]),
        "subject": event["subject"],
        "data": event["data"],
    }


class Prepared(NamedTuple):
    """An event and the rows that store it: its outbox row and, on the lifecycle stream,
    its event-log row. `emit` adds them to the session; `insert_prepared` writes many
    with one INSERT per table."""

    event: dict[str, Any]
    outbox: dict[str, Any]
    log: dict[str, Any] | None


def prepare(
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
    event_id: str | None = None,
) -> Prepared:
    """The event `emit` would write, and its rows, written nowhere yet."""
    event = build_event(
        type=type,
        source=source,
        subject=subject,
        data=data,
        dataschema=dataschema,
        actor=actor,
        time=time,
        event_id=event_id,
    )
    outbox, log = _rows(event, type, stream or stream_for(type), partition_key, actor, time)
    return Prepared(event, outbox, log)


def add_prepared(session: AsyncSession, prepared: Prepared) -> dict[str, Any]:
    """Adds a prepared event's rows to the session (the caller's flush writes them)."""
    session.info[_NOTIFY_FLAG] = True
    session.add(OutboxEvent(**prepared.outbox))
    if prepared.log is not None:
        session.add(EventLogEntry(**prepared.log))
    return prepared.event


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
    """Adds the event to the outbox (and, on the lifecycle stream, to the event log) in
    the caller's session; the caller's commit publishes it."""
    return add_prepared(
        session,
        prepare(
            type=type,
            source=source,
            subject=subject,
            partition_key=partition_key,
            data=data,
            dataschema=dataschema,
            actor=actor,
            time=time,
            stream=stream,
        ),
    )


_OUTBOX_INSERT = insert(cast(Table, OutboxEvent.__table__))
_LOG_INSERT = insert(cast(Table, EventLogEntry.__table__))


async def emit_many(
    session: AsyncSession,
    emissions: Sequence[Emission],
    *,
    type: EventType,
    source: str,
    dataschema: str,
    actor: str,
    time: datetime,
) -> list[dict[str, Any]]:
    """`emit` for many events of one type, written at once with one multi-row INSERT per
    table, in the order given: for a sweep that opens thousands of checkpoints, an ORM
    object per row cost more than the database work. The rows are those `emit` writes."""
    if not emissions:
        return []
    stream = stream_for(type)
    events: list[dict[str, Any]] = []
    outbox_rows: list[dict[str, Any]] = []
    log_rows: list[dict[str, Any]] = []
    for emission in emissions:
        event = build_event(
            type=type,
            source=source,
            subject=emission.subject,
            data=emission.data,
            dataschema=dataschema,
            actor=actor,
            time=time,
        )
        outbox, log = _rows(event, type, stream, emission.partition_key, actor, time)
        events.append(event)
        outbox_rows.append(outbox)
        if log is not None:
            log_rows.append(log)
    await _insert(session, outbox_rows, log_rows)
    return events


async def insert_prepared(session: AsyncSession, prepared: Sequence[Prepared]) -> None:
    """Writes prepared events (of any types) with one multi-row INSERT per table, in the
    order given, so their outbox ids follow it as `emit`'s would."""
    await _insert(
        session,
        [item.outbox for item in prepared],
        [item.log for item in prepared if item.log is not None],
    )


def note_outbox_write(session: AsyncSession, *, notified: bool = False) -> None:
    """For callers that write outbox rows with statements of their own: the session's
    commit then wakes the relay, as it does for `emit`. `notified`: the statement itself
    ran `pg_notify` on `OUTBOX_CHANNEL` in the root transaction (not in a savepoint that
    may roll back), so the commit saves its own NOTIFY's round trip; Postgres delivers
    one notification per commit either way."""
    session.info[_NOTIFY_FLAG] = True
    if notified:
        session.info[_NOTIFIED_FLAG] = True


async def _insert(
    session: AsyncSession, outbox_rows: list[dict[str, Any]], log_rows: list[dict[str, Any]]
) -> None:
    if not outbox_rows:
        return
    session.info[_NOTIFY_FLAG] = True
    await session.execute(_OUTBOX_INSERT, outbox_rows)
    if log_rows:
        await session.execute(_LOG_INSERT, log_rows)


def _log_contract_id(type: EventType, subject: str, data: dict[str, Any]) -> uuid.UUID | None:
    """The subject of `contract.*` events; the `contract_id` of usage, goal and checkpoint
    data; none for account, stakeholder and partner events."""
    return _uuid_or_none(subject if type.startswith("contract.") else data.get("contract_id"))


def _log_account_id(type: EventType, partition_key: str) -> uuid.UUID | None:
    """Events are keyed by account, except partner events, keyed by the partner."""
    return None if type.startswith("partner.") else _uuid_or_none(partition_key)


def _uuid_or_none(value: object) -> uuid.UUID | None:
    """Every emitter passes real ids; anything else is left unlinked rather than fatal."""
    if not isinstance(value, str):
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


@sa_event.listens_for(Session, "before_commit")
def _notify_relay(session: Session) -> None:
    """Sends `NOTIFY renewals_outbox` in the committing transaction of a session that
    emitted events, on Postgres only (SQLite has no NOTIFY; its relay polls). The hook
    also fires when a savepoint is released; the flag is then kept for the root commit,
    so a batch of savepoints notifies once."""
    if session.in_nested_transaction():
        return
    notified = session.info.pop(_NOTIFIED_FLAG, False)
    if not session.info.pop(_NOTIFY_FLAG, False):
        return
    session.info[_WAKE_FLAG] = True
    if not notified and session.get_bind().dialect.name == "postgresql":
        session.execute(_NOTIFY)


@sa_event.listens_for(Session, "after_transaction_end")
def _forget_notify(session: Session, transaction: SessionTransaction) -> None:
    """A root transaction that ended without committing drops the flag (savepoints end
    inside it and keep it: the outer transaction may still commit earlier events); one
    that committed outbox rows tells the listeners of `outbox_commits`."""
    if transaction.parent is None:
        session.info.pop(_NOTIFY_FLAG, None)
        session.info.pop(_NOTIFIED_FLAG, None)
        if session.info.pop(_WAKE_FLAG, False):
            for listener in list(_local_listeners):
                listener()


@contextlib.contextmanager
def outbox_commits(listener: Callable[[], None]) -> Iterator[None]:
    """Calls `listener` after each transaction of this process that wrote outbox rows
    ends (committed, or in rare cases failing at the commit itself). An embedded consumer
    in the same process as the API (`renewals dev`) reads new events at once instead of
    at its next poll; a latency optimisation only, like NOTIFY: consumers still poll,
    since writers in other processes are not heard."""
    _local_listeners.add(listener)
    try:
        yield
    finally:
        _local_listeners.discard(listener)
