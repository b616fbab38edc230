"""Tasks completed in HubSpot close the engine's task: pushed by HubSpot's webhook on
`hs_task_status`, or found by the polling fallback; once, however often reported."""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from services.crm_sync.hubspot import HubSpotConnector
from services.crm_sync.poller import Poller
from shared.clock import utcnow
from shared.models import CrmPollCursor, Task
from tests.api.inbound_webhooks.support import (
    HUBSPOT_SECRET,
    PUBLIC_BASE_URL,
    dumps,
    hubspot_headers,
)
from tests.crm.hubspot.conftest import Rig
from tests.support.api import Harness, open_harness

_EVENT_IDS = itertools.count(7000)


@pytest.fixture
async def api(rig: Rig) -> AsyncIterator[Harness]:
    """The API on the rig's database, with HubSpot's webhook configured."""
    async with open_harness(
        rig.settings.database_url,
        hubspot_client_secret=HUBSPOT_SECRET,
        public_base_url=PUBLIC_BASE_URL,
    ) as harness:
        yield harness


async def synced_task(rig: Rig) -> tuple[uuid.UUID, str]:
    """An open engine task and the HubSpot task the syncer made of it."""
    task = await rig.open_task()
    await rig.dispatch()
    await rig.syncer().step()
    hubspot_id = (await rig.row(task.id)).crm_object_id
    assert hubspot_id is not None
    return task.id, hubspot_id


def status_change(
    hubspot_id: str, value: str = "COMPLETED", type_id: str = "0-27"
) -> dict[str, Any]:
    return {
        "eventId": next(_EVENT_IDS),
        "subscriptionId": 88,
        "portalId": 62515,
        "occurredAt": int(time.time() * 1000),
        "subscriptionType": "object.propertyChange",
        "objectTypeId": type_id,
        "objectId": int(hubspot_id),
        "propertyName": "hs_task_status",
        "propertyValue": value,
        "changeSource": "CRM_UI",
    }


async def deliver(api: Harness, *events: dict[str, Any]) -> list[tuple[str, str | None]]:
    body = dumps(list(events))
    async with api.as_key(None) as hubspot:
        response = await hubspot.post(
            "/v1/webhooks/hubspot", content=body, headers=hubspot_headers(body)
        )
    assert response.status_code == 200, response.text
    return [(item["outcome"], item["reason"]) for item in response.json()["items"]]


async def task_row(rig: Rig, task_id: uuid.UUID) -> Task:
    async with rig.db.read() as session:
        found = await session.get(Task, task_id)
    assert found is not None
    return found


async def test_completing_a_synced_task_in_hubspot_closes_ours_once(rig: Rig, api: Harness) -> None:
    task_id, hubspot_id = await synced_task(rig)
    rig.hubspot.complete(hubspot_id)

    first = await deliver(api, status_change(hubspot_id))
    again = await deliver(api, status_change(hubspot_id))

    assert first == [("applied", None)]
    assert again[0][0] == "ignored"
    closed = await task_row(rig, task_id)
    assert (closed.status, closed.outcome) == ("done", "completed in HubSpot")
    updates = [e for e in await api.events("task.updated") if e["subject"] == str(task_id)]
    assert len(updates) == 1


async def test_other_task_changes_and_other_objects_change_nothing(rig: Rig, api: Harness) -> None:
    task_id, hubspot_id = await synced_task(rig)

    outcomes = await deliver(
        api,
        status_change(hubspot_id, value="IN_PROGRESS"),
        status_change(hubspot_id, type_id="0-3"),
        status_change("987654321"),
    )

    assert [outcome for outcome, _ in outcomes] == ["ignored", "ignored", "ignored"]
    assert (await task_row(rig, task_id)).status == "open"


async def test_the_poll_closes_tasks_completed_in_hubspot_once(rig: Rig) -> None:
    task_id, hubspot_id = await synced_task(rig)
    settings = rig.settings.model_copy(update={"hubspot_poll_seconds": 60.0})
    connector = HubSpotConnector.from_settings(settings)
    assert connector is not None
    rig.connectors.append(connector)
    poller = Poller(rig.db, settings, connector)
    assert await poller.poll() == 0
    rig.hubspot.complete(hubspot_id)

    assert await poller.poll() is None, "another poll within the interval waits its turn"
    await _age_cursor(rig)
    assert await Poller(rig.db, settings, connector).poll() == 1
    await _age_cursor(rig)
    assert await poller.poll() == 0

    closed = await task_row(rig, task_id)
    assert (closed.status, closed.outcome) == ("done", "completed in HubSpot")


async def _age_cursor(rig: Rig) -> None:
    """As if the interval had passed since the last poll."""
    async with rig.db.transaction() as session:
        await session.execute(
            update(CrmPollCursor).values(updated_at=utcnow() - timedelta(hours=1))
        )
