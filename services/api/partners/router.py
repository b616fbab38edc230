from __future__ import annotations

import uuid

from fastapi import APIRouter

from services.api.deps import Reader, SessionDep, SettingsDep, Writer
from shared.domain.context import Context
from shared.domain.partners import service
from shared.domain.partners.schemas import PartnerCreate, PartnerPage, PartnerRead, PartnerUpdate
from shared.domain.schemas import Cursor, Limit
from shared.enums import PartnerTier

router = APIRouter(prefix="/v1/partners", tags=["partners"])


@router.post("", status_code=201, response_model=PartnerRead)
async def create_partner(
    principal: Writer, session: SessionDep, settings: SettingsDep, body: PartnerCreate
) -> PartnerRead:
    ctx = Context.now(principal.actor, settings.currency)
    return PartnerRead.model_validate(await service.create_partner(session, ctx, body))


@router.get("", response_model=PartnerPage)
async def list_partners(
    _principal: Reader,
    session: SessionDep,
    tier: PartnerTier | None = None,
    limit: Limit = 50,
    cursor: Cursor | None = None,
) -> PartnerPage:
    rows, next_cursor = await service.list_partners(session, tier=tier, limit=limit, cursor=cursor)
    return PartnerPage(
        items=[PartnerRead.model_validate(row) for row in rows], next_cursor=next_cursor
    )


@router.get("/{partner_id}", response_model=PartnerRead)
async def get_partner(
    _principal: Reader, session: SessionDep, partner_id: uuid.UUID
) -> PartnerRead:
    return PartnerRead.model_validate(await service.get_partner(session, partner_id))


@router.patch("/{partner_id}", response_model=PartnerRead)
async def update_partner(
    principal: Writer,
    session: SessionDep,
    settings: SettingsDep,
    partner_id: uuid.UUID,
    body: PartnerUpdate,
) -> PartnerRead:
    ctx = Context.now(principal.actor, settings.currency)
    return PartnerRead.model_validate(await service.update_partner(session, ctx, partner_id, body))
