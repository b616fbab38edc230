"""`POST` and `GET /v1/contracts/{id}/trials`: add-on trials of more users or modules."""

from __future__ import annotations

from typing import Any

import pytest

from shared.ids import new_id
from shared.models import ContractTrial, OutboxEvent
from tests.support.api import Harness
from tests.support.factories import actor_of, make_account, make_contract, outbox_rows

TRIAL = {"name": "20 more users", "started_on": "2026-06-01", "ends_on": "2026-06-21"}


async def counts(api: Harness) -> tuple[int, int]:
    return await api.count(ContractTrial), await api.count(OutboxEvent)


async def test_trial_is_created_listed_and_emits_contract_trial_started(api: Harness) -> None:
    account = await make_account(api.db)
    contract = await make_contract(api.db, account)

    created = await api.client.post(f"/v1/contracts/{contract.id}/trials", json=TRIAL)

    assert created.status_code == 201, created.text
    trial = created.json()
    assert {k: trial[k] for k in TRIAL} == TRIAL
    assert (trial["contract_id"], trial["account_id"]) == (str(contract.id), str(account.id))
    listed = (await api.client.get(f"/v1/contracts/{contract.id}/trials")).json()
    assert listed == {"items": [trial], "next_cursor": None}
    (row,) = await outbox_rows(api.db)
    assert row.type == "contract.trial_started"
    assert row.stream == "lifecycle"
    assert row.partition_key == str(account.id)
    assert row.event["subject"] == str(contract.id)
    assert row.event["dataschema"] == "urn:renewals:trial:1"
    assert row.event["actor"] == await actor_of(api.db, api.client)
    assert row.event["data"] == trial


async def test_ends_on_defaults_to_thirty_days_after_the_start(api: Harness) -> None:
    contract = await make_contract(api.db, await make_account(api.db))
    body = {"name": "Reporting module", "started_on": "2027-01-15"}

    created = await api.client.post(f"/v1/contracts/{contract.id}/trials", json=body)

    assert created.status_code == 201, created.text
    assert created.json()["ends_on"] == "2027-02-14"


async def test_a_trial_may_end_on_its_first_day(api: Harness) -> None:
    contract = await make_contract(api.db, await make_account(api.db))
    body = {"name": "Day pass", "started_on": "2026-06-01", "ends_on": "2026-06-01"}

    created = await api.client.post(f"/v1/contracts/{contract.id}/trials", json=body)

    assert created.status_code == 201, created.text


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (TRIAL | {"ends_on": "2026-05-31"}, "ends_on"),
        (TRIAL | {"name": ""}, "name"),
        (TRIAL | {"name": "   "}, "name"),
        (TRIAL | {"name": "Extra\nusers"}, "name"),
        (TRIAL | {"name": "Extra users\t"}, "name"),
        (TRIAL | {"name": "Modules\x1b[31m"}, "name"),
        (TRIAL | {"name": "x" * 201}, "name"),
        ({"name": "20 more users"}, "started_on"),
        (TRIAL | {"started_on": "June 1st"}, "started_on"),
        (TRIAL | {"contract_id": str(new_id())}, "contract_id"),
    ],
)
async def test_bad_trial_input_is_422_naming_the_field_and_writes_nothing(
    api: Harness, body: dict[str, Any], field: str
) -> None:
    contract = await make_contract(api.db, await make_account(api.db))
    before = await counts(api)

    response = await api.client.post(f"/v1/contracts/{contract.id}/trials", json=body)

    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert await counts(api) == before


async def test_trial_before_its_start_says_which_date_to_fix(api: Harness) -> None:
    contract = await make_contract(api.db, await make_account(api.db))

    response = await api.client.post(
        f"/v1/contracts/{contract.id}/trials", json=TRIAL | {"ends_on": "2026-05-31"}
    )

    assert "must be on or after started_on (2026-06-01)" in response.json()["detail"]


