"""Engine tasks mirrored into CRMs: what the CRMs tell us back.

A CRM reports a task completed by pushing a change (a HubSpot webhook, a Salesforce
Outbound Message) or through polling; every path closes the engine's task here, once.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.domain.context import Context
from shared.domain.tasks.schemas import TaskUpdate
from shared.domain.tasks.service import close_task, get_task
from shared.enums import TaskStatus
from shared.models import CrmTaskSync, Task

CRM_NAMES = {"hubspot": "HubSpot", "salesforce": "Salesforce"}
"""Every CRM the engine syncs tasks with, by the key it has in `external_ids`."""


async def complete_from_crm(
    session: AsyncSession, ctx: Context, crm: str, crm_object_id: str
) -> Task | None:
    """Closes the engine task behind the CRM's task as `done`, outcome "completed in
    <CRM>", and returns it. None, changing nothing, when the CRM task is not one of ours,
    when its completion was already reported, or when the engine's task is no longer
    open (its own outcome stands)."""
    sync = await session.scalar(
        select(CrmTaskSync)
        .where(CrmTaskSync.crm == crm, CrmTaskSync.crm_object_id == crm_object_id)
        .with_for_update()
    )
    if sync is None or sync.completed_in_crm_at is not None:
        return None
    sync.completed_in_crm_at = ctx.time
    task = await get_task(session, sync.task_id)
    if task.status != TaskStatus.OPEN:
        await session.flush()
        return None
    outcome = f"completed in {CRM_NAMES[crm]}"
    return await close_task(session, ctx, task.id, TaskUpdate(status="done", outcome=outcome))
