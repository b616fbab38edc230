"""`emit` keeps a durable per-contract history: every lifecycle event, and only those,
lands in `event_log` with its contract and account, and outlives the outbox."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select

from shared.events.outbox import emit
from shared.events.types import (
    API_LIFECYCLE_TYPES,
    SOURCE_SCHEDULER,
    SOURCE_WORKER,
    EventType,
    Stream,
    dataschema,
)
from shared.models import Contract, EventLogEntry, OutboxEvent
from tests.support.api import Harness
from tests.support.factories import make_account, make_contract, make_task, outbox_rows

NAME, EMAIL = "Grace Hopper", "grace.hopper@customer.example"


async def _ok(response: Any) -> dict[str, Any]:
    assert response.status_code < 300, response.text
    return dict(response.json()) if response.content else {}


async def _log(api: Harness) -> list[EventLogEntry]:
    async with api.db.read() as session:
        rows = await session.scalars(select(EventLogEntry).order_by(EventLogEntry.id))
        return list(rows.all())


async def _lifecycle_changes(api: Harness) -> dict[str, Any]:
    """One API call per lifecycle event type the API emits, plus a task closed by hand
    (a `task.updated` notification). Returns the ids the events should point at."""
    client = api.client
    partner = await _ok(await client.post("/v1/partners", json={"name": "P", "tier": "gold"}))
    await _ok(await client.patch(f"/v1/partners/{partner['id']}", json={"tier": "silver"}))
    account = await _ok(
        await client.post("/v1/accounts", json={"name": "Acme", "partner_id": partner["id"]})
    )
    await _ok(await client.patch(f"/v1/accounts/{account['id']}", json={"budget_lead_days": 60}))
    body = {"account_id": account["id"], "start_date": "2026-03-15", "end_date": "2027-03-15"}
    contract = await _ok(await client.post("/v1/contracts", json=body | {"arr": "24000"}))
    other = await _ok(await client.post("/v1/contracts", json=body | {"arr": "1000"}))
    await _ok(await client.patch(f"/v1/contracts/{contract['id']}", json={"seats": 40}))
    person = await _ok(
        await client.post(
            f"/v1/accounts/{account['id']}/stakeholders",
            json={"name": NAME, "email": EMAIL, "role": "business_owner"},
        )
    )
    await _ok(await client.patch(f"/v1/stakeholders/{person['id']}", json={"role": "champion"}))
    await _ok(await client.patch(f"/v1/stakeholders/{person['id']}", json={"status": "departed"}))
    await _ok(
        await client.post(
            f"/v1/contracts/{contract['id']}/usage",
            json={"active_users": 30, "seats": 40, "as_of": "2026-05-01"},
        )
    )
    goal = await _ok(
        await client.post(
            f"/v1/contracts/{contract['id']}/goals",
            json={"name": "Faster onboarding", "target": "5 days", "status": "on_track"},
        )
    )
    await _ok(await client.patch(f"/v1/goals/{goal['id']}", json={"status": "at_risk"}))
    await _ok(
        await client.post(
            f"/v1/contracts/{contract['id']}/trials",
            json={"name": "20 more users", "started_on": "2026-06-01"},
        )
    )
    notice = f"/v1/contracts/{contract['id']}/cancellation-notice"
    await _ok(await client.post(notice, json={"received_on": "2026-12-01"}))
    await _ok(await client.delete(notice))
    await _ok(
        await client.post(
            f"/v1/contracts/{contract['id']}/renew", json={"end_date": "2028-03-15", "arr": "30000"}
        )
    )
    await _ok(await client.post(f"/v1/contracts/{other['id']}/churn", json={"reason": "price"}))
    async with api.db.read() as session:
        row = await session.get(Contract, uuid.UUID(contract["id"]))
    assert row is not None
    task = await make_task(api.db, row)
    await _ok(await client.patch(f"/v1/tasks/{task.id}", json={"status": "done"}))
    await _ok(await client.delete(f"/v1/stakeholders/{person['id']}"))
    received = await _ok(
        await client.post(
            "/v1/events",
            json={
                "specversion": "1.0",
                "id": "crm-7",
                "source": "urn:crm",
                "type": "contract.updated",
                "time": "2026-04-01T09:00:00+02:00",
                "data": {"id": contract["id"], "seats": 45},
            },
        )
    )
    assert received
    return {"partner": partner, "account": account, "contract": contract, "other": other}


async def test_every_lifecycle_event_lands_in_the_log_with_its_contract_and_account(
    api: Harness,
) -> None:
    ids = await _lifecycle_changes(api)
    outbox = await outbox_rows(api.db)
    log = await _log(api)

    lifecycle = [row for row in outbox if row.stream == Stream.LIFECYCLE]
    assert [entry.event_id for entry in log] == [row.event_id for row in lifecycle]
    assert {entry.type for entry in log} == {str(t) for t in API_LIFECYCLE_TYPES}

    account_id = uuid.UUID(ids["account"]["id"])
    contract_ids = {uuid.UUID(ids["contract"]["id"]), uuid.UUID(ids["other"]["id"])}
    for entry, row in zip(log, lifecycle, strict=True):
        event = row.event
        assert (entry.type, entry.subject, entry.actor) == (
            event["type"],
            event["subject"],
            event["actor"],
        )
        assert entry.time == datetime.fromisoformat(event["time"])
        assert entry.data == event["data"]
        family = entry.type.split(".")[0]
        if family == "partner":
            assert (entry.account_id, entry.contract_id) == (None, None), entry.type
            continue
        assert entry.account_id == account_id, entry.type
        if family == "contract":
            assert entry.contract_id == uuid.UUID(entry.subject)
            assert entry.contract_id in contract_ids
        elif family in {"usage", "goal"}:
            assert entry.contract_id == uuid.UUID(ids["contract"]["id"]), entry.type
        else:  # account and stakeholder changes concern the whole account
            assert entry.contract_id is None, entry.type

    received = log[-1]  # applied from POST /v1/events: logged at the event's own time
    assert (received.type, received.time) == (
        "contract.updated",
        datetime(2026, 4, 1, 7, 0, tzinfo=UTC),
    )


async def test_notifications_are_not_logged(api: Harness) -> None:
    await _lifecycle_changes(api)
    notifications = [row for row in await outbox_rows(api.db) if row.stream != Stream.LIFECYCLE]
    assert "task.updated" in {row.type for row in notifications}
    logged = {entry.event_id for entry in await _log(api)}
    assert not logged & {row.event_id for row in notifications}


async def test_the_log_names_no_stakeholder(api: Harness) -> None:
    """Erasure redacts the outbox and tasks; the log must have nothing to redact."""
    await _lifecycle_changes(api)
    text = json.dumps([entry.data for entry in await _log(api)])
    assert NAME not in text
    assert EMAIL not in text


async def test_worker_emits_follow_the_stream_not_the_type(api: Harness) -> None:
    """A scheduler's `checkpoint.due` is logged under the contract named in its data; the
    worker's re-emitted `contract.renewed` travels on the notifications stream and is not
    logged a second time."""
    account = await make_account(api.db)
    contract = await make_contract(api.db, account)
    time = datetime(2026, 3, 11, 0, 0, tzinfo=UTC)
    async with api.db.transaction() as session:
        due = emit(
            session,
            type=EventType.CHECKPOINT_DUE,
            source=SOURCE_SCHEDULER,
            subject=str(uuid.uuid4()),
            partition_key=str(account.id),
            data={"contract_id": str(contract.id), "kind": "kickoff", "due_date": "2026-03-18"},
            dataschema=dataschema("checkpoint"),
            actor="scheduler",
            time=time,
        )
        emit(
            session,
            type=EventType.CONTRACT_RENEWED,
            source=SOURCE_WORKER,
            subject=str(contract.id),
            partition_key=str(account.id),
            data={"id": str(contract.id)},
            dataschema=dataschema("contract"),
            actor="worker",
            time=time,
            stream=Stream.NOTIFICATIONS,
        )
    log = await _log(api)
    assert [(e.event_id, e.contract_id, e.account_id) for e in log] == [
        (due["id"], contract.id, account.id)
    ]
    assert log[0].actor == "scheduler"
    assert log[0].time == time


async def test_the_log_survives_deleting_every_outbox_row(api: Harness) -> None:
    ids = await _lifecycle_changes(api)
    before = [(entry.id, entry.event_id, entry.type) for entry in await _log(api)]
    timeline_url = f"/v1/contracts/{ids['contract']['id']}/timeline"
    timeline = (await api.client.get(timeline_url)).json()["items"]
    assert timeline

    async with api.db.transaction() as session:
        await session.execute(delete(OutboxEvent))
    assert await api.count(OutboxEvent) == 0

    assert [(entry.id, entry.event_id, entry.type) for entry in await _log(api)] == before
    after = await api.client.get(timeline_url)
    assert after.status_code == 200
    assert after.json()["items"] == timeline
