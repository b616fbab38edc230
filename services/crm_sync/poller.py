"""The polling fallback: tasks completed in a CRM that cannot (or was not set up to) push
completions, found by asking it every `poll_seconds`.

Each poll asks for our tasks completed in the CRM and modified since the CRM's
`crm_poll_cursors.polled_until`, less an overlap (CRM search indexes lag behind writes by
seconds), closes each through `complete_from_crm` (a completion seen twice closes
nothing twice), then moves the cursor to when the poll began. Any number of processes
may run a poller: a poll starts only by moving the cursor's `updated_at` past the last
poll's by at least the interval, in one conditional UPDATE, so one of them polls per
interval. A poll that fails leaves the cursor where it was; the next one covers the gap.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta

import structlog
from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite

from services.crm_sync.connector import Connector
from shared.clock import utcnow
from shared.config import Settings
from shared.db import Database
from shared.domain.context import Context
from shared.domain.crm_sync.service import complete_from_crm
from shared.models import CrmPollCursor
from shared.runtime.steps import describe

OVERLAP = timedelta(minutes=2)
"""How far back each poll looks past the last one: a task completed just before a poll
may not be searchable yet."""
_log = structlog.get_logger("renewals.crm_sync")


class Poller:
    """The poller of one CRM; `run` loops until `stop`, `poll` polls once if due."""

    def __init__(self, db: Database, settings: Settings, connector: Connector) -> None:
        assert connector.poll_seconds is not None
        self.db = db
        self.connector = connector
        self.crm = connector.crm
        self.interval = timedelta(seconds=connector.poll_seconds)
        self.currency = settings.currency
        self._log = _log.bind(crm=self.crm)

    async def _start(self, now: datetime) -> datetime | None:
        """Takes this interval's poll; returns where the last one ended, or None when
        another process polled within the interval."""
        async with self.db.transaction() as session:
            dialect = session.get_bind().dialect.name
            insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
            await session.execute(
                insert(CrmPollCursor)
                .values(
                    crm=self.crm,
                    polled_until=now - self.interval,
                    updated_at=now - 2 * self.interval,
                )
                .on_conflict_do_nothing(index_elements=["crm"])
            )
            taken = await session.execute(
                update(CrmPollCursor)
                .where(
                    CrmPollCursor.crm == self.crm, CrmPollCursor.updated_at <= now - self.interval
                )
                .values(updated_at=now)
                .returning(CrmPollCursor.polled_until)
            )
            return taken.scalar_one_or_none()

    async def poll(self) -> int | None:
        """One poll when one is due; the number of engine tasks it closed, None when it
        was not this process's turn."""
        now = utcnow()
        since = await self._start(now)
        if since is None:
            return None
        completed = await self.connector.completed_since(since - OVERLAP)
        closed = 0
        for item in completed:
            ctx = Context(actor=f"crm:{self.crm}", currency=self.currency, time=utcnow())
            async with self.db.transaction() as session:
                if await complete_from_crm(session, ctx, self.crm, item.crm_object_id):
                    closed += 1
        async with self.db.transaction() as session:
            await session.execute(
                update(CrmPollCursor).where(CrmPollCursor.crm == self.crm).values(polled_until=now)
            )
        if completed:
            self._log.info("crm_completions_polled", completed=len(completed), closed=closed)
        return closed

    async def run(self, stop: asyncio.Event) -> None:
        """Polls every interval until `stop`; a failed poll is logged and retried at the
        next interval."""
        while not stop.is_set():
            try:
                await self.poll()
            except Exception as exc:
                self._log.warning("crm_poll_failed", error=describe(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.interval.total_seconds())
