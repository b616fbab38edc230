from __future__ import annotations

import uuid

import pytest

from shared.models import Account, ExternalRef, OutboxEvent
from tests.api.contracts.factories import (
    admin_key_id,
    days,
    error_fields,
    make_account,
    make_contract,
    make_partner,
    outbox_rows,
)
from tests.support.api import Harness


async def test_account_is_created_with_defaults_and_read_back(api: Harness) -> None:
    created = await api.client.post("/v1/accounts", json={"name": "Acme"})
    assert created.status_code == 201, created.text
    account = created.json()
    assert account["fiscal_year_start_month"] is None
    assert account["budget_lead_days"] == 90
    assert account["owner"] is None
    assert account["partner_id"] is None
    assert account["external_ids"] == {}
    assert account["segment"] == "self_serve"
    assert account["arr"] == "0.00"

    fetched = await api.client.get(f"/v1/accounts/{account['id']}")
    assert fetched.status_code == 200
    assert fetched.json() == account


async def test_account_update_changes_only_the_fields_sent(api: Harness) -> None:
    partner = await make_partner(api)
    account = await make_account(
        api,
        fiscal_year_start_month=4,
        budget_lead_days=120,
        owner="am@example.com",
        partner_id=partner["id"],
        external_ids={"hubspot": "1"},
    )

    response = await api.client.patch(
        f"/v1/accounts/{account['id']}", json={"owner": None, "budget_lead_days": 0}
    )
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["owner"] is None
    assert updated["budget_lead_days"] == 0
    assert updated["fiscal_year_start_month"] == 4
    assert updated["partner_id"] == partner["id"]
    assert updated["external_ids"] == {"hubspot": "1"}

    cleared = await api.client.patch(f"/v1/accounts/{account['id']}", json={"partner_id": None})
    assert cleared.json()["partner_id"] is None

    unknown = await api.client.patch(
        f"/v1/accounts/{account['id']}", json={"fiscal_year_start_month": None}
    )
    assert unknown.status_code == 200, unknown.text
    assert unknown.json()["fiscal_year_start_month"] is None


async def test_account_events_carry_the_read_as_data(api: Harness) -> None:
    account = await make_account(api, owner="am@example.com")
    updated = (await api.client.patch(f"/v1/accounts/{account['id']}", json={"name": "B"})).json()

    rows = await outbox_rows(api)
    assert [row.type for row in rows] == ["account.created", "account.updated"]
    actor = await admin_key_id(api)
    for row, snapshot in zip(rows, [account, updated], strict=True):
        assert row.partition_key == account["id"]
        assert row.subject == account["id"]
        assert row.event["subject"] == account["id"]
        assert row.event["actor"] == actor
        assert row.event["dataschema"] == "urn:renewals:account:1"
        assert row.event["data"] == snapshot


async def test_account_arr_and_segment_count_only_contracts_active_today(api: Harness) -> None:
    account = await make_account(api)
    aid = account["id"]
    await make_contract(api, aid, start_date=days(-10), end_date=days(355), arr="90000")
    await make_contract(api, aid, start_date=days(-400), end_date=days(-35), arr="1000")  # lapsed
    await make_contract(api, aid, start_date=days(10), end_date=days(375), arr="5000")  # future
    churned = await make_contract(api, aid, start_date=days(-10), end_date=days(355), arr="7000")
    await api.client.post(
        f"/v1/contracts/{churned['id']}/churn", json={"reason": "price", "churned_on": days(-1)}
    )
    await make_contract(  # past R + 30 days but auto-renewing: still active
        api, aid, start_date=days(-400), end_date=days(-35), arr="10000.50", auto_renew=True
    )
    await make_contract(  # inside the 30-day grace after R: still active
        api, aid, start_date=days(-380), end_date=days(-15), arr="0.25"
    )

    read = (await api.client.get(f"/v1/accounts/{aid}")).json()
    assert read["arr"] == "100000.75"
    assert read["segment"] == "enterprise"
    listed = (await api.client.get("/v1/accounts")).json()["items"]
    assert [(item["arr"], item["segment"]) for item in listed] == [("100000.75", "enterprise")]


