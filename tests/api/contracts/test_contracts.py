from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import update

from shared.models import Contract, ContractTerm, ExternalRef, OutboxEvent
from tests.api.contracts.factories import (
    contract_body,
    days,
    error_fields,
    make_account,
    make_contract,
    make_partner,
)
from tests.support.api import Harness

WRITES = (Contract, ContractTerm, ExternalRef, OutboxEvent)


async def counts(api: Harness) -> list[int]:
    return [await api.count(model) for model in WRITES]


async def test_contract_is_created_with_term_one_and_derived_fields(api: Harness) -> None:
    account = await make_account(api)
    response = await api.client.post(
        "/v1/contracts",
        json=contract_body(
            account["id"],
            start_date=days(-10),
            end_date=days(355),
            arr="12000.50",
            seats=25,
            notice_period_days=30,
            external_ids={"hubspot": "deal-1"},
        ),
    )
    assert response.status_code == 201, response.text
    contract = response.json()
    assert contract["account_id"] == account["id"]
    assert contract["partner_id"] is None
    assert contract["channel"] == "direct"
    assert contract["arr"] == "12000.50"
    assert contract["seats"] == 25
    assert contract["auto_renew"] is False
    assert contract["status"] == "active"
    assert contract["stage"] == "implementation"
    assert contract["term"] == 1
    assert contract["terms"] == [
        {"number": 1, "start": days(-10), "end": days(355), "arr": "12000.50"}
    ]
    assert contract["health"] == {"score": 100, "band": "green", "signals": []}
    assert contract["cancellation_notice"] is None
    assert contract["churned_on"] is None
    assert contract["external_ids"] == {"hubspot": "deal-1"}

    fetched = await api.client.get(f"/v1/contracts/{contract['id']}")
    assert fetched.status_code == 200
    assert fetched.json() == contract


@pytest.mark.parametrize(
    ("fields", "stage"),
    [
        (
            {
                "start_date": days(20),
                "end_date": days(385),
                "pilot_start": days(-10),
                "pilot_end": days(19),
            },
            "pilot",
        ),
        ({"start_date": days(-100), "end_date": days(265)}, "adoption"),
        ({"start_date": days(-300), "end_date": days(30)}, "renewal"),
        ({"start_date": days(-400), "end_date": days(-31)}, "lapsed"),
    ],
)
async def test_contract_stage_is_derived_from_today(
    api: Harness, fields: dict[str, Any], stage: str
) -> None:
    account = await make_account(api)
    contract = await make_contract(api, account["id"], **fields)
    assert contract["stage"] == stage


async def test_contract_partner_defaults_to_the_accounts_unless_given_or_null(
    api: Harness,
) -> None:
    account_partner = await make_partner(api, "Account's")
    other = await make_partner(api, "Other")
    account = await make_account(api, partner_id=account_partner["id"])

    omitted = await make_contract(api, account["id"])
    assert (omitted["partner_id"], omitted["channel"]) == (account_partner["id"], "partner")
    direct = await make_contract(api, account["id"], partner_id=None)
    assert (direct["partner_id"], direct["channel"]) == (None, "direct")
    given = await make_contract(api, account["id"], partner_id=other["id"])
    assert (given["partner_id"], given["channel"]) == (other["id"], "partner")

    before = await counts(api)
    unknown = await api.client.post(
        "/v1/contracts", json=contract_body(account["id"], partner_id=str(uuid.uuid4()))
    )
    assert unknown.status_code == 404
    assert error_fields(unknown) == ["partner_id"]
    assert await counts(api) == before


async def test_contract_for_unknown_account_is_404_naming_account_id(api: Harness) -> None:
    response = await api.client.post("/v1/contracts", json=contract_body(str(uuid.uuid4())))
    assert response.status_code == 404
    assert error_fields(response) == ["account_id"]
    assert await counts(api) == [0, 0, 0, 0]


