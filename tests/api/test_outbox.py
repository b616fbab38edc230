"""Every state change leaves well-formed CloudEvents of DESIGN §4 in the outbox."""

from __future__ import annotations

import json
import uuid

from cloudevents.core.formats.json import JSONFormat

from shared.events.types import NOTIFICATION_TYPES, EventType
from shared.models import Contract
from tests.support.api import Harness
from tests.support.factories import actor_of, make_task, outbox_rows

NAME, EMAIL = "Ada Lovelace", "ada.lovelace@customer.example"


async def _every_mutation(api: Harness) -> None:
    client = api.client
    partner = (await client.post("/v1/partners", json={"name": "P", "tier": "gold"})).json()
    await client.patch(f"/v1/partners/{partner['id']}", json={"tier": "silver"})
    account = (
        await client.post(
            "/v1/accounts",
            json={"name": "Acme", "fiscal_year_start_month": 4, "partner_id": partner["id"]},
        )
    ).json()
    await client.patch(f"/v1/accounts/{account['id']}", json={"owner": "am@vendor.example"})
    body = {"account_id": account["id"], "start_date": "2026-03-15", "end_date": "2027-03-15"}
    contract = (await client.post("/v1/contracts", json=body | {"arr": "24000"})).json()
    other = (await client.post("/v1/contracts", json=body | {"arr": "1000"})).json()
    await client.patch(f"/v1/contracts/{contract['id']}", json={"seats": 40})
    person = (
        await client.post(
            f"/v1/accounts/{account['id']}/stakeholders",
            json={"name": NAME, "email": EMAIL, "role": "business_owner"},
        )
    ).json()
    await client.patch(f"/v1/stakeholders/{person['id']}", json={"role": "champion"})
    await client.patch(f"/v1/stakeholders/{person['id']}", json={"status": "departed"})
    await client.post(
        f"/v1/contracts/{contract['id']}/usage",
        json={"active_users": 30, "seats": 40, "as_of": "2026-05-01"},
    )
    goal = (
        await client.post(
            f"/v1/contracts/{contract['id']}/goals",
            json={"name": "Faster onboarding", "target": "5 days", "status": "on_track"},
        )
    ).json()
    await client.patch(f"/v1/goals/{goal['id']}", json={"status": "at_risk"})
    notice = f"/v1/contracts/{contract['id']}/cancellation-notice"
    await client.post(notice, json={"received_on": "2026-12-01"})
    await client.delete(notice)
    await client.post(
        f"/v1/contracts/{contract['id']}/renew", json={"end_date": "2028-03-15", "arr": "30000"}
    )
    await client.post(f"/v1/contracts/{other['id']}/churn", json={"reason": "price"})
    async with api.db.read() as session:
        row = await session.get(Contract, uuid.UUID(contract["id"]))
    assert row is not None
    task = await make_task(api.db, row)
    await client.patch(f"/v1/tasks/{task.id}", json={"status": "done", "outcome": "met"})
    await client.delete(f"/v1/stakeholders/{person['id']}")
    await client.post(
        "/v1/events",
        json={
            "specversion": "1.0",
            "id": "crm-1",
            "source": "urn:crm",
            "type": "account.created",
            "time": "2026-03-01T09:00:00+01:00",
            "data": {"name": "Initech"},
        },
    )


async def test_every_mutation_writes_its_cloudevents(api: Harness) -> None:
    await _every_mutation(api)
    rows = await outbox_rows(api.db)
    assert [row.type for row in rows] == [
        "partner.created",
        "partner.updated",
        "account.created",
        "account.updated",
        "contract.created",
        "contract.created",
        "contract.updated",
        "stakeholder.added",
        "stakeholder.updated",
        "stakeholder.departed",
        "usage.reported",
        "goal.created",
        "goal.updated",
        "contract.forecast_changed",
        "contract.cancellation_noticed",
        "contract.forecast_changed",
        "contract.cancellation_withdrawn",
        "contract.forecast_changed",
        "contract.renewed",
        "contract.forecast_changed",
        "contract.churned",
        "task.updated",
        "stakeholder.erased",
        "account.created",
    ]
    actor = await actor_of(api.db, api.client)
    known = {str(t) for t in EventType}
    for row in rows:
        parsed = JSONFormat().read(None, json.dumps(row.event))
        assert parsed.get_specversion() == "1.0"
        assert parsed.get_type() in known
        assert parsed.get_id() == row.event_id
        assert parsed.get_time() is not None
        assert parsed.get_subject()
        assert parsed.get_dataschema().startswith("urn:renewals:")
        assert parsed.get_extension("actor") == actor
        assert isinstance(parsed.get_data(), dict)
        expected_stream = "notifications" if row.type in NOTIFICATION_TYPES else "lifecycle"
        assert row.stream == expected_stream
        if not row.type.startswith("partner."):
            data = parsed.get_data()
            assert isinstance(data, dict)
            account_id = data["id"] if row.type.startswith("account.") else data["account_id"]
            assert row.partition_key == account_id


async def test_no_lifecycle_event_carries_a_stakeholder_name_or_email(api: Harness) -> None:
    await _every_mutation(api)
    text = json.dumps([row.event for row in await outbox_rows(api.db)])
    assert NAME not in text
    assert EMAIL not in text
    assert "Lovelace" not in text


async def test_events_received_from_clients_keep_their_time(api: Harness) -> None:
    await _every_mutation(api)
    rows = await outbox_rows(api.db)
    assert rows[-1].event["time"] == "2026-03-01T09:00:00+01:00"