async def test_unknown_contract_is_404_and_writes_nothing(api: Harness) -> None:
    before = await counts(api)

    created = await api.client.post(f"/v1/contracts/{new_id()}/trials", json=TRIAL)
    listed = await api.client.get(f"/v1/contracts/{new_id()}/trials")

    assert created.status_code == 404, created.text
    assert created.json()["errors"][0]["field"] == "contract_id"
    assert listed.status_code == 404, listed.text
    assert await counts(api) == before


async def test_trial_on_a_churned_contract_is_409_and_writes_nothing(api: Harness) -> None:
    contract = await make_contract(api.db, await make_account(api.db))
    churned = await api.client.post(f"/v1/contracts/{contract.id}/churn", json={"reason": "price"})
    assert churned.status_code == 200, churned.text
    before = await counts(api)

    response = await api.client.post(f"/v1/contracts/{contract.id}/trials", json=TRIAL)

    assert response.status_code == 409, response.text
    assert "churned" in response.json()["detail"]
    assert await counts(api) == before


async def test_trials_list_only_the_contracts_own_in_recorded_order_and_page(
    api: Harness,
) -> None:
    account = await make_account(api.db)
    contract, other = await make_contract(api.db, account), await make_contract(api.db, account)
    path = f"/v1/contracts/{contract.id}/trials"
    # Recorded newest start first: the list (and the engine's numbering) follows the
    # recording, not started_on.
    ids = [
        (await api.client.post(path, json=TRIAL | {"started_on": f"2026-06-0{9 - i}"})).json()["id"]
        for i in range(3)
    ]
    await api.client.post(f"/v1/contracts/{other.id}/trials", json=TRIAL)

    first = (await api.client.get(path, params={"limit": 2})).json()
    second = (
        await api.client.get(path, params={"limit": 2, "cursor": first["next_cursor"]})
    ).json()

    assert [item["id"] for item in first["items"] + second["items"]] == ids
    assert second["next_cursor"] is None


async def test_a_retry_with_the_idempotency_key_replays_and_records_one_trial(
    api: Harness,
) -> None:
    contract = await make_contract(api.db, await make_account(api.db))
    path, headers = f"/v1/contracts/{contract.id}/trials", {"Idempotency-Key": "trial-1"}

    first = await api.client.post(path, json=TRIAL, headers=headers)
    again = await api.client.post(path, json=TRIAL, headers=headers)

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert await counts(api) == (1, 1)


async def test_a_read_only_key_may_list_but_not_record_trials(api: Harness) -> None:
    contract = await make_contract(api.db, await make_account(api.db))
    path = f"/v1/contracts/{contract.id}/trials"

    async with api.as_key(await api.new_key("read")) as reader:
        assert (await reader.post(path, json=TRIAL)).status_code == 403
        assert (await reader.get(path)).status_code == 200
    assert await counts(api) == (0, 0)


async def test_a_crm_records_a_trial_by_event_naming_the_contract_by_its_external_ids(
    api: Harness,
) -> None:
    """`contract.trial_started` on `POST /v1/events` is the REST body plus the contract,
    applied at the event's own time."""
    contract = await make_contract(api.db, await make_account(api.db))
    contract_ref = {"hubspot": "deal-42"}
    patched = await api.client.patch(
        f"/v1/contracts/{contract.id}", json={"external_ids": contract_ref}
    )
    assert patched.status_code == 200, patched.text
    event = {
        "specversion": "1.0",
        "id": "crm-trial-1",
        "source": "urn:crm",
        "type": "contract.trial_started",
        "time": "2026-06-01T09:00:00Z",
        "data": {"contract_external_ids": contract_ref, "name": "Reporting module",
                 "started_on": "2026-06-01"},
    }  # fmt: skip

    received = await api.client.post("/v1/events", json=event)
    refused = await api.client.post(
        "/v1/events", json=event | {"id": "crm-trial-2", "data": event["data"] | {"name": ""}}
    )

    assert received.status_code == 202, received.text
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["field"] == "data.name"
    (trial,) = (await api.client.get(f"/v1/contracts/{contract.id}/trials")).json()["items"]
    assert (trial["name"], trial["ends_on"]) == ("Reporting module", "2026-07-01")
    (emitted,) = await api.events("contract.trial_started")
    assert emitted["time"] == "2026-06-01T09:00:00+00:00"
