"""Goals and metrics agreed with the business owner, reviewed at the pilot's end and at
mid-term. Moving a goal to `at_risk` or `missed` makes the engine open a task."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from services.api.deps import Reader, SessionDep, SettingsDep, Writer
from shared.domain.context import Context
from shared.domain.goals import service
from shared.domain.goals.schemas import GoalCreate, GoalPage, GoalRead, GoalUpdate
from shared.domain.schemas import Cursor, Limit

router = APIRouter(prefix="/v1", tags=["goals"])


@router.post("/contracts/{contract_id}/goals", status_code=201, response_model=GoalRead)
async def create_goal(
    principal: Writer,
    session: SessionDep,
    settings: SettingsDep,
    contract_id: uuid.UUID,
    body: GoalCreate,
) -> GoalRead:
    """Emits `goal.created`; `status` defaults to `on_track`."""
    ctx = Context.now(principal.actor, settings.currency)
    goal = await service.create_goal(session, ctx, contract_id, body)
    return await service.read_goal(session, goal)


@router.get("/contracts/{contract_id}/goals", response_model=GoalPage)
async def list_goals(
    _principal: Reader,
    session: SessionDep,
    contract_id: uuid.UUID,
    limit: Limit = 50,
    cursor: Cursor | None = None,
) -> GoalPage:
    rows, next_cursor = await service.list_goals(session, contract_id, limit=limit, cursor=cursor)
    return GoalPage(
        items=[await service.read_goal(session, row) for row in rows], next_cursor=next_cursor
    )


@router.get("/goals/{goal_id}", response_model=GoalRead)
async def get_goal(_principal: Reader, session: SessionDep, goal_id: uuid.UUID) -> GoalRead:
    return await service.read_goal(session, await service.get_goal(session, goal_id))


@router.patch("/goals/{goal_id}", response_model=GoalRead)
async def update_goal(
    principal: Writer,
    session: SessionDep,
    settings: SettingsDep,
    goal_id: uuid.UUID,
    body: GoalUpdate,
) -> GoalRead:
    """Emits `goal.updated`."""
    ctx = Context.now(principal.actor, settings.currency)
    goal = await service.update_goal(session, ctx, goal_id, body)
    return await service.read_goal(session, goal)
