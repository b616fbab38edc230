"""People at the customer. Lifecycle events about them never carry a name or an e-mail;
`DELETE` erases the person (GDPR) and redacts them everywhere in the database."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from services.api.deps import Admin, Reader, SessionDep, SettingsDep, Writer
from services.api.openapi import DUPLICATE, problems
from shared.domain.context import Context
from shared.domain.schemas import Cursor, Limit
from shared.domain.stakeholders import service
from shared.domain.stakeholders.schemas import (
    StakeholderCreate,
    StakeholderPage,
    StakeholderRead,
    StakeholderUpdate,
)
from shared.enums import StakeholderRole, StakeholderStatus

router = APIRouter(prefix="/v1", tags=["stakeholders"])


@router.post(
    "/accounts/{account_id}/stakeholders",
    status_code=201,
    response_model=StakeholderRead,
    responses=problems(409, r409=DUPLICATE),
)
async def add_stakeholder(
    principal: Writer,
    session: SessionDep,
    settings: SettingsDep,
    account_id: uuid.UUID,
    body: StakeholderCreate,
) -> StakeholderRead:
    """Emits `stakeholder.added`; a second business owner on an account is a key
    stakeholder change for the engine."""
    ctx = Context.now(principal.actor, settings.currency)
    stakeholder = await service.add_stakeholder(session, ctx, account_id, body)
    return StakeholderRead.model_validate(stakeholder)


@router.get("/accounts/{account_id}/stakeholders", response_model=StakeholderPage)
async def list_stakeholders(
    _principal: Reader,
    session: SessionDep,
    account_id: uuid.UUID,
    role: StakeholderRole | None = None,
    status: StakeholderStatus | None = None,
    limit: Limit = 50,
    cursor: Cursor | None = None,
) -> StakeholderPage:
    rows, next_cursor = await service.list_stakeholders(
        session, account_id, role=role, status=status, limit=limit, cursor=cursor
    )
    return StakeholderPage(
        items=[StakeholderRead.model_validate(row) for row in rows], next_cursor=next_cursor
    )


@router.get("/stakeholders/{stakeholder_id}", response_model=StakeholderRead)
async def get_stakeholder(
    _principal: Reader, session: SessionDep, stakeholder_id: uuid.UUID
) -> StakeholderRead:
    return StakeholderRead.model_validate(await service.get_stakeholder(session, stakeholder_id))


@router.patch(
    "/stakeholders/{stakeholder_id}",
    response_model=StakeholderRead,
    responses=problems(409, r409=f"{DUPLICATE}, or a name or e-mail for an erased person"),
)
async def update_stakeholder(
    principal: Writer,
    session: SessionDep,
    settings: SettingsDep,
    stakeholder_id: uuid.UUID,
    body: StakeholderUpdate,
) -> StakeholderRead:
    """A change of `status` to `departed` emits `stakeholder.departed`, anything else
    `stakeholder.updated`. An erased person's role and status may change; setting a name
    or e-mail again is 409."""
    ctx = Context.now(principal.actor, settings.currency)
    stakeholder = await service.update_stakeholder(session, ctx, stakeholder_id, body)
    return StakeholderRead.model_validate(stakeholder)


@router.delete(
    "/stakeholders/{stakeholder_id}",
    status_code=204,
    response_class=Response,
    responses=problems(409, r409="the person was already erased"),
)
async def erase_stakeholder(
    principal: Admin, session: SessionDep, settings: SettingsDep, stakeholder_id: uuid.UUID
) -> Response:
    """Erases the person (admin scope: it cannot be undone): name and e-mail — and the
    ones the person had before — become null and are replaced by `[erased]` in the
    account's task texts, its outbox events, the webhook delivery log and stored
    idempotent responses. The record stays readable (role history, `erased_at`); erasing
    it again is 409. Emits `stakeholder.erased`."""
    ctx = Context.now(principal.actor, settings.currency)
    await service.erase_stakeholder(session, ctx, stakeholder_id)
    return Response(status_code=204)
