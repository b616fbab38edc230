"""Usage reports: active users against seats.

Reports are immutable (there is no `usage.updated` event): to correct one, post a new
report. The latest `as_of` wins; on a tie, the report received last.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from services.api.deps import Reader, SessionDep, SettingsDep, Writer
from shared.domain.context import Context
from shared.domain.schemas import Cursor, Limit
from shared.domain.usage import service
from shared.domain.usage.schemas import UsageCreate, UsagePage, UsageRead

router = APIRouter(prefix="/v1", tags=["usage"])


@router.post("/contracts/{contract_id}/usage", status_code=201, response_model=UsageRead)
async def report_usage(
    principal: Writer,
    session: SessionDep,
    settings: SettingsDep,
    contract_id: uuid.UUID,
    body: UsageCreate,
) -> UsageRead:
    """Records a usage report and emits `usage.reported`. Reports are immutable: a
    correction is a new report (the latest `as_of` wins; on a tie, the one received
    last). `as_of` may be at most one day in the future."""
    ctx = Context.now(principal.actor, settings.currency)
    report = await service.report_usage(session, ctx, contract_id, body)
    return await service.read_report(session, report)


@router.get("/contracts/{contract_id}/usage", response_model=UsagePage)
async def list_usage(
    _principal: Reader,
    session: SessionDep,
    contract_id: uuid.UUID,
    limit: Limit = 50,
    cursor: Cursor | None = None,
) -> UsagePage:
    """Reports in the order they were received (ids are time-ordered), which keeps the
    cursor stable; that is not necessarily `as_of` order, since a late report may
    describe an earlier day."""
    rows, next_cursor = await service.list_reports(session, contract_id, limit=limit, cursor=cursor)
    return UsagePage(
        items=[await service.read_report(session, row) for row in rows], next_cursor=next_cursor
    )


@router.get("/usage/{report_id}", response_model=UsageRead)
async def get_usage(_principal: Reader, session: SessionDep, report_id: uuid.UUID) -> UsageRead:
    return await service.read_report(session, await service.get_report(session, report_id))
