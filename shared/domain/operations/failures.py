"""What gave up and waits for an operator: failed webhook deliveries and CRM syncs.

Both are retried by the operations that exist for the REST API
(`webhook_subscriptions.service.redeliver`, `crm_sync.syncs.retry_syncs`); these lists
are what an operator looks at before pressing retry.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.models import CrmTaskSync, WebhookDelivery


async def failed_deliveries(session: AsyncSession, *, limit: int) -> Sequence[WebhookDelivery]:
    """The most recent first: the newest failures are the ones still worth a retry."""
    rows = await session.scalars(
        select(WebhookDelivery)
        .where(WebhookDelivery.status == "failed")
        .order_by(WebhookDelivery.updated_at.desc(), WebhookDelivery.id.desc())
        .limit(limit)
    )
    return rows.all()


async def failed_syncs(session: AsyncSession, *, limit: int) -> Sequence[CrmTaskSync]:
    """The most recent first, like `failed_deliveries`."""
    rows = await session.scalars(
        select(CrmTaskSync)
        .where(CrmTaskSync.status == "failed")
        .order_by(CrmTaskSync.updated_at.desc(), CrmTaskSync.id.desc())
        .limit(limit)
    )
    return rows.all()
