"""Time as events (DESIGN §2 "Time is an event").

A sweep for a date does four things, each in batches of short transactions so its
cost follows the rows that are due:

1. checkpoints still `planned` whose `opens_on` has come are marked `opened` and a
   `checkpoint.due` lifecycle event is emitted for each, in the same transaction (the
   renewal markers among them, which open no task, are counted apart);
2. open tasks that just passed 14 days overdue are noted (`overdue_noted_on`) and a
   `task.overdue` lifecycle event is emitted for each, so the engine recomputes the
   contract's health on that day rather than at its next event;
3. auto-renewing contracts whose renewal date R has come (not churned, no pending
   cancellation notice unless it came late) are renewed for the same length and ARR, as
   many times as it takes for R to pass the date — through the contract service's
   `renew_contract`, so the term rows and the `contract.renewed` event are exactly those
   of `POST /renew`;
4. contracts with a pending cancellation notice given in time whose R has come churn at
   R, with the notice's reason, through `churn_contract` (`contract.churned`). A late
   notice does not: the contract renews by its terms (3. when it auto-renews; otherwise
   its renewal_due and renewal_overdue tasks stand) unless someone records the churn.

Steps 3 and 4 live in `term_ends`.

On Postgres rows are claimed with `FOR UPDATE SKIP LOCKED`, so several sweepers can run
at once; SQLite serialises writers. `renewals tick --as-of DATE` runs one sweep; the
worker runs `run_scheduler` every `RENEWALS_SCHEDULER_INTERVAL_SECONDS`.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from time import perf_counter

import structlog
from sqlalchemy import Row, Select, Update, func, literal_column, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from services.renewal_worker.engine.health_score import OVERDUE_AFTER_DAYS
from services.renewal_worker.term_ends import contracts_at_renewal
from shared.clock import today, utcnow
from shared.config import Settings, get_settings
from shared.db import Database
from shared.domain.context import Context
from shared.enums import CheckpointStatus, TaskStatus
from shared.events.outbox import Emission, emit_many
from shared.events.types import SOURCE_SCHEDULER, EventType, dataschema
from shared.metrics import SCHEDULER_SWEEP
from shared.models import Checkpoint, Contract, Task
from shared.rules.types import MARKER_KINDS
from shared.runtime.transient import is_transient

ACTOR = "scheduler"
_log = structlog.get_logger("renewals.scheduler")


@dataclass
class SweepResult:
    """What one sweep did; `event_ids` are the ids of every lifecycle event it emitted.
    `checkpoints_opened` counts the checkpoints that open a task, `markers_reached` the
    renewal markers opened. The seconds split its duration between opening checkpoints,
    noting overdue tasks and the contracts at R, whose costs grow with different things
    (due rows, newly overdue tasks, renewals)."""

    checkpoints_opened: int = 0
    renewals: int = 0
    churns: int = 0
    event_ids: list[str] = field(default_factory=list)
    checkpoint_seconds: float = 0.0
    renewal_seconds: float = 0.0
    markers_reached: int = 0
    overdue_tasks_noted: int = 0
    overdue_seconds: float = 0.0


# --- checkpoints -------------------------------------------------------------------


DueCheckpoint = Row[uuid.UUID, uuid.UUID, int, str, int, date, date, uuid.UUID]
"""A due checkpoint's id, contract_id, term, kind, ordinal, due_date, opens_on, and its
contract's account_id (the events' partition key)."""


def _checkpoint_data(row: DueCheckpoint) -> dict[str, object]:
    """The checkpoint as its `checkpoint.due` event carries it: already opened."""
    return {
        "id": str(row.id),
        "contract_id": str(row.contract_id),
        "account_id": str(row.account_id),
        "term": row.term,
        "kind": row.kind,
        "ordinal": row.ordinal,
        "due_date": row.due_date.isoformat(),
        "opens_on": row.opens_on.isoformat(),
        "status": CheckpointStatus.OPENED,
    }


def due_checkpoints(
    as_of: date,
    limit: int,
    *,
    skip_locked: bool,
    after: tuple[date, uuid.UUID] | None = None,
) -> Select[uuid.UUID, uuid.UUID, int, str, int, date, date, uuid.UUID]:
    """The next batch of planned checkpoints whose opening date has come, in the order of
    the (status, opens_on, id) index, so the scan stops after `limit` rows. `after` is the
    (opens_on, id) of the previous batch's last row: the scan starts there instead of
    walking again over the index entries of the rows earlier batches opened (an UPDATE
    of an indexed column leaves the old entry behind until vacuum). Plain columns, not
    entities: the sweep only reads them and marks them opened in one UPDATE, and
    loading a day's rows into the session cost more than the database work. Its own
    function so the scale benchmark can explain the very query a sweep runs;
    `skip_locked` (Postgres) leaves rows another sweeper claimed to that sweeper, which
    opens them itself."""
    query = (
        select(
            Checkpoint.id,
            Checkpoint.contract_id,
            Checkpoint.term,
            Checkpoint.kind,
            Checkpoint.ordinal,
            Checkpoint.due_date,
            Checkpoint.opens_on,
            Contract.account_id,
        )
        .join(Contract, Contract.id == Checkpoint.contract_id)
        .where(
            Checkpoint.status == CheckpointStatus.PLANNED,
            Checkpoint.opens_on <= as_of,
        )
        .order_by(Checkpoint.opens_on, Checkpoint.id)
        .limit(limit)
    )
    if after is not None:
        query = query.where(tuple_(Checkpoint.opens_on, Checkpoint.id) > tuple_(*after))
    return query.with_for_update(skip_locked=True, of=Checkpoint) if skip_locked else query


async def _mark_and_emit(
    session: AsyncSession,
    mark: Update,
    id_column: InstrumentedAttribute[uuid.UUID],
    ids: list[uuid.UUID],
    emissions: list[Emission],
    type: EventType,
    entity: str,
    time: datetime,
) -> list[str]:
    """Marks the claimed rows (one UPDATE by id) and emits one event for each, in the
    caller's transaction, so a row is marked exactly when its event exists; returns the
    events' ids."""
    if ids:
        await session.execute(
            mark.where(id_column.in_(ids)).execution_options(synchronize_session=False)
        )
    events = await emit_many(
        session,
        emissions,
        type=type,
        source=SOURCE_SCHEDULER,
        dataschema=dataschema(entity),
        actor=ACTOR,
        time=time,
    )
    return [event["id"] for event in events]


