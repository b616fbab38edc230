"""`/console/partners`: the retention and renewal-rate reports, drawn and tabled."""

from __future__ import annotations

import re
from datetime import timedelta

from shared.clock import today
from shared.rules.calendar import add_months
from tests.api.console.support import signed_in
from tests.support.api import Harness
from tests.support.factories import make_account, make_partner
from tests.support.report_factories import churned, contract


def _row(html: str, marker: str) -> dict[str, str]:
    row = re.search(rf"<tr data-{marker}>(.*?)</tr>", html, re.S)
    assert row, f"no row {marker}"
    return dict(re.findall(r'data-field="(\w+)">(.*?)</td>', row[1], re.S))


async def test_partners_page_shows_retention_against_the_tier_lines_as_the_report_does(
    api: Harness,
) -> None:
    day = today()
    silver = await make_partner(api.db, name="Silverline", tier="silver")
    account = await make_account(api.db)
    running = (day - timedelta(days=200), day + timedelta(days=165), 10_000)
    for _ in range(2):
        await contract(api.db, account, running, partner=silver)
    await contract(api.db, account, running, partner=silver, **churned(day - timedelta(days=30)))
    await contract(api.db, account, running)

    report = (await api.client.get("/v1/reports/retention")).json()
    async with signed_in(api, "read") as console:
        page = await console.get("/console/partners")

    assert page.status_code == 200, page.text
    [partner_row] = [i for i in report["items"] if i["partner_name"] == "Silverline"]
    assert (partner_row["active"], partner_row["closed"]) == (2, 1)
    assert _row(page.text, f'partner="{silver.id}"') == {
        "active": "2",
        "closed": "1",
        "excluded": "0",
        "retention_rate": "67 %",
        "target": "70 %",
        "meets_tier": "<strong>No</strong>",
    }
    assert _row(page.text, 'partner="direct"')["active"] == "1"
    svg = page.text[page.text.index("<svg") :]
    assert "silver 70 %" in svg
    assert "gold 80 %" in svg
    assert "66.7 %" in svg


async def test_partners_page_shows_the_renewal_rate_direct_and_through_partners(
    api: Harness,
) -> None:
    day = today()
    partner = await make_partner(api.db, name="Channel Co", tier="gold")
    account = await make_account(api.db)
    first = (day - timedelta(days=400), day - timedelta(days=40), 5_000)
    second = (day - timedelta(days=40), day + timedelta(days=325), 5_000)
    await contract(api.db, account, first, second)
    await contract(api.db, account, first, **churned(day - timedelta(days=40)))
    await contract(api.db, account, first, second, partner=partner)

    period = {"start": str(add_months(day, -12)), "end": str(day)}
    report = (await api.client.get("/v1/reports/renewal-rate", params=period)).json()
    async with signed_in(api, "read") as console:
        page = await console.get("/console/partners")

    assert report["by_channel"]["direct"]["renewal_rate"] == 0.5
    assert _row(page.text, 'channel="direct"') == {
        "renewed": "1",
        "churned": "1",
        "lapsed": "0",
        "pending": "0",
        "renewal_rate": "50 %",
    }
    assert _row(page.text, 'channel="partner"')["renewal_rate"] == "100 %"
    assert _row(page.text, 'channel="all"')["renewed"] == "2"


async def test_partners_page_needs_a_session(api: Harness) -> None:
    async with api.as_key(None) as anonymous:
        page = await anonymous.get("/console/partners")

    assert page.status_code == 303
    assert page.headers["location"] == "/console"
