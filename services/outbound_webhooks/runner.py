"""Dispatcher and sender side by side, as `renewals dev` and `renewals worker` run them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from services.outbound_webhooks.dispatcher import OutboxDispatcher
from services.outbound_webhooks.kafka_dispatcher import KafkaDispatcher
from services.outbound_webhooks.sender import Sender
from shared.config import Settings
from shared.db import Database


async def run(
    db: Database,
    settings: Settings,
    stop: asyncio.Event,
    *,
    on_crm_syncs: Callable[[], None] | None = None,
) -> None:
    """Until `stop` is set. The dispatcher follows the event bus: the outbox's
    notification rows (`database`) or the notifications topic (`kafka`); it wakes this
    process's sender whenever it adds deliveries, and calls `on_crm_syncs` (this
    process's CRM syncer, which the CLI composes in) whenever it makes CRM syncs due."""
    sender = Sender(db, settings)
    dispatcher = (
        KafkaDispatcher(db, settings, on_deliveries=sender.wake, on_crm_syncs=on_crm_syncs)
        if settings.event_bus == "kafka"
        else OutboxDispatcher(db, settings, on_deliveries=sender.wake, on_crm_syncs=on_crm_syncs)
    )
    await asyncio.gather(dispatcher.run(stop), sender.run(stop))
