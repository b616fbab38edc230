"""The renewal pipeline as of 2026-03-01 within 120 days (to 2026-06-29 inclusive)."""

from __future__ import annotations

from datetime import date

from tests.support.api import Harness
from tests.support.factories import make_account, make_task
from tests.support.report_factories import as_cells, churned, contract, csv_rows, done_task

PARAMS = {"as_of": "2026-03-01", "within_days": "120"}
ANN, ANNS = "ann@vendor.example", "Ann's customer"
BOB, BOBS = "bob@vendor.example", "Bob's customer"


async def build(api: Harness) -> None:
    db = api.db
    ann = await make_account(db, name=ANNS, owner=ANN)
    bob = await make_account(db, name=BOBS, owner=BOB)
    # Renews today: green.
    await contract(db, ann, (date(2025, 3, 1), date(2026, 3, 1), 1_000))
    # Notice 30 days, outreach done this term, budget task still open.
    k1 = await contract(
        db, ann, (date(2025, 4, 1), date(2026, 4, 1), 10_000), notice_period_days=30
    )
    await done_task(db, k1, "renewal_outreach", term=1)
    await make_task(db, k1, kind="budget_confirmation", term=1)
    # Second term, yellow: outreach done only in term 1 (does not count), budget done now.
    k2 = await contract(
        db,
        bob,
        (date(2024, 5, 15), date(2025, 5, 15), 15_000),
        (date(2025, 5, 15), date(2026, 5, 15), 20_000),
        health_band="yellow",
    )
    await done_task(db, k2, "renewal_outreach", term=1)
    await done_task(db, k2, "budget_confirmation", term=2)
    # On the window's last day, red.
    await contract(db, bob, (date(2025, 6, 29), date(2026, 6, 29), 5_000), health_band="red")
    # Outside: a day after the window; churned; already past.
    await contract(db, bob, (date(2025, 6, 30), date(2026, 6, 30), 7_000), health_band="red")
    await contract(
        db, bob, (date(2025, 4, 15), date(2026, 4, 15), 9_000), **churned(date(2026, 2, 1))
    )
    await contract(db, bob, (date(2025, 2, 28), date(2026, 2, 28), 9_000))


async def test_pipeline_lists_renewals_in_the_window_with_totals_and_arr_at_risk(
    api: Harness,
) -> None:
    await build(api)

    response = await api.client.get("/v1/reports/renewals", params=PARAMS)

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["count"], body["arr_total"], body["arr_at_risk"]) == (4, "36000.00", "25000.00")
    assert [
        (
            i["account_name"],
            i["renewal_date"],
            i["days_left"],
            i["arr"],
            i["health"],
            i["owner"],
            i["notice_deadline"],
            i["outreach_done"],
            i["budget_confirmed"],
        )
        for i in body["items"]
    ] == [
        (ANNS, "2026-03-01", 0, "1000.00", "green", ANN, None, False, False),
        (ANNS, "2026-04-01", 31, "10000.00", "green", ANN, "2026-03-02", True, False),
        (BOBS, "2026-05-15", 75, "20000.00", "yellow", BOB, None, False, True),
        (BOBS, "2026-06-29", 120, "5000.00", "red", BOB, None, False, False),
    ]  # fmt: skip

    as_csv = await api.client.get(
        "/v1/reports/renewals", params=PARAMS, headers={"Accept": "text/csv"}
    )
    assert csv_rows(as_csv.text) == [as_cells(i) for i in body["items"]]


async def test_an_empty_pipeline_totals_zero(api: Harness) -> None:
    body = (await api.client.get("/v1/reports/renewals", params=PARAMS)).json()

    assert (body["count"], body["arr_total"], body["arr_at_risk"], body["items"]) == (
        0,
        "0.00",
        "0.00",
        [],
    )


async def test_a_name_that_starts_like_a_formula_is_exported_as_text(api: Harness) -> None:
    formula = '=HYPERLINK("http://evil.example","Renew")'
    account = await make_account(api.db, name=formula, owner=ANN)
    await contract(api.db, account, (date(2025, 4, 1), date(2026, 4, 1), 10_000))

    as_csv = await api.client.get(
        "/v1/reports/renewals", params=PARAMS, headers={"Accept": "text/csv"}
    )

    [row] = csv_rows(as_csv.text)
    assert (row["account_name"], row["arr"]) == ("'" + formula, "10000.00")
