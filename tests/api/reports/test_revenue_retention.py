"""GRR and NRR over 2026-01-01 → 2027-01-01 on a hand-built portfolio (USD)."""

from __future__ import annotations

from datetime import date

from tests.support.api import Harness
from tests.support.factories import make_account
from tests.support.report_factories import churned, contract, csv_rows

PERIOD = {"start": "2026-01-01", "end": "2027-01-01"}


async def build(api: Harness) -> None:
    db = api.db
    # A: renewed up, 10,000 → 15,000 (expansion 5,000).
    a = await make_account(db, name="A expands")
    await contract(
        db,
        a,
        (date(2025, 6, 1), date(2026, 6, 1), 10_000),
        (date(2026, 6, 1), date(2027, 6, 1), 15_000),
    )
    # B: one contract, expansion then contraction: 20,000 → 30,000 → 12,000 (contraction 8,000).
    b = await make_account(db, name="B contracts")
    await contract(
        db,
        b,
        (date(2025, 7, 1), date(2026, 4, 1), 20_000),
        (date(2026, 4, 1), date(2026, 10, 1), 30_000),
        (date(2026, 10, 1), date(2027, 10, 1), 12_000),
    )
    # C: a second contract mid-period (cross-sell): 5,000 → 8,000 (expansion 3,000).
    c = await make_account(db, name="C cross-sells")
    await contract(db, c, (date(2025, 6, 1), date(2027, 6, 1), 5_000))
    await contract(db, c, (date(2026, 5, 1), date(2027, 5, 1), 3_000))
    # D: churned in the period: 7,000 → 0.
    d = await make_account(db, name="D churns")
    await contract(db, d, (date(2025, 2, 1), date(2026, 2, 1), 7_000), **churned(date(2026, 3, 1)))
    # F: lapsed (no renewal, R 2026-01-15): active on start in its term, 1,000 → 0.
    f = await make_account(db, name="F lapses")
    await contract(db, f, (date(2025, 1, 15), date(2026, 1, 15), 1_000))
    # E: a new customer after start: left out.
    e = await make_account(db, name="E is new")
    await contract(db, e, (date(2026, 2, 1), date(2027, 2, 1), 50_000))


def item(name: str, start: str, end: str, up: str, down: str, lost: str) -> dict[str, str]:
    return {
        "account_name": name,
        "start_arr": start,
        "end_arr": end,
        "expansion_arr": up,
        "contraction_arr": down,
        "churned_arr": lost,
    }


async def test_grr_and_nrr_count_expansion_contraction_churn_and_leave_new_customers_out(
    api: Harness,
) -> None:
    await build(api)

    response = await api.client.get("/v1/reports/revenue-retention", params=PERIOD)

    assert response.status_code == 200, response.text
    body = response.json()
    items = body.pop("items")
    assert body == {
        "start": "2026-01-01",
        "end": "2027-01-01",
        "currency": "USD",
        "accounts": 5,
        "starting_arr": "43000.00",
        "ending_arr": "35000.00",
        "expansion_arr": "8000.00",
        "contraction_arr": "8000.00",
        "churned_arr": "8000.00",
        "grr": 0.6279,  # 27,000 / 43,000
        "nrr": 0.814,  # 35,000 / 43,000
        "reason": None,
        "next_cursor": None,
    }
    assert [{k: v for k, v in i.items() if k != "account_id"} for i in items] == [
        item("A expands", "10000.00", "15000.00", "5000.00", "0.00", "0.00"),
        item("B contracts", "20000.00", "12000.00", "0.00", "8000.00", "0.00"),
        item("C cross-sells", "5000.00", "8000.00", "3000.00", "0.00", "0.00"),
        item("D churns", "7000.00", "0.00", "0.00", "0.00", "7000.00"),
        item("F lapses", "1000.00", "0.00", "0.00", "0.00", "1000.00"),
    ]

    as_csv = await api.client.get(
        "/v1/reports/revenue-retention", params=PERIOD, headers={"Accept": "text/csv"}
    )
    assert as_csv.headers["content-type"] == "text/csv; charset=utf-8"
    assert csv_rows(as_csv.text) == items


async def test_an_empty_cohort_has_null_rates_with_a_reason(api: Harness) -> None:
    response = await api.client.get("/v1/reports/revenue-retention", params=PERIOD)

    body = response.json()
    assert (body["grr"], body["nrr"], body["items"]) == (None, None, [])
    assert body["reason"] == "no account had an active contract on start"
    as_csv = await api.client.get(
        "/v1/reports/revenue-retention", params=PERIOD, headers={"Accept": "text/csv"}
    )
    assert as_csv.text.splitlines() == [
        "account_id,account_name,start_arr,end_arr,expansion_arr,contraction_arr,churned_arr"
    ]
