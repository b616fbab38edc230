"""The renewal forecast as of 2026-03-01 over 3 months (R in [2026-03-01, 2026-06-01))."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from shared.domain.context import Context
from shared.domain.forecast.service import refresh_forecasts
from shared.events.types import SOURCE_WORKER
from shared.models import Contract
from tests.api.contracts.factories import make_account, make_contract, make_partner
from tests.support.api import Harness
from tests.support.report_factories import as_cells, csv_rows

PARAMS = {"as_of": "2026-03-01", "months": "3"}
ANN, BOB = "ann@vendor.example", "bob@vendor.example"
CATEGORIES = ("commit", "probable", "at_risk", "lost", "renewed")


def _renewing(r: str, arr: str) -> dict[str, str]:
    return {"start_date": f"{int(r[:4]) - 1}{r[4:]}", "end_date": r, "arr": arr}


async def build(api: Harness) -> dict[str, Any]:
    """One contract per account, so owners and segments are the contracts' own."""
    partner = await make_partner(api)
    made: dict[str, Any] = {"partner": partner}

    async def add(name: str, owner: str, r: str, arr: str, **fields: Any) -> dict[str, Any]:
        account = await make_account(api, name=name, owner=owner)
        made[name] = await make_contract(api, account["id"], **_renewing(r, arr), **fields)
        return dict(made[name])

    await add("a", ANN, "2026-03-20", "1000")  # probable
    b = await add("b", ANN, "2026-04-10", "2000", partner_id=partner["id"])
    await api.client.post(
        f"/v1/contracts/{b['id']}/cancellation-notice", json={"received_on": "2026-01-05"}
    )  # lost
    c = await add("c", BOB, "2026-04-30", "3000")
    await api.client.put(
        f"/v1/contracts/{c['id']}/forecast", json={"category": "commit", "expected_arr": "3500"}
    )
    d = await add("d", BOB, "2026-05-15", "4000", partner_id=partner["id"])
    await api.client.post(
        f"/v1/contracts/{d['id']}/renew", json={"end_date": "2027-05-15", "arr": "4400"}
    )  # term 1 renewed at 4400 in May; term 2 outside the window
    e = await add("e", BOB, "2026-05-31", "5000")  # growth segment
    worker = Context("worker", "USD", datetime(2026, 2, 1, tzinfo=UTC), SOURCE_WORKER)
    async with api.db.transaction() as session:
        row = await session.get(Contract, uuid.UUID(e["id"]))
        assert row is not None
        row.health_band = "red"
        await refresh_forecasts(session, worker, [row.id])
    await add("f", ANN, "2026-06-01", "100")  # the day after the window
    await add("g", ANN, "2026-02-28", "100")  # before as_of
    return made


def amounts(item: dict[str, Any]) -> tuple[Any, ...]:
    return (
        item["contracts"],
        *(item[f"{c}_arr"] for c in CATEGORIES),
        item["arr_total"],
        item["expected_arr"],
    )


async def test_the_forecast_sums_each_month_of_r_by_category(api: Harness) -> None:
    await build(api)

    response = await api.client.get("/v1/reports/forecast", params=PARAMS)

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["as_of"], body["months"], body["until"], body["currency"]) == (
        "2026-03-01",
        3,
        "2026-06-01",
        "USD",
    )
    z = "0.00"
    #        contracts commit  probable   at_risk    lost       renewed    total  expected
    assert [(i["month"], *amounts(i)) for i in body["items"]] == [
        ("2026-03", 1, z, "1000.00", z, z, z, "1000.00", "1000.00"),
        ("2026-04", 2, "3000.00", z, z, "2000.00", z, "5000.00", "3500.00"),
        ("2026-05", 2, z, z, "5000.00", z, "4000.00", "9000.00", "9400.00"),
    ]  # fmt: skip
    assert amounts(body["totals"]) == (
        5, "3000.00", "1000.00", "5000.00", "2000.00", "4000.00", "15000.00", "13900.00"
    )  # fmt: skip

    as_csv = await api.client.get(
        "/v1/reports/forecast", params=PARAMS, headers={"Accept": "text/csv"}
    )
    assert as_csv.status_code == 200
    assert csv_rows(as_csv.text) == [as_cells(item) for item in body["items"]]


async def test_the_report_agrees_to_the_cent_with_the_contracts_forecasts(api: Harness) -> None:
    made = await build(api)
    body = (await api.client.get("/v1/reports/forecast", params=PARAMS)).json()

    expected = Decimal(0)
    by_category = dict.fromkeys(CATEGORIES, Decimal(0))
    for name in ("a", "b", "c", "e"):
        forecast = (await api.client.get(f"/v1/contracts/{made[name]['id']}/forecast")).json()
        expected += Decimal(forecast["expected_arr"])
        by_category[forecast["category"]] += Decimal(forecast["arr"])
    # d's current term renews in 2027; its renewed term 1 (ARR 4000, at 4400) is in May.
    expected += Decimal("4400.00")
    by_category["renewed"] += Decimal("4000.00")

    assert Decimal(body["totals"]["expected_arr"]) == expected
    assert {c: Decimal(body["totals"][f"{c}_arr"]) for c in CATEGORIES} == by_category


async def test_filters_narrow_the_forecast_to_an_owner_a_partner_or_a_segment(
    api: Harness,
) -> None:
    made = await build(api)

    async def totals(**filters: str) -> tuple[Any, ...]:
        response = await api.client.get("/v1/reports/forecast", params=PARAMS | filters)
        assert response.status_code == 200, response.text
        return amounts(response.json()["totals"])

    z = "0.00"
    assert await totals(owner=ANN) == (2, z, "1000.00", z, "2000.00", z, "3000.00", "1000.00")
    assert await totals(partner_id=made["partner"]["id"]) == (
        2, z, z, z, "2000.00", "4000.00", "6000.00", "4400.00"
    )  # fmt: skip
    assert await totals(segment="growth") == (1, z, z, "5000.00", z, z, "5000.00", "5000.00")
    assert await totals(owner=BOB, segment="scale") == (
        2, "3000.00", z, z, z, "4000.00", "7000.00", "7900.00"
    )  # fmt: skip


async def test_months_run_from_one_to_thirty_six(api: Harness) -> None:
    for months, status in (("0", 422), ("37", 422), ("36", 200), ("1", 200)):
        response = await api.client.get(
            "/v1/reports/forecast", params={"as_of": "2026-03-31", "months": months}
        )
        assert response.status_code == status, months
    one = await api.client.get(
        "/v1/reports/forecast", params={"as_of": "2026-03-31", "months": "1"}
    )
    assert (one.json()["until"], [i["month"] for i in one.json()["items"]]) == (
        "2026-04-01",
        ["2026-03"],
    )
