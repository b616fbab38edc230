from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from shared.ids import new_id
from shared.models import OutboxEvent, Task
from tests.support.api import Harness
from tests.support.factories import (
    actor_of,
    make_account,
    make_contract,
    make_partner,
    make_task,
    outbox_rows,
)


async def test_each_task_filter_narrows_the_list(api: Harness) -> None:
    partner = await make_partner(api.db)
    north = await make_account(api.db, owner="north@vendor.example", partner_id=partner.id)
    south = await make_account(api.db, owner="south@vendor.example")
    north_contract = await make_contract(api.db, north)
    south_contract = await make_contract(api.db, south)
    kickoff = await make_task(api.db, north_contract, owner=north.owner, due_date=date(2026, 3, 18))
    outreach = await make_task(
        api.db,
        north_contract,
        kind="renewal_outreach",
        owner=north.owner,
        due_date=date(2027, 1, 15),
        status="done",
    )
    south_kickoff = await make_task(
        api.db, south_contract, owner=south.owner, due_date=date(2026, 6, 1)
    )
    everything = {str(t.id) for t in (kickoff, outreach, south_kickoff)}

    async def ids(**params: Any) -> set[str]:
        response = await api.client.get("/v1/tasks", params=params)
        assert response.status_code == 200, response.text
        return {item["id"] for item in response.json()["items"]}

    assert await ids() == everything
    cases: list[tuple[dict[str, Any], set[Task]]] = [
        ({"contract_id": north_contract.id}, {kickoff, outreach}),
        ({"account_id": south.id}, {south_kickoff}),
        ({"partner_id": partner.id}, {kickoff, outreach}),
        ({"owner": "south@vendor.example"}, {south_kickoff}),
        ({"status": "done"}, {outreach}),
        ({"kind": "renewal_outreach"}, {outreach}),
        ({"due_before": "2026-06-01"}, {kickoff}),
        ({"due_after": "2026-06-01"}, {outreach}),
        ({"contract_id": north_contract.id, "status": "open"}, {kickoff}),
    ]
    for params, expected in cases:
        found = await ids(**{k: str(v) for k, v in params.items()})
        assert found == {str(t.id) for t in expected}, params
        assert found < everything


async def test_tasks_page_with_a_cursor(api: Harness) -> None:
    contract = await make_contract(api.db, await make_account(api.db))
    ids = [str((await make_task(api.db, contract)).id) for _ in range(3)]
    first = (await api.client.get("/v1/tasks", params={"limit": 2})).json()
    second = (
        await api.client.get("/v1/tasks", params={"limit": 2, "cursor": first["next_cursor"]})
    ).json()
    assert [item["id"] for item in first["items"] + second["items"]] == ids
    assert second["next_cursor"] is None


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "pending"}, "status"),
        ({"due_before": "soon"}, "due_before"),
        ({"account_id": "42"}, "account_id"),
        ({"cursor": "!!"}, "cursor"),
    ],
)
async def test_bad_task_filters_are_422_naming_the_field(
    api: Harness, params: dict[str, str], field: str
) -> None:
    response = await api.client.get("/v1/tasks", params=params)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field


async def test_task_is_read_with_every_field(api: Harness) -> None:
    partner = await make_partner(api.db)
    contract = await make_contract(api.db, await make_account(api.db, partner_id=partner.id))
    task = await make_task(api.db, contract, source_event_id="evt-1", priority="high")
    read = (await api.client.get(f"/v1/tasks/{task.id}")).json()
    assert read["contract_id"] == str(contract.id)
    assert read["account_id"] == str(contract.account_id)
    assert read["partner_id"] == str(partner.id)
    assert read["due_date"] == "2026-03-18"
    assert read["status"] == "open"
    assert read["priority"] == "high"
    assert read["source_event_id"] == "evt-1"
    assert read["dedupe_key"] == task.dedupe_key
    assert read["closed_at"] is None
    assert (await api.client.get(f"/v1/tasks/{new_id()}")).status_code == 404


async def test_closing_an_open_task_records_the_outcome_and_notifies(api: Harness) -> None:
    contract = await make_contract(api.db, await make_account(api.db))
    task = await make_task(api.db, contract)
    response = await api.client.patch(
        f"/v1/tasks/{task.id}", json={"status": "done", "outcome": "Kick-off held, goals agreed"}
    )
    assert response.status_code == 200, response.text
    closed = response.json()
    assert closed["status"] == "done"
    assert closed["outcome"] == "Kick-off held, goals agreed"
    assert closed["closed_at"] is not None
    assert (await api.client.get(f"/v1/tasks/{task.id}")).json() == closed

    [row] = await outbox_rows(api.db)
    assert row.type == "task.updated"
    assert row.stream == "notifications"
    assert row.partition_key == str(contract.account_id)
    assert row.event["data"] == closed
    assert row.event["dataschema"] == "urn:renewals:task:1"
    assert row.event["actor"] == await actor_of(api.db, api.client)


async def test_an_outcome_keeps_its_line_feeds(api: Harness) -> None:
    task = await make_task(api.db, await make_contract(api.db, await make_account(api.db)))
    outcome = "Call held.\n- budget agreed\n- QBR in May"
    response = await api.client.patch(
        f"/v1/tasks/{task.id}", json={"status": "done", "outcome": outcome}
    )
    assert response.status_code == 200, response.text
    assert response.json()["outcome"] == outcome


async def test_a_task_can_be_dismissed_without_an_outcome(api: Harness) -> None:
    task = await make_task(api.db, await make_contract(api.db, await make_account(api.db)))
    response = await api.client.patch(f"/v1/tasks/{task.id}", json={"status": "dismissed"})
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["outcome"]) == ("dismissed", None)


@pytest.mark.parametrize("status", ["done", "dismissed", "auto_closed"])
async def test_closing_a_closed_task_is_409_and_writes_nothing(api: Harness, status: str) -> None:
    contract = await make_contract(api.db, await make_account(api.db))
    task = await make_task(api.db, contract, status=status, outcome="first outcome")
    response = await api.client.patch(
        f"/v1/tasks/{task.id}", json={"status": "done", "outcome": "second outcome"}
    )
    assert response.status_code == 409
    assert response.json()["errors"][0]["field"] == "status"
    read = (await api.client.get(f"/v1/tasks/{task.id}")).json()
    assert (read["status"], read["outcome"]) == (status, "first outcome")
    assert await api.count(OutboxEvent) == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "open"}, "status"),
        ({"status": "auto_closed"}, "status"),
        ({"outcome": "done it"}, "status"),
        ({"status": "done", "outcome": "x" * 5001}, "outcome"),
        ({"status": "done", "outcome": "Held\r\nNext: QBR"}, "outcome"),
        ({"status": "done", "outcome": "Held\u001b]8;;http://x.example\u0007"}, "outcome"),
        ({"status": "done", "due_date": "2030-01-01"}, "due_date"),
    ],
)
async def test_bad_task_update_is_422_and_writes_nothing(
    api: Harness, body: dict[str, Any], field: str
) -> None:
    task = await make_task(api.db, await make_contract(api.db, await make_account(api.db)))
    response = await api.client.patch(f"/v1/tasks/{task.id}", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field
    assert (await api.client.get(f"/v1/tasks/{task.id}")).json()["status"] == "open"
    assert await api.count(OutboxEvent) == 0


async def test_closing_an_unknown_task_is_404(api: Harness) -> None:
    response = await api.client.patch(f"/v1/tasks/{new_id()}", json={"status": "done"})
    assert response.status_code == 404
    assert await api.count(OutboxEvent) == 0
