from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from shared.clock import today
from shared.ids import new_id
from shared.models import OutboxEvent, UsageReport
from tests.support.api import Harness
from tests.support.factories import actor_of, make_account, make_contract, outbox_rows

REPORT = {"active_users": 18, "seats": 40, "as_of": "2026-05-01"}


async def counts(api: Harness) -> tuple[int, int]:
    return await api.count(UsageReport), await api.count(OutboxEvent)


async def test_usage_report_is_recorded_read_and_listed(api: Harness) -> None:
    account = await make_account(api.db)
    contract = await make_contract(api.db, account)
    created = await api.client.post(f"/v1/contracts/{contract.id}/usage", json=REPORT)
    assert created.status_code == 201, created.text
    report = created.json()
    assert {k: report[k] for k in REPORT} == REPORT
    assert report["contract_id"] == str(contract.id)
    assert report["account_id"] == str(account.id)

    assert (await api.client.get(f"/v1/usage/{report['id']}")).json() == report
    listed = (await api.client.get(f"/v1/contracts/{contract.id}/usage")).json()
    assert listed == {"items": [report], "next_cursor": None}

    [row] = await outbox_rows(api.db)
    assert row.type == "usage.reported"
    assert row.event["data"] == report
    assert row.partition_key == str(account.id)
    assert row.subject == report["id"]
    assert row.event["dataschema"] == "urn:renewals:usage:1"
    assert row.event["actor"] == await actor_of(api.db, api.client)


async def test_usage_is_listed_in_the_order_received_not_by_as_of(api: Harness) -> None:
    contract = await make_contract(api.db, await make_account(api.db))
    path = f"/v1/contracts/{contract.id}/usage"
    ids = [
        (await api.client.post(path, json=REPORT | {"as_of": as_of})).json()["id"]
        for as_of in ("2026-06-01", "2026-04-01", "2026-05-01")
    ]
    first = (await api.client.get(path, params={"limit": 2})).json()
    second = (
        await api.client.get(path, params={"limit": 2, "cursor": first["next_cursor"]})
    ).json()
    assert [item["id"] for item in first["items"] + second["items"]] == ids
    assert second["next_cursor"] is None


async def test_usage_reports_are_immutable(api: Harness) -> None:
    contract = await make_contract(api.db, await make_account(api.db))
    report = (await api.client.post(f"/v1/contracts/{contract.id}/usage", json=REPORT)).json()
    response = await api.client.patch(f"/v1/usage/{report['id']}", json={"seats": 50})
    assert response.status_code == 405
    assert (await api.client.delete(f"/v1/usage/{report['id']}")).status_code == 405


async def test_unknown_contract_or_report_is_404_and_writes_nothing(api: Harness) -> None:
    before = await counts(api)
    response = await api.client.post(f"/v1/contracts/{new_id()}/usage", json=REPORT)
    assert response.status_code == 404
    assert response.json()["errors"][0]["field"] == "contract_id"
    assert (await api.client.get(f"/v1/contracts/{new_id()}/usage")).status_code == 404
    assert (await api.client.get(f"/v1/usage/{new_id()}")).status_code == 404
    assert await counts(api) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (REPORT | {"seats": -1}, "seats"),
        (REPORT | {"active_users": -5}, "active_users"),
        (REPORT | {"seats": 2**31}, "seats"),
        (REPORT | {"as_of": "yesterday"}, "as_of"),
        (REPORT | {"as_of": (today() + timedelta(days=30)).isoformat()}, "as_of"),
        ({"active_users": 1, "seats": 2}, "as_of"),
        (REPORT | {"contract_id": str(new_id())}, "contract_id"),
    ],
)
async def test_bad_usage_input_is_422_naming_the_field_and_writes_nothing(
    api: Harness, body: dict[str, Any], field: str
) -> None:
    contract = await make_contract(api.db, await make_account(api.db))
    before = await counts(api)
    response = await api.client.post(f"/v1/contracts/{contract.id}/usage", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field
    assert await counts(api) == before
