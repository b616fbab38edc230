"""Standard Webhooks deliveries of CloudEvents, applied exactly like `POST /v1/events`.

The body is one CloudEvent (applied like `/v1/events`) or an array of them (like
`/v1/events/batch`: all or nothing). Each event is still deduped by (`source`, `id`)
with the events route, so an event sent both ways is applied once; the delivery itself
is deduped by its `webhook-id`, recorded in the same transaction as its changes.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shared.domain.context import Context
from shared.domain.inbound_webhooks.schemas import GenericReceipt
from shared.domain.ingest import service as events
from shared.models import InboxKey

CONSUMER = "webhook:generic"
ACTOR = "webhook:generic"
SOURCE = "/v1/webhooks/generic"


async def receive(
    session: AsyncSession, ctx: Context, webhook_id: str, payload: dict[str, Any] | list[Any]
) -> GenericReceipt:
    if await events.already_received(session, CONSUMER, SOURCE, webhook_id):
        return GenericReceipt(
            webhook_id=webhook_id, duplicate=True, accepted=0, duplicates=0, items=[]
        )
    parsed, batch = events.parse(payload)
    summary = events.summarize(await events.receive(session, ctx, parsed, batch=batch))
    session.add(InboxKey(consumer=CONSUMER, source=SOURCE, event_id=webhook_id))
    await session.flush()
    return GenericReceipt(webhook_id=webhook_id, duplicate=False, **summary.model_dump())
