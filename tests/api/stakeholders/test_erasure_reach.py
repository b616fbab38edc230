"""Erasure reaches every copy the database keeps: the names and e-mails a person had
before an update, and the webhook delivery log a redelivery would send again. Only an
admin key may erase."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import select

from shared.models import Stakeholder, Task, WebhookDelivery, WebhookSubscription
from tests.support.api import Harness
from tests.support.factories import make_account, make_contract, make_task

OLD_NAME, OLD_EMAIL = "Ann Lee", "ann.lee@corp.example"
NEW_NAME, NEW_EMAIL = "Ann Smith", "ann.smith@corp.example"


async def added(api: Harness, account_id: object) -> str:
    response = await api.client.post(
        f"/v1/accounts/{account_id}/stakeholders",
        json={"name": OLD_NAME, "email": OLD_EMAIL, "role": "champion"},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def test_erasure_redacts_the_names_and_emails_the_person_had_before(api: Harness) -> None:
    account = await make_account(api.db)
    contract = await make_contract(api.db, account)
    person = await added(api, account.id)
    before = await make_task(api.db, contract, description=f"Call {OLD_NAME} ({OLD_EMAIL})")
    renamed = await api.client.patch(
        f"/v1/stakeholders/{person}", json={"name": NEW_NAME, "email": NEW_EMAIL}
    )
    assert renamed.status_code == 200, renamed.text
    after = await make_task(api.db, contract, description=f"Call {NEW_NAME}")

    erased = await api.client.delete(f"/v1/stakeholders/{person}")

    assert erased.status_code == 204, erased.text
    async with api.db.read() as session:
        texts = [
            (await session.get(Task, task.id)).description  # type: ignore[union-attr]
            for task in (before, after)
        ]
        row = await session.get(Stakeholder, uuid.UUID(person))
    assert texts == ["Call [erased] ([erased])", "Call [erased]"]
    assert row is not None
    assert (row.name, row.email, row.former_identifiers) == (None, None, [])


async def test_erasure_redacts_the_webhook_delivery_log(api: Harness) -> None:
    account = await make_account(api.db)
    person = await added(api, account.id)
    now = datetime(2026, 12, 3, tzinfo=UTC)
    naming = {"type": "task.created", "data": {"title": f"Meet {OLD_NAME}", "to": OLD_EMAIL}}
    async with api.db.transaction() as session:
        subscription = WebhookSubscription(
            url="https://crm.example/hook", event_types=["task.created"], secret="whsec_x"
        )
        session.add(subscription)
        await session.flush()
        for event_id, event in (("e-1", naming), ("e-2", {"type": "task.created", "data": {}})):
            session.add(
                WebhookDelivery(
                    subscription_id=subscription.id,
                    event_id=event_id,
                    event_type="task.created",
                    event=event,
                    status="delivered",
                    attempts=1,
                    retry_until=now,
                )
            )

    erased = await api.client.delete(f"/v1/stakeholders/{person}")

    assert erased.status_code == 204, erased.text
    async with api.db.read() as session:
        events = {
            row.event_id: row.event for row in (await session.scalars(select(WebhookDelivery)))
        }
    assert events == {
        "e-1": {"type": "task.created", "data": {"title": "Meet [erased]", "to": "[erased]"}},
        "e-2": {"type": "task.created", "data": {}},
    }


async def test_only_an_admin_key_may_erase(api: Harness) -> None:
    account = await make_account(api.db)
    person = await added(api, account.id)
    async with api.as_key(await api.new_key("read,write")) as writer:
        refused = await writer.delete(f"/v1/stakeholders/{person}")

    assert refused.status_code == 403, refused.text
    read = (await api.client.get(f"/v1/stakeholders/{person}")).json()
    assert (read["name"], read["erased_at"]) == (OLD_NAME, None)