@pytest.mark.parametrize("arr", ["12000.50", 12000.5, "12000.5"])
async def test_contract_arr_is_accepted_as_string_or_number_and_returned_as_string(
    api: Harness, arr: Any
) -> None:
    account = await make_account(api)
    contract = await make_contract(api, account["id"], arr=arr)
    assert contract["arr"] == "12000.50"
    assert contract["terms"][0]["arr"] == "12000.50"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"arr": "-1"}, "arr"),
        ({"arr": -0.01}, "arr"),
        ({"arr": "12000.505"}, "arr"),
        ({"arr": "abc"}, "arr"),
        ({"arr": "NaN"}, "arr"),
        ({"arr": "1e30"}, "arr"),
        ({"arr": "1e3"}, "arr"),
        ({"arr": " 100"}, "arr"),
        ({"arr": ""}, "arr"),
        ({"start_date": "1899-12-31"}, "start_date"),
        ({"end_date": "2026-03-15"}, "end_date"),
        ({"end_date": "2026-03-01"}, "end_date"),
        ({"pilot_start": "2026-01-01"}, "pilot_end"),
        ({"pilot_end": "2026-03-01"}, "pilot_end"),
        ({"pilot_start": "2026-03-01", "pilot_end": "2026-02-01"}, "pilot_end"),
        ({"trial_end": "2027-03-15"}, "trial_end"),
        ({"seats": -1}, "seats"),
        ({"notice_period_days": -1}, "notice_period_days"),
        ({"start_date": "9999-12-31", "end_date": "9999-12-31"}, "start_date"),
        ({"stage": "renewal"}, "stage"),
        ({"channel": "direct"}, "channel"),
        ({"term": 2}, "term"),
        ({"terms": []}, "terms"),
        ({"segment": "enterprise"}, "segment"),
        ({"health": {"score": 1}}, "health"),
        ({"status": "churned"}, "status"),
    ],
)
async def test_contract_creation_rejects_bad_input_naming_the_field(
    api: Harness, fields: dict[str, Any], field: str
) -> None:
    account = await make_account(api)
    before = await counts(api)
    response = await api.client.post("/v1/contracts", json=contract_body(account["id"], **fields))
    assert response.status_code == 422, response.text
    assert field in error_fields(response)
    assert await counts(api) == before


async def test_trial_may_end_before_the_contract_starts(api: Harness) -> None:
    account = await make_account(api)
    contract = await make_contract(api, account["id"], trial_end="2026-03-01")
    assert contract["trial_end"] == "2026-03-01"


async def test_contract_update_changes_the_current_term(api: Harness) -> None:
    account = await make_account(api)
    contract = await make_contract(
        api, account["id"], pilot_start="2026-01-01", pilot_end="2026-03-01"
    )
    response = await api.client.patch(
        f"/v1/contracts/{contract['id']}",
        json={
            "start_date": "2026-04-01",
            "end_date": "2027-04-01",
            "arr": 15000,
            "seats": 10,
            "auto_renew": True,
            "notice_period_days": 60,
            "pilot_start": None,
            "pilot_end": None,
        },
    )
    assert response.status_code == 200, response.text
    updated = response.json()
    assert (updated["start_date"], updated["end_date"]) == ("2026-04-01", "2027-04-01")
    assert updated["terms"] == [
        {"number": 1, "start": "2026-04-01", "end": "2027-04-01", "arr": "15000.00"}
    ]
    assert updated["arr"] == "15000.00"
    assert (updated["seats"], updated["auto_renew"], updated["notice_period_days"]) == (
        10,
        True,
        60,
    )
    assert (updated["pilot_start"], updated["pilot_end"]) == (None, None)
    assert (await api.client.get(f"/v1/contracts/{contract['id']}")).json() == updated


async def test_contract_update_after_renewal_moves_term_one_start_and_current_end(
    api: Harness,
) -> None:
    account = await make_account(api)
    contract = await make_contract(api, account["id"])
    renewed = await api.client.post(
        f"/v1/contracts/{contract['id']}/renew", json={"end_date": "2028-03-15", "arr": "13000"}
    )
    assert renewed.status_code == 200, renewed.text

    response = await api.client.patch(
        f"/v1/contracts/{contract['id']}",
        json={"start_date": "2026-03-01", "end_date": "2028-04-15", "arr": "14000"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["terms"] == [
        {"number": 1, "start": "2026-03-01", "end": "2027-03-15", "arr": "12000.00"},
        {"number": 2, "start": "2027-03-15", "end": "2028-04-15", "arr": "14000.00"},
    ]

    too_early = await api.client.patch(
        f"/v1/contracts/{contract['id']}", json={"end_date": "2027-03-15"}
    )
    assert too_early.status_code == 422
    assert error_fields(too_early) == ["end_date"]
    too_late = await api.client.patch(
        f"/v1/contracts/{contract['id']}", json={"start_date": "2027-03-15"}
    )
    assert too_late.status_code == 422
    assert error_fields(too_late) == ["start_date"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"end_date": "2026-03-15"}, "end_date"),
        ({"start_date": "2027-03-15"}, "start_date"),
        ({"start_date": "2026-03-20", "end_date": "2026-03-19"}, "end_date"),
        ({"pilot_start": "2026-01-01"}, "pilot_start"),
        ({"pilot_end": "2026-01-01"}, "pilot_end"),
        ({"trial_end": "2027-04-01"}, "trial_end"),
        ({"end_date": "2026-04-01"}, "end_date"),  # now before the trial's end
        ({"arr": "1.001"}, "arr"),
        ({"arr": "-5"}, "arr"),
        ({"arr": None}, "arr"),
        ({"start_date": None}, "start_date"),
        ({"auto_renew": None}, "auto_renew"),
        ({"external_ids": None}, "external_ids"),
        ({"stage": "renewal"}, "stage"),
        ({"terms": []}, "terms"),
        ({"status": "churned"}, "status"),
    ],
)
async def test_contract_update_validates_the_resulting_contract(
    api: Harness, body: dict[str, Any], field: str
) -> None:
    account = await make_account(api)
    contract = await make_contract(api, account["id"], trial_end="2026-05-01")
    before = await counts(api)
    response = await api.client.patch(f"/v1/contracts/{contract['id']}", json=body)
    assert response.status_code == 422, response.text
    assert error_fields(response) == [field]
    assert await counts(api) == before
    assert (await api.client.get(f"/v1/contracts/{contract['id']}")).json() == contract


