"""Renewal rate over terms ending in [2026-01-01, 2026-07-01), as of 2026-09-01."""

from __future__ import annotations

from datetime import date

from tests.support.api import Harness
from tests.support.factories import make_account, make_partner
from tests.support.report_factories import as_cells, churned, contract, csv_rows

PARAMS = {"start": "2026-01-01", "end": "2026-07-01", "as_of": "2026-09-01"}


async def build(api: Harness) -> None:
    db = api.db
    direct = await make_account(db, name="Direct")
    # renewed with an upsell; churned; lapsed (R + 30 = 2026-05-01 before as_of)
    await contract(
        db,
        direct,
        (date(2025, 2, 1), date(2026, 2, 1), 10_000),
        (date(2026, 2, 1), date(2027, 2, 1), 12_000),
    )
    await contract(
        db, direct, (date(2025, 3, 1), date(2026, 3, 1), 10_000), **churned(date(2026, 3, 1))
    )
    await contract(db, direct, (date(2025, 4, 1), date(2026, 4, 1), 10_000))
    partner = await make_partner(db, name="Reseller", tier="silver")
    resold = await make_account(db, name="Resold", partner_id=partner.id)
    # renewed with a downsell; renewed flat; auto-renewal not yet recorded (pending);
    # R on the exclusive end; R before the start.
    await contract(
        db,
        resold,
        (date(2025, 5, 1), date(2026, 5, 1), 10_000),
        (date(2026, 5, 1), date(2027, 5, 1), 8_000),
        partner=partner,
    )
    await contract(
        db,
        resold,
        (date(2025, 6, 1), date(2026, 6, 1), 5_000),
        (date(2026, 6, 1), date(2027, 6, 1), 5_000),
        partner=partner,
    )
    await contract(
        db, resold, (date(2025, 6, 15), date(2026, 6, 15), 5_000), partner=partner, auto_renew=True
    )
    await contract(db, resold, (date(2025, 7, 1), date(2026, 7, 1), 5_000), partner=partner)
    await contract(db, resold, (date(2024, 12, 31), date(2025, 12, 31), 5_000), partner=partner)


def counts(
    renewed: int, churned: int, lapsed: int, pending: int, up: int, down: int, rate: float | None
) -> dict[str, object]:
    return {
        "renewed": renewed,
        "churned": churned,
        "lapsed": lapsed,
        "pending": pending,
        "upsell": up,
        "downsell": down,
        "renewal_rate": rate,
        "reason": None,
    }


async def test_renewal_rate_overall_and_by_channel_with_upsell_and_downsell(api: Harness) -> None:
    await build(api)

    response = await api.client.get("/v1/reports/renewal-rate", params=PARAMS)

    assert response.status_code == 200, response.text
    body = response.json()
    assert {k: body[k] for k in counts(0, 0, 0, 0, 0, 0, None)} == counts(3, 1, 1, 1, 1, 1, 0.6)
    assert body["by_channel"] == {
        "direct": counts(1, 1, 1, 0, 1, 0, 0.3333),
        "partner": counts(2, 0, 0, 1, 0, 1, 1.0),
    }
    assert [
        (i["renewal_date"], i["channel"], i["outcome"], i["change"]) for i in body["items"]
    ] == [
        ("2026-02-01", "direct", "renewed", "upsell"),
        ("2026-03-01", "direct", "churned", None),
        ("2026-04-01", "direct", "lapsed", None),
        ("2026-05-01", "partner", "renewed", "downsell"),
        ("2026-06-01", "partner", "renewed", "flat"),
        ("2026-06-15", "partner", "pending", None),
    ]
    assert body["items"][0]["arr"] == "10000.00"
    assert body["items"][0]["next_arr"] == "12000.00"

    as_csv = await api.client.get(
        "/v1/reports/renewal-rate", params=PARAMS, headers={"Accept": "text/csv"}
    )
    assert csv_rows(as_csv.text) == [as_cells(i) for i in body["items"]]


async def test_a_period_without_renewals_has_no_rate(api: Harness) -> None:
    body = (await api.client.get("/v1/reports/renewal-rate", params=PARAMS)).json()

    assert body["renewal_rate"] is None
    assert body["reason"] == "no renewal in the period was decided"
    assert body["by_channel"]["partner"]["renewal_rate"] is None
