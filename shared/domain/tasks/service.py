"""Tasks: the engine opens them; people read them and close them with an outcome."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.domain.amounts import to_minor_or_422
from shared.domain.context import Context
from shared.domain.errors import Conflict, InvalidInput, NotFound
from shared.domain.forecast.service import EXPANSION, OUTREACH, refresh_forecasts
from shared.domain.pagination import fetch_page
from shared.domain.tasks.notifications import emit_task_event
from shared.domain.tasks.schemas import TaskFilters, TaskUpdate
from shared.enums import TaskStatus
from shared.events.types import EventType
from shared.models import Task


async def get_task(
    session: AsyncSession, task_id: uuid.UUID, *, field: str = "id", for_update: bool = False
) -> Task:
    task = await session.get(Task, task_id, with_for_update=for_update)
    if task is None:
        raise NotFound(f"task {task_id} does not exist", field=field)
    return task


async def close_task(
    session: AsyncSession, ctx: Context, task_id: uuid.UUID, body: TaskUpdate
) -> Task:
    """Only an open task can be closed (409 otherwise): a task the engine auto-closed, or
    one somebody already closed, keeps the outcome it has. Emits `task.updated` on the
    notifications stream, keyed by account. The row is locked as it is read, so a
    worker changing the task at the same moment finishes first and its change is the
    one judged (the worker's own stale write fails on the task's `version`). Closing an
    outreach or expansion task refreshes the contract's renewal forecast."""
    task = await get_task(session, task_id, for_update=True)
    if task.status != TaskStatus.OPEN:
        raise Conflict(
            f"task {task_id} is {task.status}; only an open task can be closed", field="status"
        )
    task.expected_arr_minor = _expected_arr(task, body, ctx.currency)
    task.status = body.status
    task.outcome = body.outcome
    task.closed_at = ctx.time
    await session.flush()
    emit_task_event(
        session, EventType.TASK_UPDATED, task, source=ctx.source, actor=ctx.actor, time=ctx.time
    )
    if task.kind in (OUTREACH, EXPANSION):
        await refresh_forecasts(session, ctx, [task.contract_id])
    return task


def _expected_arr(task: Task, body: TaskUpdate, currency: str) -> int | None:
    """The expansion ARR in minor units: only a done expansion task records one, in the
    deployment currency's decimals (422 naming `expected_arr` otherwise)."""
    if body.expected_arr is None:
        return None
    if task.kind != EXPANSION or body.status != "done":
        raise InvalidInput(
            f"expected_arr is recorded only when an {EXPANSION} task is done",
            field="expected_arr",
        )
    return to_minor_or_422(body.expected_arr, currency, field="expected_arr")


async def list_tasks(
    session: AsyncSession, filters: TaskFilters, *, limit: int, cursor: str | None
) -> tuple[Sequence[Task], str | None]:
    query = select(Task)
    for column, value in (
        (Task.contract_id, filters.contract_id),
        (Task.account_id, filters.account_id),
        (Task.partner_id, filters.partner_id),
        (Task.owner, filters.owner),
        (Task.status, filters.status),
        (Task.kind, filters.kind),
    ):
        if value is not None:
            query = query.where(column == value)
    if filters.due_before is not None:
        query = query.where(Task.due_date < filters.due_before)
    if filters.due_after is not None:
        query = query.where(Task.due_date > filters.due_after)
    return await fetch_page(session, query, Task.id, limit=limit, cursor=cursor)
