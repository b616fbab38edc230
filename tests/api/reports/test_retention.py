"""Partner retention (DESIGN §3.3) on a hand-built portfolio, as of 2026-06-30: the
window is (2025-06-30, 2026-06-30]."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from shared.config import Settings
from shared.models import Partner
from tests.support.api import Harness, open_harness
from tests.support.factories import make_account, make_partner
from tests.support.report_factories import as_cells, churned, contract, csv_rows

AS_OF = "2026-06-30"
RUNNING: tuple[date, date, int] = (date(2026, 1, 1), date(2027, 1, 1), 1000)
EARLIER: tuple[date, date, int] = (date(2025, 1, 1), date(2026, 1, 1), 1000)


async def _partner_portfolio(api: Harness, name: str, tier: str | None) -> tuple[Partner, Any]:
    partner = await make_partner(api.db, name=name, tier=tier)
    account = await make_account(api.db, name=f"{name} customer", partner_id=partner.id)
    return partner, account


async def build(api: Harness) -> dict[str, Partner]:
    db = api.db
    # Alpha, gold, exactly at 80 %: 4 active, 1 churn a day inside the window; a
    # business_closed churn left out; a churn exactly 12 months back is outside the window.
    alpha, account = await _partner_portfolio(api, "Alpha", "gold")
    for _ in range(4):
        await contract(db, account, RUNNING, partner=alpha)
    await contract(db, account, EARLIER, partner=alpha, **churned(date(2025, 7, 1)))
    await contract(
        db, account, EARLIER, partner=alpha, **churned(date(2026, 1, 10), "business_closed")
    )
    await contract(db, account, EARLIER, partner=alpha, **churned(date(2025, 6, 30)))
    # Beta, silver, just under: one running and one in its 30-day grace (R 2026-06-01)
    # are active; one lapsed (R 2026-05-01, R + 30 = 2026-05-31 passed).
    beta, account = await _partner_portfolio(api, "Beta", "silver")
    await contract(db, account, RUNNING, partner=beta)
    await contract(db, account, (date(2025, 6, 1), date(2026, 6, 1), 1000), partner=beta)
    await contract(db, account, (date(2025, 5, 1), date(2026, 5, 1), 1000), partner=beta)
    # Gamma, silver, above: 3 active, 1 churned.
    gamma, account = await _partner_portfolio(api, "Gamma", "silver")
    for _ in range(3):
        await contract(db, account, RUNNING, partner=gamma)
    await contract(db, account, EARLIER, partner=gamma, **churned(date(2026, 2, 1), "budget"))
    # Delta, no tier: one running, one auto-renewing past its R (still active).
    delta, account = await _partner_portfolio(api, "Delta", None)
    await contract(db, account, RUNNING, partner=delta)
    await contract(db, account, EARLIER, partner=delta, auto_renew=True)
    # Empty, gold, no contracts: no rate, nothing to meet.
    empty = await make_partner(db, name="Empty", tier="gold")
    # Direct: 1 active, 1 churned in the window, 1 lapsed before it (R + 30 = 2025-05-31),
    # 1 not started yet.
    account = await make_account(db, name="Direct customer")
    await contract(db, account, RUNNING)
    await contract(db, account, EARLIER, **churned(date(2026, 3, 1), "competitor"))
    await contract(db, account, (date(2024, 5, 1), date(2025, 5, 1), 1000))
    await contract(db, account, (date(2026, 8, 1), date(2027, 8, 1), 1000))
    return {"alpha": alpha, "beta": beta, "gamma": gamma, "delta": delta, "empty": empty}


def row(
    partner: Partner | None,
    active: int,
    closed: int,
    excluded: int,
    rate: float | None,
    target: float | None,
    meets: bool | None,
) -> dict[str, Any]:
    return {
        "partner_id": str(partner.id) if partner else None,
        "partner_name": partner.name if partner else None,
        "channel": "partner" if partner else "direct",
        "tier": partner.tier if partner else None,
        "active": active,
        "closed": closed,
        "excluded": excluded,
        "retention_rate": rate,
        "target": target,
        "meets_tier": meets,
    }


async def test_retention_per_partner_against_tier_targets_with_the_direct_row(
    api: Harness,
) -> None:
    p = await build(api)

    response = await api.client.get("/v1/reports/retention", params={"as_of": AS_OF})

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["as_of"] == AS_OF
    assert body["window_start"] == "2025-06-30"
    assert body["excluded_reasons"] == ["business_closed"]
    assert body["items"] == [
        row(p["alpha"], 4, 1, 1, 0.8, 0.8, True),
        row(p["beta"], 2, 1, 0, 0.6667, 0.7, False),
        row(p["delta"], 2, 0, 0, 1.0, None, None),
        row(p["empty"], 0, 0, 0, None, 0.8, None),
        row(p["gamma"], 3, 1, 0, 0.75, 0.7, True),
        row(None, 1, 1, 0, 0.5, None, None),
    ]


async def test_retention_as_csv_matches_the_json_rows(api: Harness) -> None:
    await build(api)
    params = {"as_of": AS_OF}

    as_json = (await api.client.get("/v1/reports/retention", params=params)).json()
    response = await api.client.get(
        "/v1/reports/retention", params=params, headers={"Accept": "text/csv"}
    )

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    rows = csv_rows(response.text)
    assert len(rows) == len(as_json["items"]) == 6
    for parsed, item in zip(rows, as_json["items"], strict=True):
        assert parsed == as_cells(item)


async def test_retention_of_an_empty_portfolio_has_no_rate(api: Harness) -> None:
    response = await api.client.get("/v1/reports/retention", params={"as_of": AS_OF})

    assert response.json()["items"] == [row(None, 0, 0, 0, None, None, None)]


async def test_excluded_reasons_come_from_a_comma_separated_setting(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RENEWALS_RETENTION_EXCLUDED_REASONS", "business_closed, budget")
    assert Settings(database_url=db_url).retention_excluded_reasons == ["business_closed", "budget"]

    async with open_harness(
        db_url, retention_excluded_reasons=["business_closed", "budget"]
    ) as api:
        p = await build(api)
        body = (await api.client.get("/v1/reports/retention", params={"as_of": AS_OF})).json()

    gamma = next(item for item in body["items"] if item["partner_name"] == "Gamma")
    assert gamma == row(p["gamma"], 3, 0, 1, 1.0, 0.7, True)
