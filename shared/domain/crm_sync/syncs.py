"""The sync log: each engine task's sync with each CRM, listed and retried by hand."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.domain.crm_sync.schemas import CrmSyncFilters
from shared.domain.crm_sync.wanted import due_again
from shared.domain.errors import NotFound
from shared.domain.pagination import fetch_page
from shared.models import CrmTaskSync


async def list_syncs(
    session: AsyncSession, filters: CrmSyncFilters, *, limit: int, cursor: str | None
) -> tuple[Sequence[CrmTaskSync], str | None]:
    query = select(CrmTaskSync)
    for column, value in (
        (CrmTaskSync.status, filters.status),
        (CrmTaskSync.crm, filters.crm),
        (CrmTaskSync.task_id, filters.task_id),
    ):
        if value is not None:
            query = query.where(column == value)
    return await fetch_page(session, query, CrmTaskSync.id, limit=limit, cursor=cursor)


async def retry_syncs(
    session: AsyncSession, task_id: uuid.UUID, *, now: datetime, retry_window: timedelta
) -> Sequence[CrmTaskSync]:
    """Makes every sync of the task due now, with a fresh retry window (a failed one
    too, or a synced one, which is pushed again); 404 when the task has none. A sync a
    syncer holds stays with it: its outcome is recorded, then the retry's is."""
    made_due = await session.execute(
        update(CrmTaskSync)
        .where(CrmTaskSync.task_id == task_id)
        .values(**due_again(now, retry_window))
        .execution_options(synchronize_session=False)
    )
    if made_due.rowcount == 0:  # type: ignore[attr-defined]
        raise NotFound(f"task {task_id} has no CRM sync", field="task_id")
    rows = await session.scalars(
        select(CrmTaskSync)
        .where(CrmTaskSync.task_id == task_id)
        .order_by(CrmTaskSync.crm)
        .execution_options(populate_existing=True)
    )
    return rows.all()
