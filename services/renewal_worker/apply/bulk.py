"""`Changes` → rows: what a set-wise batch changed, written with a few Core statements.

Per table one multi-row INSERT for the new rows and one `executemany` UPDATE by primary
key for the changed ones; the notifications with one INSERT, in the order the events
made them. Tasks are versioned: the batch read them when it started, and one a user
changed since (closed it) must not be overwritten, so the tasks it changes are locked
and their versions compared first; a difference is a `StaleDataError`, transient, and
the batch is redone from fresh reads, as the per-event path's versioned UPDATE does.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from services.renewal_worker.apply.load import among, in_chunks
from services.renewal_worker.apply.rows import CHECKPOINTS, CONTRACTS, TASKS
from services.renewal_worker.apply.state import TASK_FIELDS, Changes, NotSetwise
from services.renewal_worker.apply.write import count_once_committed
from shared.clock import utcnow
from shared.events.outbox import insert_prepared

_CHECKPOINT_UPDATE = (
    update(CHECKPOINTS)
    .where(CHECKPOINTS.c.id == bindparam("b_id"))
    .values(
        due_date=bindparam("due_date"),
        opens_on=bindparam("opens_on"),
        status=bindparam("status"),
        updated_at=bindparam("updated_at"),
    )
)
_TASK_SET = (*TASK_FIELDS, "status_reason", "closed_at", "updated_at")
_TASK_UPDATE = (
    update(TASKS)
    .where(TASKS.c.id == bindparam("b_id"))
    .values({name: bindparam(name) for name in _TASK_SET} | {"version": TASKS.c.version + 1})
)
_HEALTH_UPDATE = (
    update(CONTRACTS)
    .where(CONTRACTS.c.id == bindparam("b_id"))
    .values(
        health_score=bindparam("health_score"),
        health_band=bindparam("health_band"),
        health_signals=bindparam("health_signals"),
        updated_at=bindparam("updated_at"),
    )
)


async def write_changes(session: AsyncSession, changes: Changes) -> None:
    """Writes a batch's changes in the caller's transaction; counts the created tasks
    in `renewals_tasks_created_total` once it commits."""
    await _check_unknown_keys(session, changes)
    await _check_versions(session, changes)
    now = utcnow()
    if changes.new_checkpoints:
        await session.execute(
            insert(CHECKPOINTS),
            [
                row | {"created_at": now, "updated_at": now}
                for row in changes.new_checkpoints.values()
            ],
        )
    if changes.changed_checkpoints:
        await session.execute(
            _CHECKPOINT_UPDATE,
            [
                {"b_id": cp_id, **{k: v for k, v in row.items() if k != "id"}, "updated_at": now}
                for cp_id, row in changes.changed_checkpoints.items()
            ],
        )
    if changes.new_tasks:
        await session.execute(
            insert(TASKS), [row.values | {"version": 1} for row in changes.new_tasks.values()]
        )
    if changes.changed_tasks:
        await session.execute(
            _TASK_UPDATE,
            [
                {"b_id": task_id, **{name: row.values[name] for name in _TASK_SET}}
                for task_id, row in changes.changed_tasks.items()
            ],
        )
    if changes.health:
        await session.execute(
            _HEALTH_UPDATE,
            [
                {"b_id": contract_id, **{k: v for k, v in row.items() if k != "id"}}
                for contract_id, row in changes.health.items()
            ],
        )
    await insert_prepared(session, changes.notifications)
    for row in changes.new_tasks.values():
        count_once_committed(session, row.values["kind"])


async def _check_unknown_keys(session: AsyncSession, changes: Changes) -> None:
    """A change to a task the batch does not hold is skipped when no such task exists,
    as the per-event path skips it; if one exists (another account's), that path
    applies the batch."""
    keys = sorted(changes.unknown_task_keys)
    for chunk in in_chunks(keys):
        found = await session.scalar(
            select(TASKS.c.dedupe_key).where(among(session, TASKS.c.dedupe_key, chunk)).limit(1)
        )
        if found is not None:
            raise NotSetwise(f"a change to task {found} of another account")


async def _check_versions(session: AsyncSession, changes: Changes) -> None:
    """Locks the tasks the batch changes and checks they are still as it read them."""
    expected: dict[uuid.UUID, Any] = {
        task_id: row.version for task_id, row in changes.changed_tasks.items()
    }
    for chunk in in_chunks(sorted(expected)):
        stored = await session.execute(
            select(TASKS.c.id, TASKS.c.version)
            .where(among(session, TASKS.c.id, chunk))
            .order_by(TASKS.c.id)
            .with_for_update()
        )
        versions: dict[uuid.UUID, Any] = dict(stored.all())
        for task_id in chunk:
            if versions.get(task_id) != expected[task_id]:
                raise StaleDataError(f"task {task_id} changed since the batch read it")
