"""The brief and the calendar feed of an account whose fiscal year nobody recorded: they
say it is unknown and never show a budget date computed from a guessed January."""

from __future__ import annotations

from datetime import date

import pytest
from icalendar import Calendar

from services.api.views import router as views_router
from tests.support.api import Harness
from tests.support.factories import make_account, make_contract
from tests.support.report_factories import contract

OWNER = "ann@vendor.example"


@pytest.fixture(autouse=True)
def _today(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(views_router, "today", lambda: date(2026, 9, 1))


async def test_the_brief_says_the_fiscal_year_is_unknown(api: Harness) -> None:
    account = await make_account(api.db, owner=OWNER, fiscal_year_start_month=None)
    row = await contract(api.db, account, (date(2026, 1, 10), date(2027, 1, 10), 24_000))
    url = f"/v1/contracts/{row.id}/brief"

    body = (await api.client.get(url, params={"as_of": "2026-09-01"})).json()
    assert body["account"]["fiscal_year_start_month"] is None
    assert body["budget"] == {"fiscal_year_start": None, "budget_fixed_on": None}

    page = await api.client.get(
        url, params={"as_of": "2026-09-01"}, headers={"accept": "text/markdown"}
    )
    assert page.status_code == 200, page.text
    assert "- Budget fixed on: unknown - the customer's fiscal year start is not recorded" in (
        page.text
    )
    assert "-01-01" not in page.text


async def test_the_calendar_has_no_budget_date_for_an_unknown_fiscal_year(api: Harness) -> None:
    known = await make_account(api.db, name="Known", owner=OWNER)
    unknown = await make_account(api.db, name="Unknown", owner=OWNER, fiscal_year_start_month=None)
    for account in (known, unknown):
        await make_contract(
            api.db, account, start_date=date(2026, 1, 15), end_date=date(2027, 1, 15)
        )

    response = await api.client.get("/v1/calendar.ics", params={"owner": OWNER})

    assert response.status_code == 200, response.text
    summaries = sorted(
        str(e["SUMMARY"]) for e in Calendar.from_ical(response.content).walk("VEVENT")
    )
    assert summaries == ["Budget fixed: Known", "Renewal: Known", "Renewal: Unknown"]
