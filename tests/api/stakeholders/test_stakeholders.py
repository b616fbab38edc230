from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from shared.events.outbox import emit
from shared.events.types import EventType
from shared.ids import new_id
from shared.models import ExternalRef, IdempotencyKey, OutboxEvent, Stakeholder, Task
from tests.support.api import Harness
from tests.support.factories import actor_of, make_account, make_contract, make_task, outbox_rows

NAME = "Dana Scully"
EMAIL = "dana.scully@customer.example"
EVENT_DATA_KEYS = {"id", "account_id", "role", "status", "external_ids"}


def person(**overrides: Any) -> dict[str, Any]:
    return {"name": NAME, "email": EMAIL, "role": "business_owner"} | overrides


async def add(api: Harness, account_id: Any, **overrides: Any) -> dict[str, Any]:
    response = await api.client.post(
        f"/v1/accounts/{account_id}/stakeholders", json=person(**overrides)
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def assert_outbox_never_names(api: Harness, *texts: str) -> None:
    for row in await outbox_rows(api.db):
        dumped = json.dumps([row.event, row.subject, row.partition_key, row.type]).lower()
        for text in texts:
            assert text.lower() not in dumped, row.event


async def counts(api: Harness) -> tuple[int, int, int]:
    return (
        await api.count(Stakeholder),
        await api.count(OutboxEvent),
        await api.count(ExternalRef),
    )


async def test_stakeholder_is_added_read_updated_and_listed(api: Harness) -> None:
    account = await make_account(api.db)
    created = await add(api, account.id, external_ids={"hubspot": "901"})
    assert created["name"] == NAME
    assert created["email"] == EMAIL
    assert created["role"] == "business_owner"
    assert created["status"] == "active"
    assert created["account_id"] == str(account.id)
    assert created["erased_at"] is None

    fetched = await api.client.get(f"/v1/stakeholders/{created['id']}")
    assert fetched.json() == created

    updated = await api.client.patch(
        f"/v1/stakeholders/{created['id']}", json={"role": "champion", "name": "Dana K. Scully"}
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["role"] == "champion"
    assert updated.json()["name"] == "Dana K. Scully"

    listed = (await api.client.get(f"/v1/accounts/{account.id}/stakeholders")).json()
    assert listed == {"items": [updated.json()], "next_cursor": None}

    rows = await outbox_rows(api.db)
    assert [row.type for row in rows] == ["stakeholder.added", "stakeholder.updated"]
    actor = await actor_of(api.db, api.client)
    for row in rows:
        assert row.partition_key == str(account.id)
        assert row.subject == created["id"]
        assert row.stream == "lifecycle"
        assert row.event["actor"] == actor
        assert row.event["dataschema"] == "urn:renewals:stakeholder:1"
        assert set(row.event["data"]) - {"previous"} == EVENT_DATA_KEYS
    assert rows[1].event["data"] == {
        "id": created["id"],
        "account_id": str(account.id),
        "role": "champion",
        "status": "active",
        "external_ids": {"hubspot": "901"},
        "previous": {"role": "business_owner", "status": "active"},
    }
    await assert_outbox_never_names(api, NAME, "Dana K. Scully", EMAIL)


async def test_patch_to_departed_emits_stakeholder_departed_once(api: Harness) -> None:
    account = await make_account(api.db)
    created = await add(api, account.id)
    path = f"/v1/stakeholders/{created['id']}"

    departed = await api.client.patch(path, json={"status": "departed"})
    assert departed.status_code == 200
    assert departed.json()["status"] == "departed"
    again = await api.client.patch(path, json={"status": "departed", "role": "other"})
    assert again.status_code == 200

    types = [e["type"] for e in await api.events("stakeholder.")]
    assert types == ["stakeholder.added", "stakeholder.departed", "stakeholder.updated"]
    departed_event = (await api.events("stakeholder.departed"))[0]
    assert departed_event["data"]["status"] == "departed"
    assert departed_event["data"]["role"] == "business_owner"


async def test_stakeholder_list_filters_by_role_and_status_and_pages(api: Harness) -> None:
    account = await make_account(api.db)
    other_account = await make_account(api.db, name="Other Corp")
    owner = await add(api, account.id)
    champion = await add(api, account.id, role="champion", email="c@customer.example")
    user = await add(api, account.id, role="user", email="u@customer.example")
    await add(api, other_account.id, email="x@other.example")
    await api.client.patch(f"/v1/stakeholders/{champion['id']}", json={"status": "departed"})
    path = f"/v1/accounts/{account.id}/stakeholders"

    async def ids(**params: Any) -> list[str]:
        response = await api.client.get(path, params=params)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert await ids() == [owner["id"], champion["id"], user["id"]]
    assert await ids(role="user") == [user["id"]]
    assert await ids(status="departed") == [champion["id"]]
    assert await ids(status="active", role="business_owner") == [owner["id"]]

    first = (await api.client.get(path, params={"limit": 2})).json()
    second = (
        await api.client.get(path, params={"limit": 2, "cursor": first["next_cursor"]})
    ).json()
    assert [i["id"] for i in first["items"] + second["items"]] == await ids()
    assert second["next_cursor"] is None


async def test_unknown_account_is_404_naming_account_id_and_writes_nothing(api: Harness) -> None:
    before = await counts(api)
    response = await api.client.post(f"/v1/accounts/{new_id()}/stakeholders", json=person())
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == "account_id"
    listed = await api.client.get(f"/v1/accounts/{new_id()}/stakeholders")
    assert listed.status_code == 404
    assert await counts(api) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (person(email="not-an-email"), "email"),
        (person(role="ceo"), "role"),
        (person(name=""), "name"),
        (person(status="active"), "status"),
        ({"email": EMAIL, "role": "user"}, "name"),
        (person(external_ids={"Bad System": "1"}), "external_ids.Bad System.[key]"),
    ],
)
async def test_bad_stakeholder_input_is_422_naming_the_field_and_writes_nothing(
    api: Harness, body: dict[str, Any], field: str
) -> None:
    account = await make_account(api.db)
    before = await counts(api)
    response = await api.client.post(f"/v1/accounts/{account.id}/stakeholders", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field
    assert await counts(api) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "retired"}, "status"),
        ({"role": "boss"}, "role"),
        ({"email": "nope"}, "email"),
        ({"name": None}, "name"),
        ({"erased_at": "2026-01-01T00:00:00Z"}, "erased_at"),
    ],
)
async def test_bad_stakeholder_patch_is_422_and_writes_nothing(
    api: Harness, body: dict[str, Any], field: str
) -> None:
    account = await make_account(api.db)
    created = await add(api, account.id)
    before = await counts(api)
    response = await api.client.patch(f"/v1/stakeholders/{created['id']}", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field
    assert await counts(api) == before
    assert (await api.client.get(f"/v1/stakeholders/{created['id']}")).json() == created


async def test_unknown_stakeholder_is_404_on_every_route(api: Harness) -> None:
    path = f"/v1/stakeholders/{new_id()}"
    assert (await api.client.get(path)).status_code == 404
    assert (await api.client.patch(path, json={"role": "user"})).status_code == 404
    assert (await api.client.delete(path)).status_code == 404
    assert await api.count(OutboxEvent) == 0


async def test_external_id_held_by_another_stakeholder_is_409_and_writes_nothing(
    api: Harness,
) -> None:
    account = await make_account(api.db)
    await add(api, account.id, external_ids={"hubspot": "1"})
    second = await add(api, account.id, email="b@customer.example")
    before = await counts(api)
    response = await api.client.post(
        f"/v1/accounts/{account.id}/stakeholders",
        json=person(email="c@customer.example", external_ids={"hubspot": "1"}),
    )
    assert response.status_code == 409
    assert response.json()["errors"][0]["field"] == "external_ids.hubspot"
    patched = await api.client.patch(
        f"/v1/stakeholders/{second['id']}", json={"external_ids": {"hubspot": "1"}}
    )
    assert patched.status_code == 409
    assert await counts(api) == before


async def test_read_only_key_cannot_add_a_stakeholder(api: Harness) -> None:
    account = await make_account(api.db)
    async with api.as_key(await api.new_key("read")) as reader:
        response = await reader.post(f"/v1/accounts/{account.id}/stakeholders", json=person())
        assert response.status_code == 403
        listed = await reader.get(f"/v1/accounts/{account.id}/stakeholders")
        assert listed.status_code == 200
    assert await api.count(Stakeholder) == 0


async def test_erasure_redacts_name_and_email_everywhere_in_the_database(api: Harness) -> None:
    account = await make_account(api.db)
    other = await make_account(api.db, name="Unrelated Ltd")
    contract = await make_contract(api.db, account)
    headers = {"Idempotency-Key": "add-dana"}
    path = f"/v1/accounts/{account.id}/stakeholders"
    created = await api.client.post(path, json=person(), headers=headers)
    assert created.status_code == 201
    stakeholder_id = created.json()["id"]
    description = f"Call {NAME} ({EMAIL.upper()}) before the Annual review. Dana's team too."
    task = await make_task(
        api.db, contract, title=f"Meet {NAME}", description=description, outcome=f"{NAME} agreed"
    )
    untouched = await make_task(api.db, await make_contract(api.db, other), description=NAME)
    async with api.db.transaction() as session:
        emit(
            session,
            type=EventType.TASK_CREATED,
            source="urn:renewals:worker",
            subject=str(task.id),
            partition_key=str(account.id),
            data={"title": task.title, "people": [{"email": EMAIL}]},
            dataschema="urn:renewals:task:1",
            actor="worker",
            time=task.created_at,
        )

    erased = await api.client.delete(f"/v1/stakeholders/{stakeholder_id}")
    assert erased.status_code == 204, erased.text
    assert erased.content == b""

    read = (await api.client.get(f"/v1/stakeholders/{stakeholder_id}")).json()
    assert (read["name"], read["email"]) == (None, None)
    assert read["erased_at"] is not None
    async with api.db.read() as session:
        redacted = await session.get(Task, task.id)
        other_task = await session.get(Task, untouched.id)
        stored = (await session.scalars(select(IdempotencyKey))).all()
    assert redacted is not None
    assert redacted.title == "Meet [erased]"
    assert redacted.description == (
        "Call [erased] ([erased]) before the Annual review. Dana's team too."
    )
    assert redacted.outcome == "[erased] agreed"
    assert other_task is not None
    assert other_task.description == NAME  # another account's texts are not this person's
    assert [
        row.response_body for row in stored if NAME.encode() in (row.response_body or b"")
    ] == []
    await assert_outbox_never_names(api, NAME, EMAIL)
    task_event = (await api.events("task.created"))[0]
    assert task_event["data"] == {"title": "Meet [erased]", "people": [{"email": "[erased]"}]}

    replay = await api.client.post(path, json=person(), headers=headers)
    assert replay.status_code == 201
    assert replay.headers["idempotent-replayed"] == "true"
    assert int(replay.headers["content-length"]) == len(replay.content)
    assert (replay.json()["name"], replay.json()["email"]) == ("[erased]", "[erased]")
    assert replay.json()["id"] == stakeholder_id

    types = [e["type"] for e in await api.events("stakeholder.")]
    assert types == ["stakeholder.added", "stakeholder.erased"]
    erased_event = (await api.events("stakeholder.erased"))[0]
    assert set(erased_event["data"]) == EVENT_DATA_KEYS
    assert erased_event["actor"] == await actor_of(api.db, api.client)


async def test_erasing_twice_is_409_and_an_erased_person_cannot_be_renamed(api: Harness) -> None:
    account = await make_account(api.db)
    created = await add(api, account.id)
    path = f"/v1/stakeholders/{created['id']}"
    assert (await api.client.delete(path)).status_code == 204
    before = await counts(api)

    again = await api.client.delete(path)
    assert again.status_code == 409
    assert again.json()["type"] == "urn:renewals:problem:conflict"
    renamed = await api.client.patch(path, json={"name": "Someone", "role": "user"})
    assert renamed.status_code == 409
    assert renamed.json()["errors"][0]["field"] == "name"
    assert await counts(api) == before

    departed = await api.client.patch(path, json={"status": "departed"})
    assert departed.status_code == 200
    assert departed.json()["name"] is None
    assert (await api.events())[-1]["type"] == "stakeholder.departed"
