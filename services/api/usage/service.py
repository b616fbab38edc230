"""Usage reports: active users against seats, the adoption and expansion signals.

Reports are immutable; a correction is a new report. The latest `as_of` wins, then the
latest report received, so a report dated in the future would shadow every real one for
months: `as_of` may be at most one day after the change's time (customers ahead of UTC).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.api.context import Context
from services.api.contracts.service import get_contract
from services.api.errors import InvalidInput, NotFound
from services.api.pagination import fetch_page
from services.api.usage.schemas import UsageCreate, UsageRead
from shared.events.outbox import emit
from shared.events.types import EventType, dataschema
from shared.models import UsageReport

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
    return UsageRead(
        id=report.id,
        contract_id=report.contract_id,
        account_id=contract.account_id,
        active_users=report.active_users,
        seats=report.seats,
        as_of=report.as_of,
        created_at=report.created_at,
    )


async def report_usage(
    session: AsyncSession, ctx: Context, contract_id: uuid.UUID, body: UsageCreate
) -> UsageReport:
    latest_allowed = ctx.time.date() + timedelta(days=MAX_DAYS_AHEAD)
    if body.as_of > latest_allowed:
        raise InvalidInput(f"must be on or before {latest_allowed.isoformat()}", field="as_of")
    contract = await get_contract(session, contract_id, field="contract_id")
    report = UsageReport(
        contract_id=contract.id,
        active_users=body.active_users,
        seats=body.seats,
        as_of=body.as_of,
    )
    session.add(report)
    await session.flush()
    data = await read_report(session, report)
    emit(
        session,
        type=EventType.USAGE_REPORTED,
        source=ctx.source,
        subject=str(report.id),
        partition_key=str(contract.account_id),
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