async def _open_checkpoints(
    db: Database, as_of: date, time: datetime, batch_size: int, result: SweepResult
) -> None:
    after: tuple[date, uuid.UUID] | None = None
    while True:
        async with db.transaction() as session:
            query = due_checkpoints(as_of, batch_size, skip_locked=not db.is_sqlite, after=after)
            rows = (await session.execute(query)).all()
            result.event_ids += await _mark_and_emit(
                session,
                update(Checkpoint).values(status=CheckpointStatus.OPENED, updated_at=utcnow()),
                Checkpoint.id,
                [row.id for row in rows],
                [Emission(str(row.id), str(row.account_id), _checkpoint_data(row)) for row in rows],
                EventType.CHECKPOINT_DUE,
                "checkpoint",
                time,
            )
            markers = sum(1 for row in rows if row.kind in MARKER_KINDS)
            result.markers_reached += markers
            result.checkpoints_opened += len(rows) - markers
        if len(rows) < batch_size:
            return
        after = (rows[-1].opens_on, rows[-1].id)


# --- overdue tasks -----------------------------------------------------------------


OverdueTask = Row[uuid.UUID, uuid.UUID, uuid.UUID, date]
"""An overdue task's id, contract_id, account_id and due_date."""


def newly_overdue_tasks(
    as_of: date, limit: int, *, sqlite: bool
) -> Select[uuid.UUID, uuid.UUID, uuid.UUID, date]:
    """The next batch of open tasks more than 14 days overdue on `as_of` that no sweep has
    noted yet, read through the partial index on their due dates
    (`ix_tasks_overdue_unnoted_due_date`), which holds only open, unnoted tasks: a sweep
    reads the tasks it notes, not every open task. The status is a literal, not a
    parameter, so a generic prepared plan on Postgres can still match the index's
    predicate; on SQLite it is wrapped in `likelihood(..., 0.9)`, which keeps it
    implying the predicate but stops the planner preferring the plain status index
    (an equality beats a range when there are no statistics). Postgres skips rows
    another sweeper has locked."""
    is_open = Task.status == literal_column(f"'{TaskStatus.OPEN}'")
    query = (
        select(Task.id, Task.contract_id, Task.account_id, Task.due_date)
        .where(
            func.likelihood(is_open, literal_column("0.9")) if sqlite else is_open,
            Task.overdue_noted_on.is_(None),
            Task.due_date < as_of - timedelta(days=OVERDUE_AFTER_DAYS),
        )
        .order_by(Task.due_date)
        .limit(limit)
    )
    return query if sqlite else query.with_for_update(skip_locked=True)


