"""A contract's checkpoint plan and its history: `GET /v1/contracts/{id}/checkpoints` and
`GET /v1/contracts/{id}/timeline` (DESIGN §5).

Both read rows written elsewhere: the worker plans checkpoints and creates tasks, people
close tasks, and `shared.events.outbox.emit` writes every lifecycle event to the event
log, which outlives the outbox's pruning. The routes are in
services/api/contracts/history_router.py.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Annotated, Any

from pydantic import Field, StringConstraints
from sqlalchemy import ColumnElement, Row, and_, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from shared.domain.contracts.service import get_contract
from shared.domain.errors import InvalidInput
from shared.domain.schemas import OutputModel
from shared.enums import CheckpointStatus, TaskStatus
from shared.models import Checkpoint, EventLogEntry, Task
from shared.rules.types import MARKER_KINDS, CheckpointKind

# --- schemas -----------------------------------------------------------------------


class CheckpointRead(OutputModel):
    kind: str
    term: int
    ordinal: int = Field(description="0, or the k of a repeated checkpoint (S + k·6 months)")
    due_date: date
    opens_on: date = Field(description="When its task is created")
    status: CheckpointStatus


class CheckpointPage(OutputModel):
    items: list[CheckpointRead]
    next_cursor: str | None = Field(default=None, description="Always null: one page")


class TimelineKind(StrEnum):
    EVENT = "event"
    TASK_CREATED = "task_created"
    TASK_CLOSED = "task_closed"


class TimelineItem(OutputModel):
    at: datetime = Field(description="The event's time, or when the task was created or closed")
    kind: TimelineKind
    type: str = Field(description="The event type, or the task kind")
    summary: str = Field(description="A short sentence for people")
    event_id: str | None = Field(description="Events only: the CloudEvent id")
    task_id: uuid.UUID | None = Field(description="Task items only")
    data: dict[str, Any] | None = Field(description="Events only: the event's data")


class TimelinePage(OutputModel):
    items: list[TimelineItem]
    next_cursor: str | None


TimelineLimit = Annotated[int, Field(ge=1, le=1000)]

MAX_TERM = 2**31 - 1
"""Terms are INTEGER columns: a larger filter would overflow the driver, not match nothing."""


# --- checkpoints -------------------------------------------------------------------


async def list_checkpoints(
    session: AsyncSession,
    contract_id: uuid.UUID,
    *,
    term: int | None = None,
    status: CheckpointStatus | None = None,
) -> Sequence[Checkpoint]:
    """The plan as work: renewal markers (`MARKER_KINDS`) open no task, so they are left
    out; the timeline shows the days they brought."""
    await get_contract(session, contract_id)
    query = select(Checkpoint).where(
        Checkpoint.contract_id == contract_id, Checkpoint.kind.not_in(MARKER_KINDS)
    )
    if term is not None:
        query = query.where(Checkpoint.term == term)
    if status is not None:
        query = query.where(Checkpoint.status == status)
    query = query.order_by(
        Checkpoint.term, Checkpoint.due_date, Checkpoint.kind, Checkpoint.ordinal
    )
    return (await session.scalars(query)).all()


# --- timeline ----------------------------------------------------------------------

_RANKS = {TimelineKind.EVENT: 0, TimelineKind.TASK_CREATED: 1, TimelineKind.TASK_CLOSED: 2}
"""Order among items with the same time: events first, then task creations, then closes."""


_DAY = (
    r"([1-9][0-9]{0,5}|[12][0-9]{6}|3[0-5][0-9]{5}|36[0-4][0-9]{4}|365[01][0-9]{3}"
    r"|36520[0-5][0-9])"
)
"""A proleptic Gregorian day number, 1 (0001-01-01) to 3652059 (9999-12-31)."""
_MICROSECOND = r"(0|[1-9][0-9]{0,9}|[1-7][0-9]{10}|8[0-5][0-9]{9}|86[0-3][0-9]{8})"
"""A microsecond of the day, 0 to 86399999999."""
_KEY = r"(0\.(0|[1-9][0-9]{0,17})|[12]\.[0-9a-f]{32})"
"""The rank, then an event log id (below 10**18) for events or a task id in hex."""
TIMELINE_CURSOR_TEXT = rf"^{_DAY}\.{_MICROSECOND}\.{_KEY}$"
"""A timeline position as text: the UTC day and microsecond of its time, then the rank
of its kind and its row's key (an event log id for rank 0, a task id in hex otherwise).
Every part is a number in a range a pattern can state, so the document says exactly
which cursors the API reads."""

TimelineCursor = Annotated[
    str,
    StringConstraints(min_length=7, max_length=54, pattern=TIMELINE_CURSOR_TEXT),
    Field(description="The `next_cursor` of the previous page"),
]


@dataclass(frozen=True, order=True, slots=True)
class _Position:
    """Where an item sits in the timeline: (time, rank of its kind, its row's key).

    The key is the event log id for events and the task id for tasks; keys are only
    compared within one rank, so they never mix types."""

    at: datetime
    rank: int
    key: int | uuid.UUID

    def encode(self) -> str:
        at = self.at.astimezone(UTC)
        midnight = datetime.combine(at.date(), time(), UTC)
        microsecond = (at - midnight) // timedelta(microseconds=1)
        key = self.key.hex if isinstance(self.key, uuid.UUID) else str(self.key)
        return f"{at.toordinal()}.{microsecond}.{self.rank}.{key}"

    @classmethod
    def decode(cls, cursor: str) -> _Position:
        if not re.fullmatch(TIMELINE_CURSOR_TEXT, cursor):
            raise InvalidInput("not a cursor returned by this API", field="cursor")
        day, microsecond, rank, key_text = cursor.split(".")
        at = datetime.combine(date.fromordinal(int(day)), time(), UTC) + timedelta(
            microseconds=int(microsecond)
        )
        key: int | uuid.UUID = int(key_text) if rank == "0" else uuid.UUID(key_text)
        return cls(at=at, rank=int(rank), key=key)


def _in_window(
    at: Any,
    key: Any,
    kind: TimelineKind,
    *,
    since: datetime | None,
    until: datetime | None,
    after: _Position | None,
) -> ColumnElement[bool]:
    """`since` ≤ at < `until`, and strictly after the cursor's position."""
    conditions: list[ColumnElement[bool]] = [true()]
    if since is not None:
        conditions.append(at >= since)
    if until is not None:
        conditions.append(at < until)
    if after is not None:
        rank = _RANKS[kind]
        if rank < after.rank:
            conditions.append(at > after.at)
        elif rank > after.rank:
            conditions.append(at >= after.at)
        else:
            conditions.append(or_(at > after.at, and_(at == after.at, key > after.key)))
    return and_(*conditions)


_TASK_COLUMNS = (
    Task.id,
    Task.kind,
    Task.title,
    Task.due_date,
    Task.status,
    Task.status_reason,
    Task.created_at,
    Task.closed_at,
)
_TaskRow = Row[uuid.UUID, str, str, date, str, str | None, datetime, datetime | None]
"""A row of `_TASK_COLUMNS`."""


async def timeline(
    session: AsyncSession,
    contract_id: uuid.UUID,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 200,
    cursor: str | None = None,
) -> tuple[list[TimelineItem], str | None]:
    """The contract's events, its account's account-level events (no contract id:
    account and stakeholder changes) and its tasks' openings and closings, oldest first.

    Each source is read in timeline order up to `limit + 1` rows past the cursor, then
    the sources are merged; the extra row tells whether there is a next page."""
    if since is not None and until is not None and until < since:
        raise InvalidInput("must not be before since", field="until")
    after = _Position.decode(cursor) if cursor is not None else None
    contract = await get_contract(session, contract_id)
    window: dict[str, Any] = {"since": since, "until": until, "after": after}

    entries: list[tuple[_Position, TimelineItem]] = []
    events = (
        select(EventLogEntry)
        .where(
            or_(
                EventLogEntry.contract_id == contract.id,
                and_(
                    EventLogEntry.account_id == contract.account_id,
                    EventLogEntry.contract_id.is_(None),
                ),
            ),
            _in_window(EventLogEntry.time, EventLogEntry.id, TimelineKind.EVENT, **window),
        )
        .order_by(EventLogEntry.time, EventLogEntry.id)
        .limit(limit + 1)
    )
    entries.extend(
        (_Position(entry.time, _RANKS[TimelineKind.EVENT], entry.id), _event_item(entry))
        for entry in await session.scalars(events)
    )
    for kind, at in (
        (TimelineKind.TASK_CREATED, Task.created_at),
        (TimelineKind.TASK_CLOSED, Task.closed_at),
    ):
        tasks = (
            select(*_TASK_COLUMNS)
            .where(
                Task.contract_id == contract.id,
                at.is_not(None),
                _in_window(at, Task.id, kind, **window),
            )
            .order_by(at, Task.id)
            .limit(limit + 1)
        )
        for row in await session.execute(tasks):
            item = _task_item(row, kind)
            entries.append((_Position(item.at, _RANKS[kind], row.id), item))

    entries.sort(key=lambda entry: entry[0])
    if len(entries) <= limit:
        return [item for _, item in entries], None
    return [item for _, item in entries[:limit]], entries[limit - 1][0].encode()


def _event_item(entry: EventLogEntry) -> TimelineItem:
    return TimelineItem(
        at=entry.time,
        kind=TimelineKind.EVENT,
        type=entry.type,
        summary=event_summary(entry.type, entry.data),
        event_id=entry.event_id,
        task_id=None,
        data=entry.data,
    )


def _task_item(row: _TaskRow, kind: TimelineKind) -> TimelineItem:
    opened = kind == TimelineKind.TASK_CREATED
    return TimelineItem(
        at=row.created_at if opened else row.closed_at,
        kind=kind,
        type=row.kind,
        summary=(
            f"Task opened: {row.title} (due {row.due_date.isoformat()})"
            if opened
            else task_closed_summary(row.title, row.status, row.status_reason)
        ),
        event_id=None,
        task_id=row.id,
        data=None,
    )


# --- summaries ---------------------------------------------------------------------


def task_closed_summary(title: str, status: str, reason: str | None) -> str:
    if status == TaskStatus.DONE:
        return f"Task done: {title}"
    if status == TaskStatus.DISMISSED:
        return f"Task dismissed: {title}"
    if status == TaskStatus.AUTO_CLOSED:
        return f"Task closed automatically: {title}" + (f" ({reason})" if reason else "")
    return f"Task closed: {title}"


def _field(data: dict[str, Any], *path: str) -> str | None:
    """`data[a][b]…` as text, or None when any step is missing: summaries never fail,
    whatever data version an old event carries."""
    value: Any = data
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return None if value is None or value == "" else str(value)


def _words(value: str | None) -> str | None:
    return value.replace("_", " ") if value is not None else None


def _sentence(head: str, detail: str | None) -> str:
    return f"{head}{detail}" if detail else head.rstrip(": ")


def _contract_created(data: dict[str, Any]) -> str:
    start, end, arr = _field(data, "start_date"), _field(data, "end_date"), _field(data, "arr")
    detail = f"{start} to {end}" if start and end else None
    if arr:
        detail = f"{detail}, ARR {arr}" if detail else f"ARR {arr}"
    return _sentence("Contract created: ", detail)


def _contract_updated(data: dict[str, Any]) -> str:
    end, arr = _field(data, "end_date"), _field(data, "arr")
    parts = [f"renews {end}" if end else None, f"ARR {arr}" if arr else None]
    detail = ", ".join(part for part in parts if part)
    return f"Contract updated ({detail})" if detail else "Contract updated"


def _contract_renewed(data: dict[str, Any]) -> str:
    end = _field(data, "end_date")
    return f"Contract renewed until {end}" if end else "Contract renewed"


def _contract_churned(data: dict[str, Any]) -> str:
    on, reason = _field(data, "churned_on"), _words(_field(data, "churn_reason"))
    head = f"Contract churned on {on}" if on else "Contract churned"
    return f"{head} ({reason})" if reason else head


def _cancellation_noticed(data: dict[str, Any]) -> str:
    on = _field(data, "cancellation_notice", "received_on")
    reason = _words(_field(data, "cancellation_notice", "reason"))
    head = f"Cancellation notice received on {on}" if on else "Cancellation notice received"
    return f"{head} ({reason})" if reason else head


def _trial_started(data: dict[str, Any]) -> str:
    name, start, end = (_field(data, key) for key in ("name", "started_on", "ends_on"))
    head = _sentence("Trial started: ", name)
    return f"{head} ({start} to {end})" if start and end else head


def _stakeholder(head: str) -> Callable[[dict[str, Any]], str]:
    return lambda data: _sentence(head, _words(_field(data, "role")))


def _stakeholder_updated(data: dict[str, Any]) -> str:
    role, before = _field(data, "role"), _field(data, "previous", "role")
    if role and before and role != before:
        return f"Stakeholder changed role: {_words(before)} to {_words(role)}"
    status, was = _field(data, "status"), _field(data, "previous", "status")
    if status and was and status != was:
        return f"Stakeholder is now {_words(status)}: {_words(role) or 'unknown role'}"
    return _sentence("Stakeholder updated: ", _words(role))


def _usage_reported(data: dict[str, Any]) -> str:
    users, seats, as_of = (_field(data, key) for key in ("active_users", "seats", "as_of"))
    head = f"Usage reported: {users} of {seats} seats active" if users and seats else None
    if head is None:
        return "Usage reported"
    return f"{head} (as of {as_of})" if as_of else head


def _goal(head: str) -> Callable[[dict[str, Any]], str]:
    def render(data: dict[str, Any]) -> str:
        name, status = _field(data, "name"), _words(_field(data, "status"))
        detail = f"{name} ({status})" if name and status else name or status
        return _sentence(head, detail)

    return render


_MARKER_SUMMARIES: dict[str, str] = {
    CheckpointKind.RENEWAL_WINDOW: "Renewal 90 days away: a red contract escalates now",
    CheckpointKind.RENEWAL_NEAR: "Renewal 60 days away: open tasks move up a priority step",
}
"""A renewal marker opened no task; it brought a day that matters to the engine."""


def _checkpoint_due(data: dict[str, Any]) -> str:
    marker = _MARKER_SUMMARIES.get(_field(data, "kind") or "")
    if marker is not None:
        return marker
    kind, due = _words(_field(data, "kind")), _field(data, "due_date")
    if kind is None:
        return "Checkpoint opened"
    head = f"Checkpoint opened: {kind[:1].upper()}{kind[1:]}"
    return f"{head} (due {due})" if due else head


def _task_overdue(data: dict[str, Any]) -> str:
    due = _field(data, "due_date")
    head = "Task more than 14 days overdue"
    return f"{head} (due {due})" if due else head


def _fixed(text: str) -> Callable[[dict[str, Any]], str]:
    return lambda _data: text


_EVENT_SUMMARIES: dict[str, Callable[[dict[str, Any]], str]] = {
    "partner.created": _fixed("Partner created"),
    "partner.updated": _fixed("Partner updated"),
    "account.created": _fixed("Account created"),
    "account.updated": _fixed("Account updated"),
    "contract.created": _contract_created,
    "contract.updated": _contract_updated,
    "contract.renewed": _contract_renewed,
    "contract.churned": _contract_churned,
    "contract.cancellation_noticed": _cancellation_noticed,
    "contract.cancellation_withdrawn": _fixed("Cancellation notice withdrawn"),
    "contract.trial_started": _trial_started,
    "stakeholder.added": _stakeholder("Stakeholder added: "),
    "stakeholder.updated": _stakeholder_updated,
    "stakeholder.departed": _stakeholder("Stakeholder departed: "),
    "stakeholder.erased": _fixed("Stakeholder's personal data erased"),
    "usage.reported": _usage_reported,
    "goal.created": _goal("Goal added: "),
    "goal.updated": _goal("Goal updated: "),
    "checkpoint.due": _checkpoint_due,
    "task.overdue": _task_overdue,
}


def event_summary(type: str, data: dict[str, Any]) -> str:
    """A short sentence for a logged event; names the event type when it has none."""
    render = _EVENT_SUMMARIES.get(type)
    return render(data) if render is not None else f"Event {type}"
