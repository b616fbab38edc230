"""HubSpot sync tests: the fake portal on a local port, the real dispatcher making rows
due, the real syncer pushing them, on both databases."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import select

from services.crm_sync.hubspot import HubSpotConnector
from services.crm_sync.syncer import Syncer
from services.outbound_webhooks.dispatcher import OutboxDispatcher
from shared.clock import utcnow
from shared.config import Settings
from shared.db import Database
from shared.domain.context import Context
from shared.domain.tasks.notifications import emit_task_event
from shared.domain.tasks.schemas import TaskUpdate
from shared.domain.tasks.service import close_task
from shared.events.types import SOURCE_WORKER, EventType
from shared.models import CrmTaskSync, Task
from tests.crm.fakes.hubspot import TOKEN, FakeHubSpot
from tests.support.broker import kafka_broker  # noqa: F401
from tests.support.factories import make_account, make_contract, make_task

OWNER = "am@vendor.example"

FAST = {
    "crm_sync_timeout_seconds": 1.0,
    "crm_sync_poll_seconds": 0.02,
    "webhooks_retry_initial_seconds": 0.05,
    "webhooks_retry_max_interval_seconds": 0.2,
    "webhooks_poll_seconds": 0.02,
    "worker_max_backoff_seconds": 0.1,
    "hubspot_poll_seconds": 0,
}


@dataclass
class Rig:
    """A database, the fake portal, and the settings pointing one at the other."""

    db: Database
    hubspot: FakeHubSpot
    settings: Settings
    connectors: list[HubSpotConnector] = field(default_factory=list)

    def connector(self, settings: Settings | None = None) -> HubSpotConnector:
        connector = HubSpotConnector.from_settings(settings or self.settings)
        assert connector is not None
        self.connectors.append(connector)
        return connector

    def syncer(self, **overrides: Any) -> Syncer:
        settings = self.settings.model_copy(update=overrides)
        return Syncer(self.db, settings, [self.connector(settings)])

    async def open_task(self, *, company: bool = True, deal: bool = True, **task: Any) -> Task:
        """An account (with its HubSpot company), a contract (with its deal) and an open
        task, announced by `task.created` as the worker announces it."""
        account = await make_account(
            self.db, external_ids={"hubspot": self.hubspot.add_company()} if company else {}
        )
        contract = await make_contract(
            self.db, account, external_ids={"hubspot": self.hubspot.add_deal()} if deal else {}
        )
        made = await make_task(self.db, contract, **({"owner": OWNER} | task))
        await self.announce(made.id, EventType.TASK_CREATED)
        return made

    async def announce(self, task_id: uuid.UUID, type: EventType) -> None:
        async with self.db.transaction() as session:
            found = await session.get(Task, task_id)
            assert found is not None
            emit_task_event(
                session, type, found, source=SOURCE_WORKER, actor="worker", time=utcnow()
            )

    async def close(self, task_id: uuid.UUID, status: str, outcome: str | None) -> None:
        """A person closes the task through the domain (as the API does)."""
        ctx = Context(actor="test", currency="USD", time=utcnow())
        async with self.db.transaction() as session:
            await close_task(
                session,
                ctx,
                task_id,
                TaskUpdate.model_validate({"status": status, "outcome": outcome}),
            )

    async def dispatch(self) -> None:
        """The embedded notifications dispatcher, one batch (makes the rows due)."""
        dispatcher = OutboxDispatcher(self.db, self.settings)
        try:
            assert await dispatcher.step() is not None
        finally:
            await dispatcher.release()

    async def rows(self) -> list[CrmTaskSync]:
        async with self.db.read() as session:
            return list((await session.scalars(select(CrmTaskSync))).all())

    async def row(self, task_id: uuid.UUID) -> CrmTaskSync:
        async with self.db.read() as session:
            found = await session.scalar(select(CrmTaskSync).where(CrmTaskSync.task_id == task_id))
        assert found is not None
        return found


async def eventually(
    check: Callable[[], Awaitable[bool]],
    *,
    timeout: float = 10.0,
    step: Callable[[], Awaitable[Any]] | None = None,
) -> None:
    """Waits (running `step` between looks) until `check` holds; fails after `timeout`."""
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, "condition not reached in time"
        if step is not None:
            await step()
        await asyncio.sleep(0.02)


@pytest.fixture
def hubspot() -> Iterator[FakeHubSpot]:
    fake = FakeHubSpot()
    fake.add_owner(OWNER)
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
async def rig(database: Database, db_url: str, hubspot: FakeHubSpot) -> AsyncIterator[Rig]:
    settings = Settings(
        database_url=db_url, hubspot_access_token=TOKEN, hubspot_api_url=hubspot.url, **FAST
    )
    made = Rig(database, hubspot, settings)
    yield made
    for connector in made.connectors:
        await connector.aclose()
