"""The engine's decision → rows: checkpoints, tasks and health, in the event's transaction.

The writer changes the rows the loader read (`load.LoadedAccount`) and adds the ones it
creates to them, so the batch's next event about the account sees them without a new
load. It flushes once per kind of row (and once per round of changes to the same task),
emits each notification after the flush that stored its row (`notify`), and counts
created tasks in `renewals_tasks_created_total` only once the outermost transaction
commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from services.renewal_worker.apply import forecasts, notify
from services.renewal_worker.apply.load import LoadedAccount
from services.renewal_worker.engine.rules import Decision, HealthChange
from services.renewal_worker.engine.state import CheckpointFacts, CheckpointId, EngineEvent
from shared.clock import utcnow
from shared.events.types import EventType
from shared.ids import new_id
from shared.metrics import TASKS_CREATED
from shared.models import Checkpoint, Contract, Task


async def write_checkpoints(
    session: AsyncSession, rows: Sequence[CheckpointFacts], stored: dict[CheckpointId, Checkpoint]
) -> None:
    """Updates the account's checkpoint rows in `stored` and adds the new ones (to
    `stored` too), in one flush."""
    if not rows:
        return
    for row in rows:
        checkpoint = stored.get(row.identity)
        if checkpoint is None:
            checkpoint = Checkpoint(
                id=new_id(),
                contract_id=uuid.UUID(row.contract_id),
                term=row.term,
                kind=row.kind,
                ordinal=row.ordinal,
            )
            session.add(checkpoint)
            stored[row.identity] = checkpoint
        checkpoint.due_date = row.due_date
        checkpoint.opens_on = row.opens_on
        checkpoint.status = row.status
    await session.flush()


async def _checkpoint_id(
    session: AsyncSession, identity: CheckpointId, stored: dict[CheckpointId, Checkpoint]
) -> uuid.UUID | None:
    if identity in stored:
        return stored[identity].id
    contract_id, term, kind, ordinal = identity
    return await session.scalar(
        select(Checkpoint.id).where(
            Checkpoint.contract_id == uuid.UUID(contract_id),
            Checkpoint.term == term,
            Checkpoint.kind == kind,
            Checkpoint.ordinal == ordinal,
        )
    )


_CREATED_KINDS = "renewals.created_task_kinds"


def count_once_committed(session: AsyncSession, kind: str) -> None:
    """Counts a created task in `renewals_tasks_created_total` when the outermost
    transaction commits: a savepoint rolled back (a poison event) or a batch aborted by a
    transient error (it is retried) must not count tasks that were never written."""
    sync = session.sync_session
    pending: list[tuple[SessionTransaction, str]] | None = sync.info.get(_CREATED_KINDS)
    if pending is None:
        pending = sync.info[_CREATED_KINDS] = []
        event.listen(sync, "after_soft_rollback", _forget_rolled_back)
        event.listen(sync, "after_commit", _count_committed)
    current = sync.get_nested_transaction() or sync.get_transaction()
    assert current is not None, "tasks are only written inside a transaction"
    pending.append((current, kind))


def _within(transaction: SessionTransaction | None, ancestor: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False


def _forget_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    pending = session.info[_CREATED_KINDS]
    pending[:] = [(t, kind) for t, kind in pending if not _within(t, previous_transaction)]


def _count_committed(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint released: its tasks are not durable yet
        return
    pending = session.info[_CREATED_KINDS]
    for _, kind in pending:
        TASKS_CREATED.labels(kind=kind).inc()
    pending.clear()


async def _tasks_by_key(session: AsyncSession, decision: Decision) -> dict[str, Task]:
    """The stored tasks with the dedupe keys the decision creates or changes, in one query."""
    keys = sorted(
        {new.dedupe_key for new in decision.new_tasks}
        | {change.dedupe_key for change in decision.task_changes}
    )
    if not keys:
        return {}
    return {
        task.dedupe_key: task
        for task in await session.scalars(select(Task).where(Task.dedupe_key.in_(keys)))
    }


async def write_tasks(
    session: AsyncSession, event: EngineEvent, decision: Decision, loaded: LoadedAccount
) -> None:
    """New tasks are inserted in one flush, then changes in one flush per round (a task
    changed twice is notified after each change); each notification carries the task as
    stored after its flush, like a REST read would show it. A moved due date clears
    `overdue_noted_on`, so the sweep judges the task from its new date."""
    stored = await _tasks_by_key(session, decision)
    created: list[Task] = []
    for new in decision.new_tasks:
        if new.dedupe_key in stored:
            continue
        task = Task(
            contract_id=uuid.UUID(new.contract_id),
            account_id=uuid.UUID(new.account_id),
            partner_id=uuid.UUID(new.partner_id) if new.partner_id else None,
            checkpoint_id=(
                await _checkpoint_id(session, new.checkpoint, loaded.checkpoints)
                if new.checkpoint
                else None
            ),
            term=new.term,
            kind=new.kind,
            title=new.title,
            description=new.description,
            due_date=new.due_date,
            priority=str(new.priority),
            owner=new.owner,
            dedupe_key=new.dedupe_key,
            source_event_id=event.id,
        )
        session.add(task)
        stored[new.dedupe_key] = task
        created.append(task)
    if created:
        await session.flush()
    for task in created:
        if task.account_id == loaded.account.id:
            loaded.tasks.append(task)
        count_once_committed(session, task.kind)
        notify.task_changed(session, event, EventType.TASK_CREATED, task)
    changed: list[Task] = []
    for change in decision.task_changes:
        target = stored.get(change.dedupe_key)
        if target is None:
            continue
        if target in changed:
            await _flush_changed(session, event, changed)
        if change.due_date is not None and change.due_date != target.due_date:
            target.due_date = change.due_date
            target.overdue_noted_on = None
        if change.description is not None:
            target.description = change.description
        if change.owner_changed:
            target.owner = change.owner
        if change.priority is not None:
            target.priority = str(change.priority)
        if change.status is not None and change.status != target.status:
            target.status = change.status
            target.status_reason = change.status_reason
            target.closed_at = utcnow()
        changed.append(target)
    await _flush_changed(session, event, changed)


async def _flush_changed(session: AsyncSession, event: EngineEvent, changed: list[Task]) -> None:
    if not changed:
        return
    await session.flush()
    for task in changed:
        notify.task_changed(session, event, EventType.TASK_UPDATED, task)
    changed.clear()


async def write_health(
    session: AsyncSession,
    event: EngineEvent,
    changes: Sequence[HealthChange],
    loaded: LoadedAccount,
) -> None:
    """Stores each contract's new health; a change of band is notified."""
    for change in changes:
        contract = loaded.contract(change.contract_id) or await session.get(
            Contract, uuid.UUID(change.contract_id)
        )
        if contract is None:
            continue
        old = {"score": contract.health_score, "band": contract.health_band}
        contract.health_score = change.health.score
        contract.health_band = change.health.band
        contract.health_signals = notify.stored_signals(change)
        if change.previous_band != change.health.band:
            forecasts.note_band_change(session, contract.id, event.time)
            notify.health_changed(session, event, change, contract, old)
    await session.flush()
