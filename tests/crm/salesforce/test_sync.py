"""Engine tasks pushed to the fake Salesforce org by the real dispatcher, syncer and
poller, on both databases: the Salesforce connector in the engine HubSpot's runs in."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from services.crm_sync.poller import Poller
from services.crm_sync.salesforce.client import LIMIT_PAUSE_SECONDS
from services.crm_sync.salesforce.connector import SalesforceConnector
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
from shared.models import CrmPollCursor, CrmTaskSync, Task
from tests.crm.fakes.salesforce import TASK_ID_FIELD, FakeSalesforce
from tests.crm.hubspot.conftest import eventually
from tests.support.factories import make_account, make_contract, make_task

OWNER = "am@vendor.example"
FAST = {
    "crm_sync_timeout_seconds": 1.0,
    "crm_sync_poll_seconds": 0.02,
    "webhooks_retry_initial_seconds": 0.05,
    "webhooks_retry_max_interval_seconds": 0.2,
    "webhooks_poll_seconds": 0.02,
    "worker_max_backoff_seconds": 0.1,
}


@dataclass
class Rig:
    db: Database
    org: FakeSalesforce
    settings: Settings
    connectors: list[SalesforceConnector] = field(default_factory=list)

    def connector(self, **overrides: Any) -> SalesforceConnector:
        made = SalesforceConnector.from_settings(self.settings.model_copy(update=overrides))
        assert made is not None
        self.connectors.append(made)
        return made

    def syncer(self, **overrides: Any) -> Syncer:
        settings = self.settings.model_copy(update=overrides)
        return Syncer(self.db, settings, [self.connector(**overrides)])

    async def open_task(self, **task: Any) -> Task:
        """An account and contract linked to a new Account and Opportunity, and an open
        task announced by `task.created`, as the worker announces it."""
        account = await make_account(self.db, external_ids={"salesforce": self.org.add_account()})
        contract = await make_contract(
            self.db, account, external_ids={"salesforce": self.org.add_opportunity()}
        )
        made = await make_task(self.db, contract, **({"owner": OWNER} | task))
        await self.announce(made.id)
        return made

    async def announce(self, task_id: uuid.UUID, type: EventType = EventType.TASK_CREATED) -> None:
        async with self.db.transaction() as session:
            found = await session.get(Task, task_id)
            assert found is not None
            emit_task_event(
                session, type, found, source=SOURCE_WORKER, actor="worker", time=utcnow()
            )
        dispatcher = OutboxDispatcher(self.db, self.settings)
        try:
            assert await dispatcher.step() is not None
        finally:
            await dispatcher.release()

    async def close(self, task_id: uuid.UUID, outcome: str) -> None:
        """A person marks the task done (as the API does); `task.updated` follows."""
        async with self.db.transaction() as session:
            ctx = Context(actor="test", currency="USD", time=utcnow())
            body = TaskUpdate.model_validate({"status": "done", "outcome": outcome})
            await close_task(session, ctx, task_id, body)
        await self.announce(task_id, EventType.TASK_UPDATED)

    async def row(self, task_id: uuid.UUID) -> CrmTaskSync:
        async with self.db.read() as session:
            found = await session.scalar(select(CrmTaskSync).where(CrmTaskSync.task_id == task_id))
        assert found is not None
        return found

    async def task(self, task_id: uuid.UUID) -> Task:
        async with self.db.read() as session:
            found = await session.get(Task, task_id)
        assert found is not None
        return found


@pytest.fixture
async def rig(
    database: Database, db_url: str, fake_salesforce: FakeSalesforce
) -> AsyncIterator[Rig]:
    fake_salesforce.add_user(OWNER)
    made = Rig(
        database,
        fake_salesforce,
        Settings(database_url=db_url, **(fake_salesforce.settings | FAST)),
    )  # type: ignore[arg-type]
    yield made
    for connector in made.connectors:
        await connector.aclose()


async def test_an_opened_task_appears_on_its_opportunity_and_owner_and_closes_there(
    rig: Rig,
) -> None:
    task = await rig.open_task(priority="urgent", title="Call the sponsor")
    syncer = rig.syncer()
    assert await syncer.step() == 1

    [(salesforce_id, pushed)] = rig.org.tasks.items()
    assert (pushed["Subject"], pushed["Priority"], pushed["Status"]) == (
        "Call the sponsor",
        "High",
        "Not Started",
    )
    assert pushed["ActivityDate"] == task.due_date.isoformat()
    assert pushed[TASK_ID_FIELD] == str(task.id)
    assert pushed["OwnerId"] == next(
        user_id for user_id, user in rig.org.users.items() if user["Email"] == OWNER
    )
    assert pushed["WhatId"][:3] == "006"
    row = await rig.row(task.id)
    assert (row.status, row.crm_object_id, row.synced_version) == ("synced", salesforce_id, 1)

    await rig.close(task.id, "Renewal call booked")
    assert await syncer.step() == 1
    assert rig.org.tasks[salesforce_id]["Status"] == "Completed"
    assert rig.org.tasks[salesforce_id]["Description"].endswith(
        "\n\nDone in the renewal engine: Renewal call booked"
    )


async def test_an_answer_lost_after_salesforce_created_the_task_makes_one_task(
    rig: Rig,
) -> None:
    """The syncer dies between Salesforce's 201 and its own commit: the next attempt
    finds the task by the engine's id instead of creating a second one."""
    task = await rig.open_task()
    rig.org.hang_after_create = True
    doomed = asyncio.create_task(rig.syncer(crm_sync_timeout_seconds=0.5).run(asyncio.Event()))

    async def created() -> bool:
        return len(rig.org.tasks) == 1

    await eventually(created)
    doomed.cancel()  # killed: nothing of this attempt is recorded
    await asyncio.gather(doomed, return_exceptions=True)
    rig.org.hang_after_create = False

    survivor = rig.syncer(crm_sync_timeout_seconds=0.5)

    async def synced() -> bool:
        return (await rig.row(task.id)).status == "synced"

    await eventually(synced, step=survivor.step)
    [salesforce_id] = rig.org.tasks
    assert (await rig.row(task.id)).crm_object_id == salesforce_id
    assert any(TASK_ID_FIELD in soql and "FROM Task" in soql for soql in rig.org.queries)


