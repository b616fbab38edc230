from __future__ import annotations

from typing import Any

import pytest

from shared.ids import new_id
from shared.models import Goal, OutboxEvent
from tests.support.api import Harness
from tests.support.factories import actor_of, make_account, make_contract, outbox_rows

GOAL = {"name": "Faster month-end close", "target": "Close in 3 days by Q3", "status": "on_track"}


async def counts(api: Harness) -> tuple[int, int]:
    return await api.count(Goal), await api.count(OutboxEvent)


async def test_goal_is_created_read_updated_and_listed(api: Harness) -> None:
    account = await make_account(api.db)
    contract = await make_contract(api.db, account)
    created = await api.client.post(f"/v1/contracts/{contract.id}/goals", json=GOAL)
    assert created.status_code == 201, created.text
    goal = created.json()
    assert goal["contract_id"] == str(contract.id)
    assert goal["account_id"] == str(account.id)
    assert {k: goal[k] for k in GOAL} == GOAL

    assert (await api.client.get(f"/v1/goals/{goal['id']}")).json() == goal
    updated = await api.client.patch(f"/v1/goals/{goal['id']}", json={"status": "at_risk"})
    assert updated.status_code == 200, updated.text
    assert updated.json()["status"] == "at_risk"
    listed = (await api.client.get(f"/v1/contracts/{contract.id}/goals")).json()
    assert listed == {"items": [updated.json()], "next_cursor": None}

    rows = await outbox_rows(api.db)
    assert [row.type for row in rows] == ["goal.created", "goal.updated"]
    assert [row.event["data"] for row in rows] == [goal, updated.json()]
    actor = await actor_of(api.db, api.client)
    for row in rows:
        assert row.partition_key == str(account.id)
        assert row.stream == "lifecycle"
        assert row.event["dataschema"] == "urn:renewals:goal:1"
        assert row.event["actor"] == actor


async def test_goal_status_defaults_to_on_track(api: Harness) -> None:
    contract = await make_contract(api.db, await make_account(api.db))
    body = {"name": "Adoption", "target": "80% weekly active"}
    created = await api.client.post(f"/v1/contracts/{contract.id}/goals", json=body)
    assert created.status_code == 201
    assert created.json()["status"] == "on_track"


async def test_goals_list_only_the_contracts_own_and_pages(api: Harness) -> None:
    account = await make_account(api.db)
    contract = await make_contract(api.db, account)
    other = await make_contract(api.db, account)
    path = f"/v1/contracts/{contract.id}/goals"
    ids = [
        (await api.client.post(path, json=GOAL | {"name": f"G{i}"})).json()["id"] for i in range(3)
    ]
    await api.client.post(f"/v1/contracts/{other.id}/goals", json=GOAL)

    first = (await api.client.get(path, params={"limit": 2})).json()
    second = (
        await api.client.get(path, params={"limit": 2, "cursor": first["next_cursor"]})
    ).json()
    assert [item["id"] for item in first["items"] + second["items"]] == ids
    assert second["next_cursor"] is None


async def test_unknown_contract_or_goal_is_404_and_writes_nothing(api: Harness) -> None:
    before = await counts(api)
    created = await api.client.post(f"/v1/contracts/{new_id()}/goals", json=GOAL)
    assert created.status_code == 404
    assert created.json()["errors"][0]["field"] == "contract_id"
    assert (await api.client.get(f"/v1/contracts/{new_id()}/goals")).status_code == 404
    assert (await api.client.get(f"/v1/goals/{new_id()}")).status_code == 404
    assert (
        await api.client.patch(f"/v1/goals/{new_id()}", json={"status": "missed"})
    ).status_code == 404
    assert await counts(api) == before


@pytest.mark.parametrize(
    ("method", "body", "field"),
    [
        ("post", GOAL | {"status": "doomed"}, "status"),
        ("post", GOAL | {"target": ""}, "target"),
        ("post", {"target": "x"}, "name"),
        ("post", GOAL | {"account_id": str(new_id())}, "account_id"),
        ("patch", {"status": "doomed"}, "status"),
        ("patch", {"name": None}, "name"),
    ],
)
async def test_bad_goal_input_is_422_naming_the_field_and_writes_nothing(
    api: Harness, method: str, body: dict[str, Any], field: str
) -> None:
    contract = await make_contract(api.db, await make_account(api.db))
    goal = (await api.client.post(f"/v1/contracts/{contract.id}/goals", json=GOAL)).json()
    path = f"/v1/contracts/{contract.id}/goals" if method == "post" else f"/v1/goals/{goal['id']}"
    before = await counts(api)
    response = await api.client.request(method.upper(), path, json=body)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field
    assert await counts(api) == before
