"""Stakeholders: the people at the customer whose comings and goings put renewals at risk.

Events describe a person by id, account, role and status only; names and e-mails stay in
the stakeholders table (and in task texts) so erasure can reach every copy.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.domain.accounts.service import get_account
from shared.domain.context import Context
from shared.domain.errors import Conflict, NotFound
from shared.domain.external_ids import claim
from shared.domain.pagination import fetch_page
from shared.domain.stakeholders.erasure import Redactor, redact_account
from shared.domain.stakeholders.schemas import (
    StakeholderCreate,
    StakeholderEventData,
    StakeholderUpdate,
)
from shared.enums import StakeholderRole, StakeholderStatus
from shared.events.outbox import emit
from shared.events.types import EventType, dataschema
from shared.ids import new_id
from shared.models import Stakeholder

ENTITY = "stakeholder"
_PERSONAL_FIELDS = frozenset({"name", "email"})


async def get_stakeholder(
    session: AsyncSession, stakeholder_id: uuid.UUID, *, field: str = "id"
) -> Stakeholder:
    stakeholder = await session.get(Stakeholder, stakeholder_id)
    if stakeholder is None:
        raise NotFound(f"stakeholder {stakeholder_id} does not exist", field=field)
    return stakeholder


def _emit(
    session: AsyncSession,
    ctx: Context,
    type: EventType,
    stakeholder: Stakeholder,
    *,
    previous: dict[str, str] | None = None,
) -> None:
    """`previous` (role and status before a change) lets the engine tell a key
    stakeholder leaving or changing role from any other edit."""
    data = StakeholderEventData.model_validate(stakeholder).model_dump(mode="json")
    if previous is not None:
        data["previous"] = previous
    emit(
        session,
        type=type,
        source=ctx.source,
        subject=str(stakeholder.id),
        partition_key=str(stakeholder.account_id),
        data=data,
        dataschema=dataschema(ENTITY),
        actor=ctx.actor,
        time=ctx.time,
    )


async def add_stakeholder(
    session: AsyncSession, ctx: Context, account_id: uuid.UUID, body: StakeholderCreate
) -> Stakeholder:
    account = await get_account(session, account_id, field="account_id")
    stakeholder_id = new_id()
    await claim(session, ENTITY, stakeholder_id, body.external_ids)
    stakeholder = Stakeholder(
        id=stakeholder_id,
        account_id=account.id,
        name=body.name,
        email=body.email,
        role=body.role,
        status=StakeholderStatus.ACTIVE,
        external_ids=body.external_ids,
    )
    session.add(stakeholder)
    await session.flush()
    _emit(session, ctx, EventType.STAKEHOLDER_ADDED, stakeholder)
    return stakeholder


async def update_stakeholder(
    session: AsyncSession, ctx: Context, stakeholder_id: uuid.UUID, body: StakeholderUpdate
) -> Stakeholder:
    """A change of status to `departed` is `stakeholder.departed` (the engine's key
    stakeholder rule listens for it); anything else is `stakeholder.updated`. An erased
    person keeps a role history, so role and status may still change, but a name or an
    e-mail may not come back (409)."""
    stakeholder = await get_stakeholder(session, stakeholder_id)
    changes = body.model_dump(exclude_unset=True)
    if stakeholder.erased_at is not None and (personal := _PERSONAL_FIELDS & changes.keys()):
        raise Conflict(
            f"stakeholder {stakeholder_id} was erased; its {' and '.join(sorted(personal))}"
            " cannot be set again",
            field=min(personal),
        )
    if "external_ids" in changes:
        await claim(session, ENTITY, stakeholder.id, changes["external_ids"])
    departs = (
        changes.get("status") == StakeholderStatus.DEPARTED
        and stakeholder.status != StakeholderStatus.DEPARTED
    )
    previous = {"role": str(stakeholder.role), "status": str(stakeholder.status)}
    former = [
        old
        for field in sorted(_PERSONAL_FIELDS & changes.keys())
        if (old := getattr(stakeholder, field)) and old != changes[field]
    ]
    if former:
        stakeholder.former_identifiers = [*stakeholder.former_identifiers, *former]
    for field, value in changes.items():
        setattr(stakeholder, field, value)
    await session.flush()
    type = EventType.STAKEHOLDER_DEPARTED if departs else EventType.STAKEHOLDER_UPDATED
    _emit(session, ctx, type, stakeholder, previous=previous)
    return stakeholder


async def erase_stakeholder(
    session: AsyncSession, ctx: Context, stakeholder_id: uuid.UUID
) -> Stakeholder:
    """Right to erasure: nulls the name and e-mail and redacts them — and the names and
    e-mails the person had before — from the account's task texts, the account's outbox
    rows, webhook delivery logs and stored idempotent responses, all in this
    transaction. The row stays (role history, external ids) so the engine's view of the
    account does not change. A second erasure is 409: the person is still there to read,
    there is just nothing left to erase."""
    stakeholder = await get_stakeholder(session, stakeholder_id)
    if stakeholder.erased_at is not None:
        raise Conflict(f"stakeholder {stakeholder_id} was already erased")
    redactor = Redactor(stakeholder.name, stakeholder.email, *stakeholder.former_identifiers)
    await redact_account(session, stakeholder.account_id, redactor)
    stakeholder.name = None
    stakeholder.email = None
    stakeholder.former_identifiers = []
    stakeholder.erased_at = ctx.time
    await session.flush()
    _emit(session, ctx, EventType.STAKEHOLDER_ERASED, stakeholder)
    return stakeholder


async def list_stakeholders(
    session: AsyncSession,
    account_id: uuid.UUID,
    *,
    role: StakeholderRole | None,
    status: StakeholderStatus | None,
    limit: int,
    cursor: str | None,
) -> tuple[Sequence[Stakeholder], str | None]:
    await get_account(session, account_id, field="account_id")
    query = select(Stakeholder).where(Stakeholder.account_id == account_id)
    if role is not None:
        query = query.where(Stakeholder.role == role)
    if status is not None:
        query = query.where(Stakeholder.status == status)
    return await fetch_page(session, query, Stakeholder.id, limit=limit, cursor=cursor)