async def test_salesforce_down_for_a_while_gets_the_latest_state_after(rig: Rig) -> None:
    task = await rig.open_task()
    rig.org.down = True
    syncer = rig.syncer()
    await syncer.step()
    row = await rig.row(task.id)
    assert (row.status, row.attempts) == ("pending", 1)
    assert "503" in (row.last_error or "")

    await rig.close(task.id, "Signed for two more years")
    await syncer.step()
    rig.org.down = False

    async def synced() -> bool:
        return (await rig.row(task.id)).status == "synced"

    await eventually(synced, step=syncer.step)
    [pushed] = rig.org.tasks.values()
    assert pushed["Status"] == "Completed"
    assert pushed["Description"].endswith("Done in the renewal engine: Signed for two more years")
    assert (await rig.row(task.id)).synced_version == 2


async def test_salesforces_request_limit_pauses_the_task(rig: Rig) -> None:
    task = await rig.open_task()
    rig.org.limit_exceeded = True
    before = utcnow()
    await rig.syncer().step()

    row = await rig.row(task.id)
    assert row.status == "pending"
    assert "REQUEST_LIMIT_EXCEEDED" in (row.last_error or "")
    assert row.next_attempt_at is not None
    assert row.next_attempt_at >= before + timedelta(seconds=LIMIT_PAUSE_SECONDS - 1)
    assert rig.org.tasks == {}


async def test_the_poll_closes_tasks_completed_in_salesforce_once(rig: Rig) -> None:
    task = await rig.open_task()
    await rig.syncer().step()
    [salesforce_id] = rig.org.tasks
    poller = Poller(rig.db, rig.settings, rig.connector())
    assert poller.connector.poll_seconds == 60
    assert await poller.poll() == 0
    rig.org.complete(salesforce_id)

    await _age_cursor(rig)
    assert await poller.poll() == 1
    await _age_cursor(rig)
    assert await poller.poll() == 0
    closed = await rig.task(task.id)
    assert (closed.status, closed.outcome) == ("done", "completed in Salesforce")


async def _age_cursor(rig: Rig) -> None:
    """As if the interval had passed since the last poll."""
    async with rig.db.transaction() as session:
        await session.execute(
            update(CrmPollCursor).values(updated_at=utcnow() - timedelta(hours=1))
        )
