"""`/console/operations`: admins see what waits for a person and retry it; the pipeline's
backlog and lag as the database tells them."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from shared.clock import utcnow
from shared.events.types import ENGINE_CONSUMER
from shared.models import (
    CrmTaskSync,
    DeadLetter,
    EventLogEntry,
    InboxKey,
    OutboxEvent,
    WebhookDelivery,
    WebhookSubscription,
)
from tests.api.console.support import csrf_token, signed_in
from tests.support.api import Harness
from tests.support.factories import make_account, make_contract, make_task


async def _dead_letter(api: Harness) -> uuid.UUID:
    account = await make_account(api.db)
    event = {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": "/tests",
        "type": "account.updated",
        "subject": str(account.id),
        "time": "2026-12-01T10:00:00Z",
        "data": {"id": str(account.id), "name": "Acme Corp"},
    }
    async with api.db.transaction() as session:
        letter = DeadLetter(
            stream="lifecycle",
            event_id=event["id"],
            source=event["source"],
            type=event["type"],
            event=event,
            error="RuntimeError: boom\nTraceback ...",
        )
        session.add(letter)
        await session.flush()
        return letter.id


def _figure(html: str, name: str) -> str:
    found = re.search(rf'data-backlog="{name}">.*?data-field="count">(\d+)<', html, re.S)
    assert found, f"no figure {name}"
    return found[1]


@pytest.mark.parametrize("scopes", ["read", "read,write"])
async def test_operations_are_for_admins_only(api: Harness, scopes: str) -> None:
    letter = await _dead_letter(api)
    async with signed_in(api, scopes) as console:
        page = await console.get("/console/operations")
        radar = await console.get("/console/radar")
        replay = await console.post(
            f"/console/operations/dead-letters/{letter}/replay",
            data={"csrf_token": csrf_token(radar.text)},
        )

    assert page.status_code == 403
    assert replay.status_code == 403
    assert 'href="/console/operations"' not in radar.text
    async with api.db.read() as session:
        assert (await session.get(DeadLetter, letter)).replayed_at is None  # type: ignore[union-attr]


async def test_an_admin_replays_a_dead_letter_and_is_told_so(api: Harness) -> None:
    letter = await _dead_letter(api)
    async with signed_in(api, "admin") as console:
        page = await console.get("/console/operations")
        replayed = await console.post(
            f"/console/operations/dead-letters/{letter}/replay",
            data={"csrf_token": csrf_token(page.text)},
        )
        after = await console.get(replayed.headers["location"])
        again = await console.post(
            f"/console/operations/dead-letters/{letter}/replay",
            data={"csrf_token": csrf_token(page.text)},
        )

    assert f'data-id="{letter}"' in page.text
    assert replayed.status_code == 303, replayed.text
    assert f"Dead letter {letter} replayed" in after.text
    assert f'data-id="{letter}"' not in after.text
    assert again.status_code == 409
    assert "already replayed" in again.text
    async with api.db.read() as session:
        stored = await session.get(DeadLetter, letter)
        back = await session.scalar(select(OutboxEvent))
    assert stored is not None
    assert stored.replayed_at is not None
    assert back is not None
    assert (back.type, back.event_id, back.processed_at) == (
        "account.updated",
        stored.event_id,
        None,
    )


async def test_a_replay_without_the_forms_token_changes_nothing(api: Harness) -> None:
    letter = await _dead_letter(api)
    async with signed_in(api, "admin") as console:
        forged = await console.post(
            f"/console/operations/dead-letters/{letter}/replay", data={"csrf_token": "guess"}
        )

    assert forged.status_code == 403
    async with api.db.read() as session:
        assert (await session.get(DeadLetter, letter)).replayed_at is None  # type: ignore[union-attr]
        assert await session.scalar(select(OutboxEvent)) is None


async def test_an_admin_retries_a_failed_webhook_delivery(api: Harness) -> None:
    async with api.db.transaction() as session:
        subscription = WebhookSubscription(
            url="https://crm.example/hook", event_types=["task.created"], secret="whsec_x"
        )
        session.add(subscription)
        await session.flush()
        delivery = WebhookDelivery(
            subscription_id=subscription.id,
            event_id="e-1",
            event_type="task.created",
            event={"type": "task.created", "data": {}},
            status="failed",
            attempts=5,
            last_status_code=500,
            retry_until=datetime(2026, 12, 1, tzinfo=UTC),
        )
        session.add(delivery)
    async with signed_in(api, "admin") as console:
        page = await console.get("/console/operations")
        retried = await console.post(
            f"/console/operations/deliveries/{subscription.id}/{delivery.id}/redeliver",
            data={"csrf_token": csrf_token(page.text)},
        )
        after = await console.get(retried.headers["location"])

    assert f'data-id="{delivery.id}"' in page.text
    assert "HTTP 500" in page.text
    assert f"Delivery {delivery.id} is due again" in after.text
    async with api.db.read() as session:
        stored = await session.get(WebhookDelivery, delivery.id)
        assert stored is not None
        assert stored.status == "pending"
        assert stored.retry_until > utcnow()


async def test_an_admin_retries_a_failed_crm_sync(api: Harness) -> None:
    task = await make_task(api.db, await make_contract(api.db, await make_account(api.db)))
    async with api.db.transaction() as session:
        session.add(
            CrmTaskSync(
                task_id=task.id,
                crm="hubspot",
                wanted_version=1,
                status="failed",
                attempts=3,
                last_error="HubSpot answered 400: property missing",
            )
        )
    async with signed_in(api, "admin") as console:
        page = await console.get("/console/operations")
        retried = await console.post(
            f"/console/operations/crm-syncs/{task.id}/retry",
            data={"csrf_token": csrf_token(page.text)},
        )
        after = await console.get(retried.headers["location"])

    assert "HubSpot answered 400: property missing" in page.text
    assert f"The CRM syncs of task {task.id} are due again" in after.text
    assert "No failed CRM syncs." in after.text
    async with api.db.read() as session:
        stored = await session.scalar(select(CrmTaskSync).where(CrmTaskSync.task_id == task.id))
    assert stored is not None
    assert stored.status == "pending"


async def test_the_page_shows_the_outbox_backlog_and_the_worker_lag(api: Harness) -> None:
    now = utcnow()
    applied, waiting, old = (str(uuid.uuid4()) for _ in range(3))
    async with api.db.transaction() as session:
        for event_id, time in ((applied, now), (waiting, now), (old, now - timedelta(days=30))):
            session.add(
                EventLogEntry(
                    event_id=event_id,
                    type="account.updated",
                    time=time,
                    actor="test",
                    subject="s",
                    data={},
                )
            )
        session.add(InboxKey(consumer=ENGINE_CONSUMER, source="/tests", event_id=applied))
        for stream in ("notifications", "notifications", "lifecycle"):
            session.add(
                OutboxEvent(
                    stream=stream,
                    event_id=str(uuid.uuid4()),
                    source="/tests",
                    type="task.created",
                    partition_key="p",
                    event={},
                    created_at=now - timedelta(hours=3),
                )
            )
    async with signed_in(api, "admin") as console:
        page = await console.get("/console/operations")

    assert page.status_code == 200, page.text
    assert _figure(page.text, "notifications") == "2"
    assert _figure(page.text, "lifecycle") == "1"
    assert _figure(page.text, "engine") == "1"
    assert "3 h" in page.text
