"""Business goals agreed for a contract; one at risk or missed opens a task (DESIGN §3.2)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.domain.context import Context
from shared.domain.contracts.service import get_contract
from shared.domain.errors import NotFound
from shared.domain.goals.schemas import GoalCreate, GoalRead, GoalUpdate
from shared.domain.pagination import fetch_page
from shared.events.outbox import emit
from shared.events.types import EventType, dataschema
from shared.models import Goal


async def get_goal(session: AsyncSession, goal_id: uuid.UUID, *, field: str = "id") -> Goal:
    goal = await session.get(Goal, goal_id)
    if goal is None:
        raise NotFound(f"goal {goal_id} does not exist", field=field)
    return goal


async def read_goal(session: AsyncSession, goal: Goal) -> GoalRead:
    """The goal with its contract's account; the contract is usually already in the
    session's identity map, so this rarely queries."""
    contract = await get_contract(session, goal.contract_id, field="contract_id")
    return GoalRead(
        id=goal.id,
        contract_id=goal.contract_id,
        account_id=contract.account_id,
        name=goal.name,
        target=goal.target,
        status=goal.status,
        created_at=goal.created_at,
        updated_at=goal.updated_at,
    )


async def _emit(session: AsyncSession, ctx: Context, type: EventType, goal: Goal) -> None:
    data = await read_goal(session, goal)
    emit(
        session,
        type=type,
        source=ctx.source,
        subject=str(goal.id),
        partition_key=str(data.account_id),
        data=data.model_dump(mode="json"),
        dataschema=dataschema("goal"),
        actor=ctx.actor,
        time=ctx.time,
    )


async def create_goal(
    session: AsyncSession, ctx: Context, contract_id: uuid.UUID, body: GoalCreate
) -> Goal:
    contract = await get_contract(session, contract_id, field="contract_id")
    goal = Goal(contract_id=contract.id, name=body.name, target=body.target, status=body.status)
    session.add(goal)
    await session.flush()
    await _emit(session, ctx, EventType.GOAL_CREATED, goal)
    return goal


async def update_goal(
    session: AsyncSession, ctx: Context, goal_id: uuid.UUID, body: GoalUpdate
) -> Goal:
    goal = await get_goal(session, goal_id)
    for field, value in body.model_dump(exclude_unset=True).items():
        setattr(goal, field, value)
    await session.flush()
    await _emit(session, ctx, EventType.GOAL_UPDATED, goal)
    return goal


async def list_goals(
    session: AsyncSession, contract_id: uuid.UUID, *, limit: int, cursor: str | None
) -> tuple[Sequence[Goal], str | None]:
    await get_contract(session, contract_id, field="contract_id")
    query = select(Goal).where(Goal.contract_id == contract_id)
    return await fetch_page(session, query, Goal.id, limit=limit, cursor=cursor)
