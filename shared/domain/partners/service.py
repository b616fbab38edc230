from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.domain.context import Context
from shared.domain.errors import NotFound
from shared.domain.pagination import fetch_page
from shared.domain.partners.schemas import PartnerCreate, PartnerRead, PartnerUpdate
from shared.events.outbox import emit
from shared.events.types import EventType, dataschema
from shared.models import Partner


async def get_partner(
    session: AsyncSession, partner_id: uuid.UUID, *, field: str = "id"
) -> Partner:
    partner = await session.get(Partner, partner_id)
    if partner is None:
        raise NotFound(f"partner {partner_id} does not exist", field=field)
    return partner


def _emit(session: AsyncSession, ctx: Context, type: EventType, partner: Partner) -> None:
    emit(
        session,
        type=type,
        source=ctx.source,
        subject=str(partner.id),
        partition_key=str(partner.id),
        data=PartnerRead.model_validate(partner).model_dump(mode="json"),
        dataschema=dataschema("partner"),
        actor=ctx.actor,
        time=ctx.time,
    )


async def create_partner(session: AsyncSession, ctx: Context, body: PartnerCreate) -> Partner:
    partner = Partner(name=body.name, tier=body.tier)
    session.add(partner)
    await session.flush()
    _emit(session, ctx, EventType.PARTNER_CREATED, partner)
    return partner


async def update_partner(
    session: AsyncSession, ctx: Context, partner_id: uuid.UUID, body: PartnerUpdate
) -> Partner:
    partner = await get_partner(session, partner_id)
    for field, value in body.model_dump(exclude_unset=True).items():
        setattr(partner, field, value)
    await session.flush()
    _emit(session, ctx, EventType.PARTNER_UPDATED, partner)
    return partner


async def list_partners(
    session: AsyncSession, *, tier: str | None, limit: int, cursor: str | None
) -> tuple[Sequence[Partner], str | None]:
    query = select(Partner)
    if tier is not None:
        query = query.where(Partner.tier == tier)
    return await fetch_page(session, query, Partner.id, limit=limit, cursor=cursor)


async def partner_names(session: AsyncSession) -> list[tuple[uuid.UUID, str]]:
    """Every partner's id and name, by name: a choice of partner needs them all at once,
    not a page."""
    rows = await session.execute(
        select(Partner.id, Partner.name).order_by(Partner.name, Partner.id)
    )
    return [(partner_id, name) for partner_id, name in rows]
