"""`/v1/contracts/{id}/forecast`: the engine's proposal, a person's override and its
clearing, and `contract.forecast_changed` once per change."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from shared.domain.context import Context
from shared.domain.forecast.service import refresh_forecasts
from shared.events.types import SOURCE_WORKER
from shared.models import Contract
from tests.api.contracts.factories import error_fields, make_account, make_contract, outbox_rows
from tests.support.api import Harness
from tests.support.factories import make_task

WORKER = Context(
    actor="worker", currency="USD", time=datetime(2026, 6, 1, tzinfo=UTC), source=SOURCE_WORKER
)


async def _changes(api: Harness) -> list[dict[str, Any]]:
    return [row.event for row in await outbox_rows(api) if row.type == "contract.forecast_changed"]


def _moves(events: list[dict[str, Any]]) -> list[tuple[str, str, str, str, int]]:
    return [
        (
            e["data"]["old"]["category"],
            e["data"]["old"]["expected_arr"],
            e["data"]["new"]["category"],
            e["data"]["new"]["expected_arr"],
            e["data"]["new"]["term"],
        )
        for e in events
    ]


async def _forecast(api: Harness, contract: dict[str, Any]) -> dict[str, Any]:
    response = await api.client.get(f"/v1/contracts/{contract['id']}/forecast")
    assert response.status_code == 200, response.text
    return dict(response.json())


async def _set_health(api: Harness, contract: dict[str, Any], band: str) -> None:
    """What the worker does when health changes: store the band, refresh the forecast."""
    async with api.db.transaction() as session:
        row = await session.get(Contract, uuid.UUID(contract["id"]))
        assert row is not None
        row.health_band = band
        await refresh_forecasts(session, WORKER, [row.id])


async def test_a_new_contract_is_forecast_probable_at_its_arr_without_a_notification(
    api: Harness,
) -> None:
    account = await make_account(api)
    contract = await make_contract(api, account["id"])

    forecast = await _forecast(api, contract)

    assert {k: forecast[k] for k in ("term", "category", "expected_arr", "arr", "set_by")} == {
        "term": 1,
        "category": "probable",
        "expected_arr": "12000.00",
        "arr": "12000.00",
        "set_by": "engine",
    }
    assert (forecast["renewal_date"], forecast["overridden"]) == ("2027-03-15", False)
    assert forecast["updated_at"] is not None
    assert await _changes(api) == []


async def test_an_override_stands_until_cleared_then_the_engine_proposal_returns(
    api: Harness,
) -> None:
    account = await make_account(api)
    contract = await make_contract(api, account["id"])
    path = f"/v1/contracts/{contract['id']}/forecast"
    ann = api.as_key(await api.new_key("write", name="Ann"))

    put = await ann.put(path, json={"category": "commit", "expected_arr": "15000", "note": "PO"})
    assert put.status_code == 200, put.text
    assert {k: put.json()[k] for k in ("category", "expected_arr", "set_by", "note")} == {
        "category": "commit",
        "expected_arr": "15000.00",
        "set_by": "Ann",
        "note": "PO",
    }
    assert put.json()["overridden"] is True

    # A cancellation notice and red health would make it lost / at risk: the override stands.
    notice = f"/v1/contracts/{contract['id']}/cancellation-notice"
    assert (await api.client.post(notice, json={"received_on": "2026-11-01"})).status_code == 200
    await _set_health(api, contract, "red")
    assert (await _forecast(api, contract))["category"] == "commit"

    cleared = await api.client.delete(path)
    assert cleared.status_code == 200, cleared.text
    assert {k: cleared.json()[k] for k in ("category", "expected_arr", "set_by", "note")} == {
        "category": "lost",
        "expected_arr": "0.00",
        "set_by": "engine",
        "note": None,
    }
    assert (await api.client.delete(path)).json() == cleared.json()
    assert await _forecast(api, contract) == cleared.json()
    events = await _changes(api)
    assert _moves(events) == [
        ("probable", "12000.00", "commit", "15000.00", 1),
        ("commit", "15000.00", "lost", "0.00", 1),
    ]
    assert {e["subject"] for e in events} == {contract["id"]}
    assert {e["data"]["account_id"] for e in events} == {account["id"]}
    assert events[0]["dataschema"] == "urn:renewals:forecast:1"


async def test_an_override_without_an_amount_expects_the_engine_amount_or_nothing_when_lost(
    api: Harness,
) -> None:
    account = await make_account(api)
    contract = await make_contract(api, account["id"])
    path = f"/v1/contracts/{contract['id']}/forecast"

    commit = await api.client.put(path, json={"category": "commit"})
    lost = await api.client.put(path, json={"category": "lost"})
    cents = await api.client.put(path, json={"category": "commit", "expected_arr": "1.001"})

    assert commit.json()["expected_arr"] == "12000.00"
    assert lost.json()["expected_arr"] == "0.00"
    assert cents.status_code == 422
    assert error_fields(cents) == ["expected_arr"]


async def test_a_renewal_settles_the_term_renewed_and_the_new_term_starts_afresh(
    api: Harness,
) -> None:
    account = await make_account(api)
    contract = await make_contract(api, account["id"])
    path = f"/v1/contracts/{contract['id']}"
    await api.client.put(f"{path}/forecast", json={"category": "at_risk"})

    renewed = await api.client.post(
        f"{path}/renew", json={"end_date": "2028-03-15", "arr": "13000"}
    )
    assert renewed.status_code == 200, renewed.text

    forecast = await _forecast(api, contract)
    assert (forecast["term"], forecast["category"], forecast["expected_arr"]) == (
        2,
        "probable",
        "13000.00",
    )
    assert (forecast["set_by"], forecast["overridden"]) == ("engine", False)
    assert _moves(await _changes(api))[-1] == ("at_risk", "12000.00", "renewed", "13000.00", 1)


async def test_health_and_the_outreach_move_the_proposal_and_a_second_refresh_emits_nothing(
    api: Harness,
) -> None:
    account = await make_account(api)
    contract = await make_contract(api, account["id"])
    async with api.db.read() as session:
        row = await session.get(Contract, uuid.UUID(contract["id"]))
    assert row is not None
    outreach = await make_task(api.db, row, kind="renewal_outreach", term=1)

    closed = await api.client.patch(f"/v1/tasks/{outreach.id}", json={"status": "done"})
    assert closed.status_code == 200, closed.text
    assert (await _forecast(api, contract))["category"] == "commit"
    await _set_health(api, contract, "yellow")
    await _set_health(api, contract, "yellow")
    await _set_health(api, contract, "red")
    await _set_health(api, contract, "red")

    assert _moves(await _changes(api)) == [
        ("probable", "12000.00", "commit", "12000.00", 1),
        ("commit", "12000.00", "probable", "12000.00", 1),
        ("probable", "12000.00", "at_risk", "12000.00", 1),
    ]


async def test_a_done_expansion_task_records_the_expected_arr(api: Harness) -> None:
    account = await make_account(api)
    contract = await make_contract(api, account["id"])
    async with api.db.read() as session:
        row = await session.get(Contract, uuid.UUID(contract["id"]))
    assert row is not None
    expansion = await make_task(api.db, row, kind="expansion_opportunity", term=1)
    other = await make_task(api.db, row, kind="kickoff", term=1)

    wrong_kind = await api.client.patch(
        f"/v1/tasks/{other.id}", json={"status": "done", "expected_arr": "1"}
    )
    dismissed = await api.client.patch(
        f"/v1/tasks/{expansion.id}", json={"status": "dismissed", "expected_arr": "1"}
    )
    done = await api.client.patch(
        f"/v1/tasks/{expansion.id}",
        json={"status": "done", "outcome": "20 more seats", "expected_arr": "18000.50"},
    )

    assert (wrong_kind.status_code, error_fields(wrong_kind)) == (422, ["expected_arr"])
    assert (dismissed.status_code, error_fields(dismissed)) == (422, ["expected_arr"])
    assert done.status_code == 200, done.text
    forecast = await _forecast(api, contract)
    assert (forecast["category"], forecast["expected_arr"]) == ("probable", "18000.50")
    assert _moves(await _changes(api)) == [("probable", "12000.00", "probable", "18000.50", 1)]


async def test_only_a_write_key_overrides_and_unknown_contracts_are_404(api: Harness) -> None:
    account = await make_account(api)
    contract = await make_contract(api, account["id"])
    reader = api.as_key(await api.new_key("read"))
    path = f"/v1/contracts/{contract['id']}/forecast"
    missing = f"/v1/contracts/{uuid.uuid4()}/forecast"

    assert (await reader.get(path)).status_code == 200
    assert (await reader.put(path, json={"category": "commit"})).status_code == 403
    assert (await reader.delete(path)).status_code == 403
    assert (await api.client.get(missing)).status_code == 404
    assert (await api.client.put(missing, json={"category": "commit"})).status_code == 404
    assert (await api.client.delete(missing)).status_code == 404
    assert (await api.client.put(path, json={"category": "won"})).status_code == 422
