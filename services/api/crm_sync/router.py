"""The CRM task sync log: which engine tasks each CRM has caught up with, which failed
and why, and a retry by hand once the cause is fixed."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from services.api.deps import Reader, SessionDep, SettingsDep, Writer
from shared.clock import utcnow
from shared.domain.crm_sync import syncs
from shared.domain.crm_sync.schemas import (
    CrmSyncFilters,
    CrmSyncPage,
    CrmSyncRead,
    CrmSyncRetried,
)
from shared.domain.schemas import Cursor, Limit

router = APIRouter(prefix="/v1/crm-sync", tags=["crm-sync"])


@router.get("", response_model=CrmSyncPage)
async def list_crm_syncs(
    _principal: Reader,
    session: SessionDep,
    filters: Annotated[CrmSyncFilters, Query()],
    limit: Limit = 50,
    cursor: Cursor | None = None,
) -> CrmSyncPage:
    """One row per engine task and CRM. Filters combine (AND); `status=failed` lists
    the tasks a CRM gave up on, with `last_error`. Ordered by id (creation order)."""
    rows, next_cursor = await syncs.list_syncs(session, filters, limit=limit, cursor=cursor)
    return CrmSyncPage(
        items=[CrmSyncRead.model_validate(row) for row in rows], next_cursor=next_cursor
    )


@router.post("/{task_id}/retry", response_model=CrmSyncRetried, status_code=202)
async def retry_crm_sync(
    _principal: Writer, session: SessionDep, settings: SettingsDep, task_id: uuid.UUID
) -> CrmSyncRetried:
    """Makes the task's syncs due now with a fresh retry window: the syncer pushes the
    task as it is now (a failed sync after its cause was fixed in the CRM; a synced one
    to overwrite changes made there). 404 when the task has no sync."""
    rows = await syncs.retry_syncs(
        session,
        task_id,
        now=utcnow(),
        retry_window=timedelta(seconds=settings.webhooks_retry_window_seconds),
    )
    return CrmSyncRetried(items=[CrmSyncRead.model_validate(row) for row in rows])
