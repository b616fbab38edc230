from __future__ import annotations

import uuid

from fastapi import APIRouter

from services.api.deps import Reader, SessionDep, SettingsDep, Writer
from services.api.openapi import DUPLICATE, REFERENCE, problems
from shared.domain.accounts import service
from shared.domain.accounts.schemas import AccountCreate, AccountPage, AccountRead, AccountUpdate
from shared.domain.context import Context
from shared.domain.schemas import Cursor, Limit

router = APIRouter(prefix="/v1/accounts", tags=["accounts"])


@router.post(
    "",
    status_code=201,
    response_model=AccountRead,
    responses=problems(404, 409, r404=REFERENCE, r409=DUPLICATE),
)
async def create_account(
    principal: Writer, session: SessionDep, settings: SettingsDep, body: AccountCreate
) -> AccountRead:
    ctx = Context.now(principal.actor, settings.currency)
    account = await service.create_account(session, ctx, body)
    return await service.account_read(session, account, ctx.currency)


@router.get("", response_model=AccountPage)
async def list_accounts(
    _principal: Reader,
    session: SessionDep,
    settings: SettingsDep,
    owner: str | None = None,
    partner_id: uuid.UUID | None = None,
    limit: Limit = 50,
    cursor: Cursor | None = None,
) -> AccountPage:
    rows, next_cursor = await service.list_accounts(
        session, owner=owner, partner_id=partner_id, limit=limit, cursor=cursor
    )
    items = await service.account_reads(session, rows, settings.currency)
    return AccountPage(items=items, next_cursor=next_cursor)


@router.get("/{account_id}", response_model=AccountRead)
async def get_account(
    _principal: Reader, session: SessionDep, settings: SettingsDep, account_id: uuid.UUID
) -> AccountRead:
    account = await service.get_account(session, account_id)
    return await service.account_read(session, account, settings.currency)


@router.patch("/{account_id}", response_model=AccountRead, responses=problems(409, r409=DUPLICATE))
async def update_account(
    principal: Writer,
    session: SessionDep,
    settings: SettingsDep,
    account_id: uuid.UUID,
    body: AccountUpdate,
) -> AccountRead:
    ctx = Context.now(principal.actor, settings.currency)
    account = await service.update_account(session, ctx, account_id, body)
    return await service.account_read(session, account, ctx.currency)
