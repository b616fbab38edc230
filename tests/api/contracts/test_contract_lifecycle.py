from __future__ import annotations

from datetime import date
from typing import Any

from shared.models import Contract, ContractTerm, OutboxEvent
from tests.api.contracts.factories import (
    admin_key_id,
    days,
    error_fields,
    make_account,
    make_contract,
    outbox_rows,
)
from tests.support.api import Harness


async def post(api: Harness, contract: dict[str, Any], action: str, body: Any = None) -> Any:
    return await api.client.post(f"/v1/contracts/{contract['id']}/{action}", json=body)


async def test_renewal_recorded_late_starts_the_new_term_at_the_old_renewal_date(
    api: Harness,
) -> None:
    account = await make_account(api)
    contract = await make_contract(
        api, account["id"], start_date=days(-400), end_date=days(-35), arr="1000", seats=5
    )
    assert contract["stage"] == "lapsed"

    response = await post(api, contract, "renew", {"end_date": days(330), "arr": "1200.5"})
    assert response.status_code == 200, response.text
    renewed = response.json()
    assert renewed["term"] == 2
    assert renewed["terms"] == [
        {"number": 1, "start": days(-400), "end": days(-35), "arr": "1000.00"},
        {"number": 2, "start": days(-35), "end": days(330), "arr": "1200.50"},
    ]
    assert (renewed["start_date"], renewed["end_date"]) == (days(-400), days(330))
    assert renewed["arr"] == "1200.50"
    assert renewed["seats"] == 5
    assert renewed["stage"] == "adoption"

    third = (
        await post(api, renewed, "renew", {"end_date": days(700), "arr": 0, "seats": 9})
    ).json()
    assert [(t["number"], t["start"]) for t in third["terms"]] == [
        (1, days(-400)),
        (2, days(-35)),
        (3, days(330)),
    ]
    assert (third["seats"], third["arr"]) == (9, "0.00")


async def test_renewal_must_end_after_the_current_renewal_date(api: Harness) -> None:
    account = await make_account(api)
    contract = await make_contract(api, account["id"])
    for end_date in ["2027-03-15", "2027-01-01"]:
        response = await post(api, contract, "renew", {"end_date": end_date, "arr": "1"})
        assert response.status_code == 422
        assert error_fields(response) == ["end_date"]
    for arr in ["1.001", "-1"]:
        response = await post(api, contract, "renew", {"end_date": "2028-03-15", "arr": arr})
        assert response.status_code == 422
        assert error_fields(response) == ["arr"]
    missing = await post(api, contract, "renew", {"end_date": "2028-03-15"})
    assert error_fields(missing) == ["arr"]
    assert await api.count(ContractTerm) == 1
    assert await api.count(OutboxEvent) == 2


async def test_churn_sets_status_date_and_reason_once(api: Harness) -> None:
    account = await make_account(api)
    contract = await make_contract(api, account["id"])

    response = await post(api, contract, "churn", {"reason": "competitor"})
    assert response.status_code == 200, response.text
    churned = response.json()
    assert churned["status"] == "churned"
    assert churned["churned_on"] == date.today().isoformat()
    assert churned["churn_reason"] == "competitor"
    assert churned["stage"] == "churned"

    again = await post(api, contract, "churn", {"reason": "price", "churned_on": "2026-06-01"})
    assert again.status_code == 409
    renew = await post(api, contract, "renew", {"end_date": "2028-03-15", "arr": "1"})
    assert renew.status_code == 409
    assert (await api.client.get(f"/v1/contracts/{contract['id']}")).json() == churned


async def test_churn_takes_an_explicit_date_and_a_known_reason(api: Harness) -> None:
    account = await make_account(api)
    contract = await make_contract(api, account["id"])
    bad = await post(api, contract, "churn", {"reason": "bored"})
    assert bad.status_code == 422
    assert error_fields(bad) == ["reason"]
    churned = await post(api, contract, "churn", {"reason": "budget", "churned_on": "2026-06-01"})
    assert churned.json()["churned_on"] == "2026-06-01"


