"""The CRM task sync of one process: the syncer and a poller per CRM that polls, side by
side, as `renewals dev`, `renewals worker` and `renewals crm-sync` run them."""

from __future__ import annotations

import asyncio

import structlog

from services.crm_sync.poller import Poller
from services.crm_sync.registry import build_connectors, close_connectors
from services.crm_sync.syncer import Syncer
from shared.config import Settings
from shared.db import Database

_log = structlog.get_logger("renewals.crm_sync")


class CrmSync:
    """Built from the settings; `run` does nothing when no CRM is enabled, so every
    process can include it. `wake` is what this process's notifications dispatcher
    calls when it made syncs due."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.connectors = build_connectors(settings)
        self.syncer = Syncer(db, settings, self.connectors)
        self.pollers = [
            Poller(db, settings, connector)
            for connector in self.connectors
            if connector.poll_seconds is not None
        ]

    @property
    def enabled(self) -> bool:
        return bool(self.connectors)

    def wake(self) -> None:
        self.syncer.wake()

    async def run(self, stop: asyncio.Event) -> None:
        """Until `stop` is set; then the pushes in flight finish and the clients close."""
        if not self.connectors:
            return
        _log.info("crm_sync_started", crms=sorted(c.crm for c in self.connectors))
        try:
            await asyncio.gather(self.syncer.run(stop), *(p.run(stop) for p in self.pollers))
        finally:
            await close_connectors(self.connectors)
