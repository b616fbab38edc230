"""Usage reports: active users against seats, the adoption and expansion signals.

Reports are immutable; a correction is a new report. The latest `as_of` wins, then the
latest report received, so a report dated in the future would shadow every real one for
months: `as_of` may be at most one day after the change's time (customers ahead of UTC).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime, timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.clock import utcnow
from shared.domain.context import Context
from shared.domain.contracts.service import get_contract
from shared.domain.errors import InvalidInput, NotFound
from shared.domain.pagination import fetch_page
from shared.domain.usage.schemas import UsageCreate, UsageRead
from shared.events.outbox import emit
from shared.events.types import EventType, dataschema
from shared.ids import new_id
from shared.models import Contract, UsageReport

MAX_DAYS_AHEAD = 1


async def get_report(
    session: AsyncSession, report_id: uuid.UUID, *, field: str = "id"
) -> UsageReport:
    report = await session.get(UsageReport, report_id)
    if report is None:
        raise NotFound(f"usage report {report_id} does not exist", field=field)
    return report


async def read_report(session: AsyncSession, report: UsageReport) -> UsageRead:
    contract = await get_contract(session, report.contract_id, field="contract_id")
    return _read(report, contract.account_id)


def _read(report: UsageReport, account_id: uuid.UUID) -> UsageRead:
    return UsageRead(
        id=report.id,
        contract_id=report.contract_id,
        account_id=account_id,
        active_users=report.active_users,
        seats=report.seats,
        as_of=report.as_of,
        created_at=report.created_at,
    )


_CONTRACTS = Contract.__table__.c
_ACCOUNT_OF = select(_CONTRACTS.account_id).where(_CONTRACTS.id == bindparam("contract_id"))
"""Built once: constructing a statement and its cache key per event cost as much as
running it."""


async def _account_of(session: AsyncSession, contract_id: uuid.UUID) -> uuid.UUID:
    """The account of an existing contract, read without the autoflush, so the rows of
    several reports stay pending and one flush writes each table in one statement. Only
    a contract created earlier in the same unit of work is missed that way, so a miss
    looks again after a flush before it is a 404."""
    params = {"contract_id": contract_id}
    with session.no_autoflush:
        account_id: uuid.UUID | None = await session.scalar(_ACCOUNT_OF, params)
    if account_id is None:
        account_id = await session.scalar(_ACCOUNT_OF, params)
    if account_id is None:
        raise NotFound(f"contract {contract_id} does not exist", field="contract_id")
    return account_id


def check_as_of(time: datetime, as_of: date) -> None:
    """A report may describe at most `MAX_DAYS_AHEAD` days after the change's time."""
    latest_allowed = time.date() + timedelta(days=MAX_DAYS_AHEAD)
    if as_of > latest_allowed:
        raise InvalidInput(f"must be on or before {latest_allowed.isoformat()}", field="as_of")


async def report_usage(
    session: AsyncSession, ctx: Context, contract_id: uuid.UUID, body: UsageCreate
) -> UsageReport:
    """The id and `created_at` are set here rather than by the flush, so the event is
    built without one and a batch's reports go out in one INSERT."""
    check_as_of(ctx.time, body.as_of)
    account_id = await _account_of(session, contract_id)
    report = UsageReport(
        id=new_id(),
        contract_id=contract_id,
        active_users=body.active_users,
        seats=body.seats,
        as_of=body.as_of,
        created_at=utcnow(),
    )
    session.add(report)
    data = _read(report, account_id)
    emit(
        session,
        type=EventType.USAGE_REPORTED,
        source=ctx.source,
        subject=str(report.id),
        partition_key=str(account_id),
        data=data.model_dump(mode="json"),
        dataschema=dataschema("usage"),
        actor=ctx.actor,
        time=ctx.time,
    )
    return report


async def list_reports(
    session: AsyncSession, contract_id: uuid.UUID, *, limit: int, cursor: str | None
) -> tuple[Sequence[UsageReport], str | None]:
    await get_contract(session, contract_id, field="contract_id")
    query = select(UsageReport).where(UsageReport.contract_id == contract_id)
    return await fetch_page(session, query, UsageReport.id, limit=limit, cursor=cursor)