async def test_account_list_filters_by_owner_and_partner(api: Harness) -> None:
    partner = await make_partner(api)
    mine = await make_account(api, owner="me@example.com", partner_id=partner["id"])
    await make_account(api, owner="you@example.com")
    await make_account(api)

    by_owner = await api.client.get("/v1/accounts", params={"owner": "me@example.com"})
    assert [a["id"] for a in by_owner.json()["items"]] == [mine["id"]]
    by_partner = await api.client.get("/v1/accounts", params={"partner_id": partner["id"]})
    assert [a["id"] for a in by_partner.json()["items"]] == [mine["id"]]


async def test_account_list_pages_with_a_cursor(api: Harness) -> None:
    ids = [(await make_account(api, name=f"A{i}"))["id"] for i in range(5)]
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await api.client.get("/v1/accounts", params=params)).json()
        assert len(page["items"]) <= 2
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "A", "fiscal_year_start_month": 13}, "fiscal_year_start_month"),
        ({"name": "A", "fiscal_year_start_month": 0}, "fiscal_year_start_month"),
        ({"name": "A", "budget_lead_days": 731}, "budget_lead_days"),
        ({"name": "A", "budget_lead_days": -1}, "budget_lead_days"),
        ({"name": "A", "owner": "not-an-email"}, "owner"),
        ({"name": "A", "segment": "enterprise"}, "segment"),
        ({"name": "A", "arr": "100"}, "arr"),
        ({"name": "A", "external_ids": {"Bad System": "1"}}, "external_ids.Bad System.[key]"),
    ],
)
async def test_account_creation_rejects_bad_input_naming_the_field(
    api: Harness, body: dict[str, object], field: str
) -> None:
    response = await api.client.post("/v1/accounts", json=body)
    assert response.status_code == 422, response.text
    assert field in error_fields(response)
    assert await api.count(Account) == 0
    assert await api.count(OutboxEvent) == 0


async def test_account_with_unknown_partner_is_404_naming_partner_id(api: Harness) -> None:
    response = await api.client.post(
        "/v1/accounts", json={"name": "A", "partner_id": str(uuid.uuid4())}
    )
    assert response.status_code == 404
    assert error_fields(response) == ["partner_id"]

    account = await make_account(api)
    patched = await api.client.patch(
        f"/v1/accounts/{account['id']}", json={"partner_id": str(uuid.uuid4())}
    )
    assert patched.status_code == 404
    assert error_fields(patched) == ["partner_id"]


async def test_account_update_rejects_null_name_and_derived_fields(api: Harness) -> None:
    account = await make_account(api)
    for body, field in [({"name": None}, "name"), ({"segment": "growth"}, "segment")]:
        response = await api.client.patch(f"/v1/accounts/{account['id']}", json=body)
        assert response.status_code == 422
        assert error_fields(response) == [field]
    assert await api.count(OutboxEvent) == 1


async def test_unknown_account_is_404(api: Harness) -> None:
    missing = uuid.uuid4()
    assert (await api.client.get(f"/v1/accounts/{missing}")).status_code == 404
    response = await api.client.patch(f"/v1/accounts/{missing}", json={"name": "X"})
    assert response.status_code == 404


async def test_duplicate_account_external_id_is_409_and_writes_nothing(api: Harness) -> None:
    first = await make_account(api, external_ids={"hubspot": "42"})
    other = await make_account(api, name="Other")
    before = [await api.count(model) for model in (Account, ExternalRef, OutboxEvent)]

    created = await api.client.post(
        "/v1/accounts", json={"name": "Dup", "external_ids": {"hubspot": "42"}}
    )
    assert created.status_code == 409
    assert error_fields(created) == ["external_ids.hubspot"]
    patched = await api.client.patch(
        f"/v1/accounts/{other['id']}", json={"external_ids": {"hubspot": "42"}}
    )
    assert patched.status_code == 409

    assert [await api.count(model) for model in (Account, ExternalRef, OutboxEvent)] == before
    assert (await api.client.get(f"/v1/accounts/{other['id']}")).json()["external_ids"] == {}
    kept = await api.client.patch(
        f"/v1/accounts/{first['id']}", json={"external_ids": {"hubspot": "42"}}
    )
    assert kept.status_code == 200
