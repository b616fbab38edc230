"""What a webhook dispatcher is, whichever carries the notifications.

The dispatcher follows the event bus: the outbox's notification rows read under a lease
(`dispatcher`, embedded mode) or the notifications topic read by a consumer group
(`kafka_dispatcher`). Both do the same with a batch — fetch it, fan it out to one
delivery per matching subscription and the CRM task syncs its task notifications ask
for (`shared.domain.crm_sync.wanted`) in ONE transaction (`fanout`), acknowledge it (the
rows marked processed inside that transaction, or the offsets committed after it) — wake
this process's sender (and CRM syncer) when rows were added, and loop until stopped,
retrying a failed batch after a capped exponential backoff. This base class holds what
they share.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy.ext.asyncio import AsyncSession

from services.outbound_webhooks.fanout import fan_out
from shared.config import Settings
from shared.db import Database
from shared.domain.crm_sync.wanted import enabled_crms, want_sync
from shared.runtime.steps import run_steps


class Fanned(NamedTuple):
    """What a batch's fan-out added: webhook deliveries, and CRM task syncs made due."""

    deliveries: int
    crm_syncs: int


class Dispatcher(ABC):
    """`run` loops until `stop` is set, then gives back what the dispatcher holds
    (`close`); `step` runs one batch (tests drive it)."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        on_deliveries: Callable[[], None] | None,
        on_crm_syncs: Callable[[], None] | None = None,
        log: Any,
        idle_seconds: float,
    ) -> None:
        self.db = db
        self.crms = enabled_crms(settings)
        self.retry_window = timedelta(seconds=settings.webhooks_retry_window_seconds)
        self.idle_seconds = idle_seconds
        self.initial_backoff = settings.webhooks_poll_seconds
        self.max_backoff = settings.worker_max_backoff_seconds
        self.on_deliveries = on_deliveries
        self.on_crm_syncs = on_crm_syncs
        self._log = log

    async def fan_out(
        self, session: AsyncSession, events: Sequence[dict[str, Any]], *, now: datetime
    ) -> Fanned:
        """The deliveries and CRM task syncs of these notifications, added in the
        caller's transaction."""
        deliveries = await fan_out(session, events, now=now, retry_window=self.retry_window)
        crm_syncs = await want_sync(
            session, events, crms=self.crms, now=now, retry_window=self.retry_window
        )
        return Fanned(deliveries, crm_syncs)

    def delivered(self, added: Fanned) -> None:
        """Wakes the sender and the CRM syncer when a committed batch added rows."""
        if added.deliveries and self.on_deliveries is not None:
            self.on_deliveries()
        if added.crm_syncs and self.on_crm_syncs is not None:
            self.on_crm_syncs()

    @abstractmethod
    async def _turn(self) -> bool:
        """One pass of the loop; True when more work may be waiting."""

    @abstractmethod
    async def close(self) -> None:
        """Gives back what the dispatcher holds (its lease, its place in the group)."""

    async def run(self, stop: asyncio.Event) -> None:
        try:
            await run_steps(
                stop,
                self._turn,
                log=self._log,
                failure="dispatch_failed",
                idle_seconds=self.idle_seconds,
                initial_backoff=self.initial_backoff,
                max_backoff=self.max_backoff,
            )
        finally:
            await self.close()
