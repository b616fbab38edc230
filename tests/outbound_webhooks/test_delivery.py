"""Deliveries end to end in embedded mode: notifications on the outbox, the dispatcher's
fan-out, the sender's signed POSTs to real local endpoints, and the delivery log."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select, update
from standardwebhooks.webhooks import WebhookVerificationError

from services.outbound_webhooks.dispatcher import OutboxDispatcher
from services.outbound_webhooks.sender import Sender
from services.renewal_worker.scheduler import sweep
from services.renewal_worker.sources.embedded import LifecycleConsumer, has_pending
from shared.clock import utcnow
from shared.events.types import EventType
from shared.metrics import WEBHOOK_DELIVERIES
from shared.models import OutboxEvent, WebhookDelivery, WebhookSubscription
from tests.outbound_webhooks.conftest import delivering, running, settings_of
from tests.outbound_webhooks.helpers import deliveries, notify, settled, subscribe, task_data
from tests.outbound_webhooks.receiver import Receiver, Reply
from tests.support.api import Harness

Endpoints = Callable[[], Awaitable[Receiver]]


def counted(outcome: str) -> float:
    value: float = WEBHOOK_DELIVERIES.labels(outcome=outcome)._value.get()
    return value


async def test_each_answer_leads_to_its_outcome(hooks: Harness, endpoints: Endpoints) -> None:
    """200 delivered; 500 and 502 retried with one webhook-id; 429 waits for Retry-After;
    400 fails at once; 410 disables the subscription."""
    ok, flaky, throttled, bad, gone = [await endpoints() for _ in range(5)]
    flaky.answer(Reply(500, body=b"upstream down"), Reply(502))
    throttled.answer(Reply(429, headers={"Retry-After": "1"}))
    bad.answer(Reply(400, body=b"unknown field 'x'"))
    gone.answer(Reply(410))
    subs = [await subscribe(hooks, e.url) for e in (ok, flaky, throttled, bad, gone)]
    event = await notify(hooks.db, EventType.TASK_CREATED, task_data())
    before = {o: counted(o) for o in ("delivered", "retried", "failed", "disabled")}
    async with delivering(hooks):
        logs = [(await settled(hooks, sub["id"]))[0] for sub in subs]
    after = {o: counted(o) - before[o] for o in before}
    assert after == {"delivered": 3, "retried": 3, "failed": 1, "disabled": 1}
    by_endpoint = dict(zip(("ok", "flaky", "throttled", "bad", "gone"), logs, strict=True))

    [request] = ok.received
    assert request.verify(subs[0]["secret"]) == event
    assert request.headers["content-type"] == "application/json"
    logged = by_endpoint["ok"]
    assert logged["id"] == request.webhook_id
    assert (logged["event_id"], logged["event_type"]) == (event["id"], "task.created")
    assert (logged["status"], logged["attempts"], logged["last_status_code"]) == (
        "delivered",
        1,
        200,
    )
    assert logged["delivered_at"] is not None

    assert len(flaky.received) == 3
    assert {r.webhook_id for r in flaky.received} == {by_endpoint["flaky"]["id"]}
    for attempt in flaky.received:
        attempt.verify(subs[1]["secret"])
    assert (by_endpoint["flaky"]["status"], by_endpoint["flaky"]["attempts"]) == ("delivered", 3)

    first, second = throttled.received
    assert second.at - first.at >= 1.0
    assert first.webhook_id == second.webhook_id
    assert by_endpoint["throttled"]["status"] == "delivered"

    assert len(bad.received) == 1
    assert by_endpoint["bad"]["status"] == "failed"
    assert by_endpoint["bad"]["last_error"] == "HTTP 400: unknown field 'x'"
    assert by_endpoint["bad"]["next_attempt_at"] is None

    assert len(gone.received) == 1
    assert by_endpoint["gone"]["status"] == "failed"
    read = (await hooks.client.get(f"/v1/webhook-subscriptions/{subs[4]['id']}")).json()
    assert read["enabled"] is False
    assert "410" in read["disabled_reason"]
    path = f"/v1/webhook-subscriptions/{subs[4]['id']}/deliveries/{by_endpoint['gone']['id']}"
    assert (await hooks.client.post(path + "/redeliver")).status_code == 409
    await notify(hooks.db)
    assert await OutboxDispatcher(hooks.db, hooks.settings).step() == 1
    assert len(await deliveries(hooks, subs[4]["id"])) == 1, "disabled: nothing new"
    assert len(await deliveries(hooks, subs[0]["id"])) == 2

    async with hooks.db.transaction() as session:  # a month later
        await session.execute(
            update(WebhookDelivery).values(updated_at=utcnow() - timedelta(days=31))
        )
    assert await Sender(hooks.db, hooks.settings).prune_if_due() == 5, "finished ones only"
    assert [d["status"] for d in await deliveries(hooks, subs[0]["id"])] == ["pending"]

    async with hooks.db.read() as session:
        pending = await session.scalar(
            select(OutboxEvent.id).where(
                OutboxEvent.stream == "notifications", OutboxEvent.processed_at.is_(None)
            )
        )
    assert pending is None, "the dispatcher marks notification rows processed"


async def test_subscriptions_get_only_their_event_types_and_partner(
    hooks: Harness, receiver: Receiver
) -> None:
    partner = (await hooks.client.post("/v1/partners", json={"name": "Nordic"})).json()
    other = (await hooks.client.post("/v1/partners", json={"name": "Baltic"})).json()
    account_body = {"name": "Globex", "partner_id": partner["id"]}
    account = (await hooks.client.post("/v1/accounts", json=account_body)).json()
    contract_body = {
        "account_id": account["id"],
        "start_date": "2026-01-01",
        "end_date": "2027-01-01",
        "arr": "1000",
    }
    contract = (await hooks.client.post("/v1/contracts", json=contract_body)).json()
    everything = await subscribe(hooks, receiver.url)
    nordic = await subscribe(hooks, receiver.url, partner_id=partner["id"])
    health_only = await subscribe(hooks, receiver.url, event_types=["contract.health_changed"])
    await subscribe(hooks, receiver.url, partner_id=other["id"])
    nordic_task = await notify(hooks.db, EventType.TASK_CREATED, task_data(partner["id"]))
    direct_task = await notify(hooks.db, EventType.TASK_UPDATED, task_data(None))
    health = await notify(
        hooks.db,
        EventType.CONTRACT_HEALTH_CHANGED,
        {"contract_id": contract["id"], "account_id": account["id"], "old": {}, "new": {}},
        subject=contract["id"],
    )
    async with delivering(hooks):
        await receiver.wait_for(6)
        await asyncio.sleep(0.2)  # anything extra would arrive now
    got = {
        (sub["id"], item["event_id"])
        for sub in (everything, nordic, health_only)
        for item in await deliveries(hooks, sub["id"])
    }
    assert got == {
        (everything["id"], nordic_task["id"]),
        (everything["id"], direct_task["id"]),
        (everything["id"], health["id"]),
        (nordic["id"], nordic_task["id"]),
        (nordic["id"], health["id"]),  # the contract's partner, looked up
        (health_only["id"], health["id"]),
    }
    assert len(receiver.received) == 6


async def test_a_worker_restart_mid_retry_loses_no_delivery(
    hooks: Harness, endpoints: Endpoints
) -> None:
    """One delivery waits for its retry, another is mid-request when the sender dies;
    a new sender delivers both, each with its own webhook-id throughout."""
    retrying, hanging = await endpoints(), await endpoints()
    retrying.answer(Reply(500))
    hanging.answer(Reply(200, delay=1.2))
    subs = [await subscribe(hooks, e.url) for e in (retrying, hanging)]
    await notify(hooks.db)
    # a claim holds 0.8 s; the retry comes 0.3-0.6 s after the 500
    settings = settings_of(hooks, webhooks_timeout_seconds=0.4, webhooks_retry_initial_seconds=0.6)
    assert await OutboxDispatcher(hooks.db, settings).step() == 1
    killed = asyncio.create_task(Sender(hooks.db, settings).run(asyncio.Event()))
    await retrying.wait_for(1)
    await hanging.wait_for(1)
    while (await deliveries(hooks, subs[0]["id"]))[0]["last_status_code"] != 500:
        await asyncio.sleep(0.01)
    killed.cancel()  # dies: the hanging request is never recorded
    await asyncio.gather(killed, return_exceptions=True)
    async with running(Sender(hooks.db, settings).run):
        logs = [(await settled(hooks, sub["id"]))[0] for sub in subs]
        await asyncio.sleep(0.3)
    for endpoint, logged in zip((retrying, hanging), logs, strict=True):
        assert [r.webhook_id for r in endpoint.received] == [logged["id"]] * 2
        assert (logged["status"], logged["attempts"]) == ("delivered", 2)
    first, second = hanging.received
    assert second.at - first.at >= 0.5, "the successor waited for the claim to expire"


async def test_senders_side_by_side_deliver_each_once(hooks: Harness, receiver: Receiver) -> None:
    subscription = await subscribe(hooks, receiver.url)
    for _ in range(12):
        await notify(hooks.db)
    settings = settings_of(hooks, webhooks_concurrency=2)
    assert await OutboxDispatcher(hooks.db, settings).step() == 12
    senders = [Sender(hooks.db, settings) for _ in range(3)]
    async with running(*(sender.run for sender in senders)):
        await settled(hooks, subscription["id"], count=12)
        await asyncio.sleep(0.2)
    ids = [r.webhook_id for r in receiver.received]
    assert len(ids) == len(set(ids)) == 12


async def test_private_addresses_are_refused_at_delivery_without_naming_them(
    hooks: Harness, receiver: Receiver
) -> None:
    by_name = receiver.url.replace("127.0.0.1", "localhost")
    subscription = await subscribe(hooks, by_name)  # allowed when it was created
    await notify(hooks.db)
    async with delivering(hooks, webhooks_allow_private=False):
        [logged] = await settled(hooks, subscription["id"])
    assert receiver.received == []
    assert logged["status"] == "failed"
    assert logged["last_status_code"] is None
    assert "non-public address" in logged["last_error"]
    assert "127.0.0.1" not in logged["last_error"]
    assert "::1" not in logged["last_error"]


async def test_ports_other_than_80_and_443_are_refused_at_delivery(hooks: Harness) -> None:
    subscription = await subscribe(hooks, "https://93.184.216.34:8443/hooks")
    await notify(hooks.db)
    async with delivering(hooks, webhooks_allow_private=False):
        [logged] = await settled(hooks, subscription["id"])
    assert (logged["status"], logged["last_status_code"]) == ("failed", None)
    assert "only ports 80 and 443" in logged["last_error"]


async def test_redelivery_keeps_the_webhook_id_and_a_rotation_signs_with_both_secrets(
    hooks: Harness, receiver: Receiver
) -> None:
    subscription = await subscribe(hooks, receiver.url)
    other = await subscribe(hooks, "http://127.0.0.1:9/elsewhere", event_types=["task.updated"])
    path = f"/v1/webhook-subscriptions/{subscription['id']}"
    await notify(hooks.db)
    async with delivering(hooks):
        [logged] = await settled(hooks, subscription["id"])
        redeliver = f"{path}/deliveries/{logged['id']}/redeliver"
        wrong = f"/v1/webhook-subscriptions/{other['id']}/deliveries/{logged['id']}/redeliver"
        assert (await hooks.client.post(wrong)).status_code == 404

        rotated = (await hooks.client.post(path + "/rotate-secret")).json()
        old, new = subscription["secret"], rotated["secret"]
        assert new.startswith("whsec_")
        assert new != old
        left = datetime.fromisoformat(rotated["previous_secret_expires_at"]) - utcnow()
        assert timedelta(hours=23, minutes=59) < left <= timedelta(hours=24)
        assert "secret" not in (await hooks.client.get(path)).json()

        response = await hooks.client.post(redeliver)
        assert response.status_code == 202, response.text
        assert response.json()["status"] == "pending"
        _, again = await receiver.wait_for(2)
        assert again.webhook_id == logged["id"]
        again.verify(old)
        again.verify(new)

        async with hooks.db.transaction() as session:  # a day later
            await session.execute(
                update(WebhookSubscription).values(previous_secret_expires_at=utcnow())
            )
        await settled(hooks, subscription["id"])
        assert (await hooks.client.post(redeliver)).status_code == 202
        _, _, later = await receiver.wait_for(3)
    later.verify(new)
    with pytest.raises(WebhookVerificationError):
        later.verify(old)
    assert len(later.headers["webhook-signature"].split(" ")) == 1
    [final] = await settled(hooks, subscription["id"])
    assert (final["status"], final["attempts"]) == ("delivered", 3)


async def test_a_task_the_engine_opens_reaches_the_partners_crm(
    hooks: Harness, receiver: Receiver
) -> None:
    partner = (await hooks.client.post("/v1/partners", json={"name": "Nordic"})).json()
    crm = await subscribe(hooks, receiver.url, partner_id=partner["id"])
    account_body = {"name": "Globex", "partner_id": partner["id"], "owner": "li@vendor.example"}
    account = (await hooks.client.post("/v1/accounts", json=account_body)).json()
    start = date.today() + timedelta(days=1)
    contract = await hooks.client.post(
        "/v1/contracts",
        json={
            "account_id": account["id"],
            "start_date": start.isoformat(),
            "end_date": start.replace(year=start.year + 1).isoformat(),
            "arr": "48000",
        },
    )
    assert contract.status_code == 201, contract.text
    engine = LifecycleConsumer(hooks.db, hooks.settings)
    while await has_pending(hooks.db):  # contract.created: the plan
        await engine.step()
    await sweep(hooks.db, date.today(), time=utcnow())  # today's checkpoints open
    while await has_pending(hooks.db):
        await engine.step()
    await engine.release()
    tasks = (await hooks.client.get("/v1/tasks", params={"partner_id": partner["id"]})).json()
    assert tasks["items"], "the sweep opened tasks"
    async with delivering(hooks):
        await receiver.wait_for(len(tasks["items"]))
        await settled(hooks, crm["id"], count=len(tasks["items"]))
    events = [request.verify(crm["secret"]) for request in receiver.received]
    assert {e["data"]["id"] for e in events} == {t["id"] for t in tasks["items"]}
    for event in events:
        assert event["type"] == "task.created"
        assert event["data"]["contract_id"] == contract.json()["id"]
        assert event["data"]["partner_id"] == partner["id"]


async def test_a_forecast_override_reaches_the_forecast_subscription_of_its_partner(
    hooks: Harness, receiver: Receiver
) -> None:
    partner = (await hooks.client.post("/v1/partners", json={"name": "Nordic"})).json()
    other = (await hooks.client.post("/v1/partners", json={"name": "Baltic"})).json()
    account_body = {"name": "Globex", "partner_id": partner["id"]}
    account = (await hooks.client.post("/v1/accounts", json=account_body)).json()
    contract_body = {
        "account_id": account["id"],
        "start_date": "2026-01-01",
        "end_date": "2027-01-01",
        "arr": "1000",
    }
    contract = (await hooks.client.post("/v1/contracts", json=contract_body)).json()
    forecast_types = ["contract.forecast_changed"]
    nordic = await subscribe(
        hooks, receiver.url, event_types=forecast_types, partner_id=partner["id"]
    )
    baltic = await subscribe(
        hooks, receiver.url, event_types=forecast_types, partner_id=other["id"]
    )
    tasks_only = await subscribe(hooks, receiver.url, event_types=["task.updated"])

    put = await hooks.client.put(
        f"/v1/contracts/{contract['id']}/forecast", json={"category": "commit"}
    )
    assert put.status_code == 200, put.text
    async with delivering(hooks):
        received = await receiver.wait_for(1)
        await asyncio.sleep(0.2)  # anything extra would arrive now

    assert len(receiver.received) == 1
    assert [item["event_type"] for item in await deliveries(hooks, nordic["id"])] == forecast_types
    assert await deliveries(hooks, baltic["id"]) == []
    assert await deliveries(hooks, tasks_only["id"]) == []
    event = json.loads(received[0].body)
    assert (event["type"], event["data"]["new"]["category"]) == (forecast_types[0], "commit")
