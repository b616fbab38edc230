from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.clock import today
from shared.domain.accounts.schemas import AccountCreate, AccountRead, AccountUpdate
from shared.domain.context import Context
from shared.domain.contracts.derived import active_on
from shared.domain.errors import NotFound
from shared.domain.external_ids import claim
from shared.domain.pagination import fetch_page
from shared.domain.partners.service import get_partner
from shared.events.outbox import emit
from shared.events.types import EventType, dataschema
from shared.models import Account, Contract
from shared.money import format_minor, from_minor
from shared.rules.segments import segment_for


async def get_account(
    session: AsyncSession, account_id: uuid.UUID, *, field: str = "id", lock: bool = False
) -> Account:
    """`lock` takes the row lock on Postgres, so concurrent changes queue instead of
    overwriting each other (SQLite writers are serialised by BEGIN IMMEDIATE)."""
    query = select(Account).where(Account.id == account_id)
    account = await session.scalar(query.with_for_update() if lock else query)
    if account is None:
        raise NotFound(f"account {account_id} does not exist", field=field)
    return account


async def active_arr_minor(
    session: AsyncSession, account_ids: Sequence[uuid.UUID], as_of: date
) -> dict[uuid.UUID, int]:
    """ARR in minor units of each account's contracts active on `as_of`, in one query;
    accounts without an active contract are absent."""
    if not account_ids:
        return {}
    rows = await session.execute(
        select(Contract.account_id, func.sum(Contract.arr_minor))
        .where(Contract.account_id.in_(account_ids), active_on(as_of))
        .group_by(Contract.account_id)
    )
    return {account_id: int(total) for account_id, total in rows}


def _render(account: Account, arr_minor: int, currency: str) -> AccountRead:
    return AccountRead(
        id=account.id,
        name=account.name,
        fiscal_year_start_month=account.fiscal_year_start_month,
        budget_lead_days=account.budget_lead_days,
        owner=account.owner,
        partner_id=account.partner_id,
        external_ids=account.external_ids,
        segment=segment_for(from_minor(arr_minor, currency)),
        arr=format_minor(arr_minor, currency),
        created_at=account.created_at,
        updated_at=account.updated_at,
    )


async def account_reads(
    session: AsyncSession,
    accounts: Sequence[Account],
    currency: str,
    *,
    as_of: date | None = None,
) -> list[AccountRead]:
    """Renders accounts with their derived ARR and segment (one query for all)."""
    arrs = await active_arr_minor(session, [a.id for a in accounts], as_of or today())
    return [_render(account, arrs.get(account.id, 0), currency) for account in accounts]


async def account_read(
    session: AsyncSession, account: Account, currency: str, *, as_of: date | None = None
) -> AccountRead:
    """The account as reads and events show it; `as_of` (default today) dates the ARR."""
    return (await account_reads(session, [account], currency, as_of=as_of))[0]


async def _emit(session: AsyncSession, ctx: Context, type: EventType, account: Account) -> None:
    """The snapshot's ARR and segment are as of the change's own date, not the wall clock,
    so an event applied later still describes the account when it changed."""
    read = await account_read(session, account, ctx.currency, as_of=ctx.time.date())
    emit(
        session,
        type=type,
        source=ctx.source,
        subject=str(account.id),
        partition_key=str(account.id),
        data=read.model_dump(mode="json"),
        dataschema=dataschema("account"),
        actor=ctx.actor,
        time=ctx.time,
    )


async def create_account(session: AsyncSession, ctx: Context, body: AccountCreate) -> Account:
    if body.partner_id is not None:
        await get_partner(session, body.partner_id, field="partner_id")
    account = Account(
        name=body.name,
        fiscal_year_start_month=body.fiscal_year_start_month,
        budget_lead_days=body.budget_lead_days,
        owner=body.owner,
        partner_id=body.partner_id,
        external_ids=body.external_ids,
    )
    session.add(account)
    await session.flush()
    await claim(session, "account", account.id, body.external_ids)
    await _emit(session, ctx, EventType.ACCOUNT_CREATED, account)
    return account


async def update_account(
    session: AsyncSession, ctx: Context, account_id: uuid.UUID, body: AccountUpdate
) -> Account:
    account = await get_account(session, account_id, lock=True)
    changes = body.model_dump(exclude_unset=True)
    if changes.get("partner_id") is not None:
        await get_partner(session, changes["partner_id"], field="partner_id")
    if "external_ids" in changes:
        await claim(session, "account", account.id, changes["external_ids"])
    for field, value in changes.items():
        setattr(account, field, value)
    await session.flush()
    await _emit(session, ctx, EventType.ACCOUNT_UPDATED, account)
    return account


async def account_owners(session: AsyncSession) -> list[str]:
    """Every account owner's e-mail once, sorted: the people a portfolio can be cut by."""
    rows = await session.scalars(
        select(Account.owner).where(Account.owner.is_not(None)).distinct().order_by(Account.owner)
    )
    return [owner for owner in rows if owner]


async def list_accounts(
    session: AsyncSession,
    *,
    owner: str | None,
    partner_id: uuid.UUID | None,
    limit: int,
    cursor: str | None,
) -> tuple[Sequence[Account], str | None]:
    query = select(Account)
    if owner is not None:
        query = query.where(Account.owner == owner)
    if partner_id is not None:
        query = query.where(Account.partner_id == partner_id)
    return await fetch_page(session, query, Account.id, limit=limit, cursor=cursor)