async def test_cancellation_notice_is_recorded_withdrawn_and_not_doubled(api: Harness) -> None:
    account = await make_account(api)
    contract = await make_contract(api, account["id"])
    path = f"/v1/contracts/{contract['id']}/cancellation-notice"

    noticed = await api.client.post(path, json={"received_on": "2026-11-01"})
    assert noticed.status_code == 200, noticed.text
    assert noticed.json()["cancellation_notice"] == {
        "received_on": "2026-11-01",
        "reason": "other",
        "late": False,
    }
    twice = await api.client.post(path, json={"received_on": "2026-11-02", "reason": "price"})
    assert twice.status_code == 409

    withdrawn = await api.client.delete(path)
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["cancellation_notice"] is None
    nothing_pending = await api.client.delete(path)
    assert nothing_pending.status_code == 409

    with_reason = await api.client.post(path, json={"received_on": "2026-11-03", "reason": "price"})
    assert with_reason.json()["cancellation_notice"] == {
        "received_on": "2026-11-03",
        "reason": "price",
        "late": False,
    }


async def test_renewal_voids_a_pending_cancellation_notice(api: Harness) -> None:
    account = await make_account(api)
    contract = await make_contract(api, account["id"])
    await post(api, contract, "cancellation-notice", {"received_on": "2026-11-01"})
    renewed = (await post(api, contract, "renew", {"end_date": "2028-03-15", "arr": "1"})).json()
    assert renewed["cancellation_notice"] is None


async def test_churned_contract_takes_no_cancellation_notice_or_withdrawal(api: Harness) -> None:
    account = await make_account(api)
    contract = await make_contract(api, account["id"])
    path = f"/v1/contracts/{contract['id']}/cancellation-notice"
    await api.client.post(path, json={"received_on": "2026-11-01", "reason": "budget"})
    churned = (await post(api, contract, "churn", {"reason": "budget"})).json()
    assert churned["cancellation_notice"] == {
        "received_on": "2026-11-01",
        "reason": "budget",
        "late": False,
    }

    assert (await api.client.delete(path)).status_code == 409
    assert (await api.client.post(path, json={"received_on": "2026-11-02"})).status_code == 409
    # Four lifecycle events, and the forecast turning `lost` on the notice (the churn
    # leaves it lost).
    assert await api.count(OutboxEvent) == 5


async def test_every_change_emits_its_event_with_the_contract_as_data(api: Harness) -> None:
    account = await make_account(api)
    created = await make_contract(api, account["id"])
    path = f"/v1/contracts/{created['id']}"
    snapshots = [
        created,
        (await api.client.patch(path, json={"seats": 3})).json(),
        (await post(api, created, "renew", {"end_date": "2028-03-15", "arr": "1"})).json(),
        (await post(api, created, "cancellation-notice", {"received_on": "2026-11-01"})).json(),
        (await api.client.delete(f"{path}/cancellation-notice")).json(),
        (await post(api, created, "churn", {"reason": "price"})).json(),
    ]

    rows = [
        row
        for row in await outbox_rows(api)
        if row.stream == "lifecycle" and row.type.startswith("contract.")
    ]
    assert [row.type for row in rows] == [
        "contract.created",
        "contract.updated",
        "contract.renewed",
        "contract.cancellation_noticed",
        "contract.cancellation_withdrawn",
        "contract.churned",
    ]
    actor = await admin_key_id(api)
    for row, snapshot in zip(rows, snapshots, strict=True):
        assert row.stream == "lifecycle"
        assert row.subject == created["id"]
        assert row.partition_key == account["id"]
        assert row.event["subject"] == created["id"]
        assert row.event["actor"] == actor
        assert row.event["source"] == "urn:renewals:api"
        assert row.event["dataschema"] == "urn:renewals:contract:1"
        assert row.event["data"] == snapshot
    assert rows[2].event["data"]["term"] == 2


async def test_failed_actions_write_nothing(api: Harness) -> None:
    account = await make_account(api)
    contract = await make_contract(api, account["id"])
    await post(api, contract, "churn", {"reason": "price"})
    before = [await api.count(model) for model in (Contract, ContractTerm, OutboxEvent)]
    await post(api, contract, "renew", {"end_date": "2028-03-15", "arr": "1"})
    await post(api, contract, "churn", {"reason": "price"})
    await post(api, contract, "cancellation-notice", {"received_on": "2026-11-01"})
    await api.client.delete(f"/v1/contracts/{contract['id']}/cancellation-notice")
    assert [await api.count(model) for model in (Contract, ContractTerm, OutboxEvent)] == before
