"""The radar shows the forecast report's numbers, to the cent, for every filter."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from shared.rules.types import Segment
from tests.api.console.support import external_references, signed_in
from tests.api.contracts.factories import make_account, make_contract, make_partner
from tests.support.api import Harness

ANN, BOB = "ann@vendor.example", "bob@vendor.example"
FIELDS = (
    "contracts",
    "commit_arr",
    "probable_arr",
    "at_risk_arr",
    "lost_arr",
    "renewed_arr",
    "arr_total",
    "expected_arr",
)
_ROW = re.compile(r'<tr data-month="([^"]+)">(.*?)</tr>', re.DOTALL)
_CELL = re.compile(r'data-field="([a-z_]+)">([^<]*)<')


def _renewing(days: int, arr: str) -> dict[str, str]:
    r = date.today() + timedelta(days=days)
    return {
        "start_date": (r - timedelta(days=365)).isoformat(),
        "end_date": r.isoformat(),
        "arr": arr,
    }


async def _portfolio(api: Harness) -> dict[str, Any]:
    partner = await make_partner(api)
    ann = await make_account(api, name="Ann's Co", owner=ANN)
    bob = await make_account(api, name="Bob's Co", owner=BOB, partner_id=partner["id"])
    first = await make_contract(api, ann["id"], **_renewing(20, "1000.10"))
    await make_contract(api, ann["id"], **_renewing(75, "2000"))
    late = await make_contract(api, bob["id"], **_renewing(200, "5000.99"))
    await make_contract(api, bob["id"], **_renewing(400, "9000"))  # beyond the radar
    response = await api.client.put(
        f"/v1/contracts/{late['id']}/forecast",
        json={"category": "commit", "expected_arr": "5500.01"},
    )
    assert response.status_code == 200, response.text
    return {"partner": partner, "first": first}


def _table(html: str) -> dict[str, dict[str, str]]:
    return {month: dict(_CELL.findall(cells)) for month, cells in _ROW.findall(html)}


def _expected(report: dict[str, Any]) -> dict[str, dict[str, str]]:
    rows = {item["month"]: item for item in report["items"]} | {"total": report["totals"]}
    return {month: {f: str(row[f]) for f in FIELDS} for month, row in rows.items()}


async def test_the_radar_equals_the_forecast_report_for_every_filter(api: Harness) -> None:
    made = await _portfolio(api)
    cuts: list[tuple[dict[str, str], dict[str, str]]] = [
        ({}, {}),
        ({"owner": ANN}, {"owner": ANN}),
        ({"partner": made["partner"]["id"]}, {"partner_id": made["partner"]["id"]}),
        ({"owner": BOB, "partner": ""}, {"owner": BOB}),
        *(({"segment": s.value}, {"segment": s.value}) for s in Segment),
    ]
    async with signed_in(api, "read") as reader:
        for radar_params, api_params in cuts:
            page = await reader.get("/console/radar", params=radar_params)
            report = await api.client.get("/v1/reports/forecast", params=api_params)
            assert page.status_code == report.status_code == 200, page.text
            assert _table(page.text) == _expected(report.json()), radar_params
            totals = report.json()["totals"]
            for figure in ("arr_total", "at_risk_arr", "expected_arr"):
                assert f'data-figure="{figure}">{totals[figure]}<' in page.text

    everything = (await api.client.get("/v1/reports/forecast")).json()["totals"]
    assert everything["contracts"] == 3
    assert everything["arr_total"] == "8001.09"
    assert everything["commit_arr"] == "5000.99"


async def test_a_month_lists_its_contracts_each_linking_to_its_page_and_bad_filters_422(
    api: Harness,
) -> None:
    made = await _portfolio(api)
    month = made["first"]["end_date"][:7]
    report = (await api.client.get("/v1/reports/forecast", params={"owner": ANN})).json()
    summed = next(item for item in report["items"] if item["month"] == month)
    async with signed_in(api, "read") as reader:
        radar = await reader.get("/console/radar", params={"owner": ANN})
        assert f'href="/console/radar/{month}?owner=ann%40vendor.example"' in radar.text
        page = await reader.get(f"/console/radar/{month}", params={"owner": ANN})
        outside = await reader.get("/console/radar/1999-01")
        bad_partner = await reader.get("/console/radar", params={"partner": "nope"})
        bad_segment = await reader.get("/console/radar", params={"segment": "huge"})

    assert page.status_code == 200
    assert f'href="/console/contracts/{made["first"]["id"]}"' in page.text
    arrs = re.findall(r'<td class="num">([0-9.]+)</td>\s*<td class="num">', page.text)
    assert sum(Decimal(a) for a in arrs) == Decimal(summed["arr_total"])
    assert len(arrs) == summed["contracts"]
    assert outside.status_code == 404
    assert bad_partner.status_code == bad_segment.status_code == 422


async def test_no_page_loads_anything_from_another_origin(api: Harness) -> None:
    made = await _portfolio(api)
    async with signed_in(api, "admin") as admin:
        pages = [
            await admin.get(path)
            for path in (
                "/console/radar",
                f"/console/radar/{made['first']['end_date'][:7]}",
                "/console/week?owner=" + ANN,
                f"/console/contracts/{made['first']['id']}",
                "/console/partners",
                "/console/operations",
            )
        ]
        css = await admin.get("/console/static/console.css")
        js = await admin.get("/console/static/console.js")
    sign_in = await api.client.get("/console")  # the API key is no session: the form

    for page in [*pages, sign_in]:
        assert page.status_code == 200, page.url
        assert external_references(page.text) == [], page.url
        assert "<script" not in page.text.replace('<script src="/console/static/console.js"', "")
        assert "default-src 'none'" in page.headers["content-security-policy"]
    assert "<svg" in pages[0].text
    assert css.status_code == js.status_code == 200
    assert "http" not in css.text + js.text