async def test_contract_update_sets_and_clears_the_partner(api: Harness) -> None:
    partner = await make_partner(api)
    account = await make_account(api)
    contract = await make_contract(api, account["id"])
    path = f"/v1/contracts/{contract['id']}"

    assert (await api.client.patch(path, json={"partner_id": partner["id"]})).json()[
        "channel"
    ] == "partner"
    assert (await api.client.patch(path, json={"partner_id": None})).json()["channel"] == "direct"
    unknown = await api.client.patch(path, json={"partner_id": str(uuid.uuid4())})
    assert unknown.status_code == 404
    assert error_fields(unknown) == ["partner_id"]


async def test_unknown_contract_is_404(api: Harness) -> None:
    missing = uuid.uuid4()
    assert (await api.client.get(f"/v1/contracts/{missing}")).status_code == 404
    for method, path, body in [
        ("PATCH", "", {"seats": 1}),
        ("POST", "/renew", {"end_date": "2030-01-01", "arr": "1"}),
        ("POST", "/churn", {"reason": "price"}),
        ("POST", "/cancellation-notice", {"received_on": "2026-01-01"}),
        ("DELETE", "/cancellation-notice", None),
    ]:
        response = await api.client.request(method, f"/v1/contracts/{missing}{path}", json=body)
        assert response.status_code == 404, (method, path)


async def test_contract_list_filters(api: Harness) -> None:
    partner = await make_partner(api)
    first = await make_account(api)
    second = await make_account(api, name="Second")
    soon = await make_contract(api, first["id"], end_date="2026-12-31")
    later = await make_contract(api, first["id"], end_date="2027-06-30", partner_id=partner["id"])
    churned = await make_contract(api, second["id"], end_date="2027-01-01")
    await api.client.post(f"/v1/contracts/{churned['id']}/churn", json={"reason": "budget"})
    async with api.db.transaction() as session:
        await session.execute(
            update(Contract).where(Contract.id == uuid.UUID(later["id"])).values(health_band="red")
        )

    async def ids(**params: str) -> list[str]:
        response = await api.client.get("/v1/contracts", params=params)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert await ids() == [soon["id"], later["id"], churned["id"]]
    assert await ids(account_id=first["id"]) == [soon["id"], later["id"]]
    assert await ids(partner_id=partner["id"]) == [later["id"]]
    assert await ids(status="churned") == [churned["id"]]
    assert await ids(status="active") == [soon["id"], later["id"]]
    assert await ids(health="red") == [later["id"]]
    assert await ids(health="green") == [soon["id"], churned["id"]]
    assert await ids(renews_before="2027-01-01") == [soon["id"]]
    assert await ids(renews_before="2027-01-02") == [soon["id"], churned["id"]]
    assert await ids(renews_after="2027-01-01") == [later["id"]]
    assert await ids(renews_after="2026-12-31", renews_before="2027-01-02") == [churned["id"]]
    bad = await api.client.get("/v1/contracts", params={"health": "purple"})
    assert bad.status_code == 422
    assert error_fields(bad) == ["health"]


async def test_contract_list_pages_with_a_cursor(api: Harness) -> None:
    account = await make_account(api)
    ids = [(await make_contract(api, account["id"]))["id"] for _ in range(5)]
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await api.client.get("/v1/contracts", params=params)).json()
        assert all(item["terms"] for item in page["items"])
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids


async def test_duplicate_contract_external_id_is_409_and_writes_nothing(api: Harness) -> None:
    account = await make_account(api)
    await make_contract(api, account["id"], external_ids={"hubspot": "deal-1"})
    other = await make_contract(api, account["id"])
    before = await counts(api)

    created = await api.client.post(
        "/v1/contracts", json=contract_body(account["id"], external_ids={"hubspot": "deal-1"})
    )
    assert created.status_code == 409
    assert error_fields(created) == ["external_ids.hubspot"]
    patched = await api.client.patch(
        f"/v1/contracts/{other['id']}", json={"external_ids": {"hubspot": "deal-1"}, "seats": 3}
    )
    assert patched.status_code == 409
    assert await counts(api) == before
    assert (await api.client.get(f"/v1/contracts/{other['id']}")).json() == other
