"""Tasks for account managers. The worker creates them; here they are listed, read and
closed (`done` or `dismissed`, with an outcome)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from services.api.deps import Reader, SessionDep, SettingsDep, Writer
from services.api.openapi import problems
from shared.domain.context import Context
from shared.domain.schemas import Cursor, Limit
from shared.domain.tasks import service
from shared.domain.tasks.schemas import TaskFilters, TaskPage, TaskRead, TaskUpdate

router = APIRouter(prefix="/v1/tasks", tags=["tasks"])


@router.get("", response_model=TaskPage)
async def list_tasks(
    _principal: Reader,
    session: SessionDep,
    filters: Annotated[TaskFilters, Query()],
    limit: Limit = 50,
    cursor: Cursor | None = None,
) -> TaskPage:
    """Filters combine (AND); `due_before` and `due_after` are strict. Ordered by id,
    which is creation order."""
    rows, next_cursor = await service.list_tasks(session, filters, limit=limit, cursor=cursor)
    return TaskPage(items=[TaskRead.model_validate(row) for row in rows], next_cursor=next_cursor)


@router.get("/{task_id}", response_model=TaskRead)
async def get_task(_principal: Reader, session: SessionDep, task_id: uuid.UUID) -> TaskRead:
    return TaskRead.model_validate(await service.get_task(session, task_id))


@router.patch(
    "/{task_id}", response_model=TaskRead, responses=problems(409, r409="the task is not open")
)
async def close_task(
    principal: Writer,
    session: SessionDep,
    settings: SettingsDep,
    task_id: uuid.UUID,
    body: TaskUpdate,
) -> TaskRead:
    """Closes an open task as `done` or `dismissed` with an optional outcome and emits
    `task.updated`. A task that is not open is 409. `expected_arr` is taken only when an
    `expansion_opportunity` task is closed as `done` (422 naming it otherwise), with at
    most as many decimals as the deployment's currency; the contract's renewal forecast
    then expects it."""
    ctx = Context.now(principal.actor, settings.currency)
    return TaskRead.model_validate(await service.close_task(session, ctx, task_id, body))