def _overdue_data(row: OverdueTask) -> dict[str, object]:
    return {
        "id": str(row.id),
        "contract_id": str(row.contract_id),
        "account_id": str(row.account_id),
        "due_date": row.due_date.isoformat(),
    }


async def _note_overdue_tasks(
    db: Database, as_of: date, time: datetime, batch_size: int, result: SweepResult
) -> None:
    """Marks each newly overdue task noted on `as_of` and emits its `task.overdue`, in one
    transaction per batch. The task's version is left alone: noting is the sweep's
    bookkeeping, and must not make a worker's or a person's change to the task stale."""
    while True:
        async with db.transaction() as session:
            query = newly_overdue_tasks(as_of, batch_size, sqlite=db.is_sqlite)
            rows = (await session.execute(query)).all()
            result.event_ids += await _mark_and_emit(
                session,
                update(Task).values(overdue_noted_on=as_of),
                Task.id,
                [row.id for row in rows],
                [Emission(str(row.id), str(row.account_id), _overdue_data(row)) for row in rows],
                EventType.TASK_OVERDUE,
                "task_overdue",
                time,
            )
            result.overdue_tasks_noted += len(rows)
        if len(rows) < batch_size:
            return


async def sweep(
    db: Database,
    as_of: date,
    *,
    time: datetime,
    batch_size: int = 500,
    currency: str | None = None,
) -> SweepResult:
    """One sweep for `as_of`; `time` is the time of the events it emits. `currency`
    defaults to the process settings' (ARR is carried over in minor units either way;
    it only renders the events' amounts). Its duration, failed or not, is observed in
    `renewals_scheduler_sweep_seconds`: a sweep that slows down as the due rows pile up
    is the first sign the scheduler is falling behind."""
    with SCHEDULER_SWEEP.time():
        return await _sweep(db, as_of, time=time, batch_size=batch_size, currency=currency)


async def _sweep(
    db: Database, as_of: date, *, time: datetime, batch_size: int, currency: str | None
) -> SweepResult:
    ctx = Context(
        actor=ACTOR,
        currency=currency or get_settings().currency,
        time=time,
        source=SOURCE_SCHEDULER,
    )
    result = SweepResult()
    started = perf_counter()
    await _open_checkpoints(db, as_of, time, batch_size, result)
    opened = perf_counter()
    await _note_overdue_tasks(db, as_of, time, batch_size, result)
    noted = perf_counter()
    await contracts_at_renewal(db, ctx, as_of, batch_size, result, noticed=False)
    await contracts_at_renewal(db, ctx, as_of, batch_size, result, noticed=True)
    result.checkpoint_seconds = opened - started
    result.overdue_seconds = noted - opened
    result.renewal_seconds = perf_counter() - noted
    did_something = (
        result.checkpoints_opened
        or result.markers_reached
        or result.overdue_tasks_noted
        or result.renewals
        or result.churns
    )
    (_log.info if did_something else _log.debug)(
        "swept",
        as_of=as_of.isoformat(),
        checkpoints_opened=result.checkpoints_opened,
        markers_reached=result.markers_reached,
        overdue_tasks_noted=result.overdue_tasks_noted,
        renewals=result.renewals,
        churns=result.churns,
        checkpoint_seconds=round(result.checkpoint_seconds, 3),
        overdue_seconds=round(result.overdue_seconds, 3),
        renewal_seconds=round(result.renewal_seconds, 3),
    )
    return result


async def run_scheduler(db: Database, settings: Settings, stop: asyncio.Event) -> None:
    """Sweeps for today every `scheduler_interval_seconds` until `stop` is set; 0 = off.
    A failed sweep is logged and the next one runs at the next interval."""
    interval = settings.scheduler_interval_seconds
    if interval <= 0:
        _log.info("scheduler_disabled")
        return
    while not stop.is_set():
        try:
            await sweep(db, today(), time=utcnow(), currency=settings.currency)
        except Exception as exc:
            transient = is_transient(exc)
            log = _log.warning if transient else _log.error
            log("sweep_failed", transient=transient, exc_info=exc)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
