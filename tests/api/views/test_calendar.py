"""The iCalendar feed: parses, carries what Outlook and Google Calendar need, one event
per open task and per contract date; opened by a calendar token in the query or an API
key in the header."""

from __future__ import annotations

from datetime import date

import pytest
from icalendar import Calendar

from services.api.views import router as views_router
from tests.support.api import Harness
from tests.support.factories import make_account, make_contract, make_task

ANN, BOB = "ann@vendor.example", "bob@vendor.example"
PLAYBOOK = (
    "Why now: the renewal is near.\nPeople: Dana.\nARR: 24000.00\nSteps: call.\nDone: booked."
)


@pytest.fixture(autouse=True)
def _today(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(views_router, "today", lambda: date(2026, 9, 1))


async def build(api: Harness) -> dict[str, str]:
    db = api.db
    ann = await make_account(db, name="Northwind", owner=ANN)
    bob = await make_account(db, name="Bob's customer", owner=BOB)
    noticed = await make_contract(
        db, ann, start_date=date(2026, 1, 15), end_date=date(2027, 1, 15), notice_period_days=30
    )
    plain = await make_contract(db, ann, start_date=date(2025, 10, 1), end_date=date(2026, 10, 1))
    # Not active on 2026-09-01: churned, and lapsed (R + 30 days passed, no auto-renewal).
    await make_contract(db, ann, status="churned", churned_on=date(2026, 5, 1),
                        start_date=date(2025, 10, 1), end_date=date(2026, 10, 1))  # fmt: skip
    await make_contract(db, ann, start_date=date(2025, 6, 1), end_date=date(2026, 6, 1))
    await make_contract(db, bob)
    outreach = await make_task(db, noticed, title="Renewal outreach", description=PLAYBOOK,
                               due_date=date(2026, 11, 16), owner=ANN)  # fmt: skip
    kickoff = await make_task(db, plain, title="Overdue review", due_date=date(2026, 8, 1),
                              owner=ANN)  # fmt: skip
    await make_task(db, plain, title="Done already", status="done", owner=ANN)
    await make_task(db, noticed, title="Bob's task", owner=BOB)
    return {
        "noticed": str(noticed.id),
        "plain": str(plain.id),
        "outreach": str(outreach.id),
        "kickoff": str(kickoff.id),
    }


async def test_feed_parses_and_has_one_event_per_task_and_contract_date(api: Harness) -> None:
    ids = await build(api)

    response = await api.client.get("/v1/calendar.ics", params={"owner": ANN})

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    cal = Calendar.from_ical(response.content)
    assert str(cal["VERSION"]) == "2.0"
    assert str(cal["PRODID"])
    assert str(cal["CALSCALE"]) == "GREGORIAN"
    assert str(cal["METHOD"]) == "PUBLISH"
    assert ANN in str(cal["X-WR-CALNAME"])
    events = {str(e["UID"]): e for e in cal.walk("VEVENT")}
    assert len(events) == len(cal.walk("VEVENT")) == 7
    for event in events.values():
        assert event.get("DTSTAMP") is not None
        start = event.decoded("DTSTART")
        assert type(start) is date  # all-day
        assert event.decoded("DTEND") == date.fromordinal(start.toordinal() + 1)
    summary_and_day = {uid: (str(e["SUMMARY"]), e.decoded("DTSTART")) for uid, e in events.items()}
    n, p = ids["noticed"], ids["plain"]
    assert summary_and_day == {
        f"task-{ids['outreach']}@renewal-engine": ("Renewal outreach", date(2026, 11, 16)),
        f"task-{ids['kickoff']}@renewal-engine": ("Overdue review", date(2026, 8, 1)),
        # FYS(2027-01-15) = 2027-01-01, 90 days before; R - 30 days; R.
        f"contract-{n}-budget@renewal-engine": ("Budget fixed: Northwind", date(2026, 10, 3)),
        f"contract-{n}-notice@renewal-engine": ("Notice deadline: Northwind", date(2026, 12, 16)),
        f"contract-{n}-renewal@renewal-engine": ("Renewal: Northwind", date(2027, 1, 15)),
        f"contract-{p}-budget@renewal-engine": ("Budget fixed: Northwind", date(2025, 10, 3)),
        f"contract-{p}-renewal@renewal-engine": ("Renewal: Northwind", date(2026, 10, 1)),
    }
    description = str(events[f"task-{ids['outreach']}@renewal-engine"]["DESCRIPTION"])
    assert description.startswith("Why now: the renewal is near.\nPeople: Dana.\nARR: 24000.00")
    assert "Steps: call." not in description
    assert f"Contract: {n}" in description
    assert "Account: Northwind" in description
    assert "http" not in response.text


async def test_an_api_key_in_the_query_is_refused(api: Harness) -> None:
    """Feed URLs end up in sync logs and shared calendars: they carry calendar tokens."""
    key = await api.new_key("read")
    async with api.as_key(None) as anonymous:
        response = await anonymous.get("/v1/calendar.ics", params={"owner": ANN, "key": key})

    assert response.status_code == 401, response.text
    assert "calendar token" in response.json()["detail"]


async def test_an_api_key_in_the_header_still_opens_the_feed(api: Harness) -> None:
    async with api.as_key(await api.new_key("read")) as reader:
        response = await reader.get("/v1/calendar.ics", params={"owner": ANN})

    assert response.status_code == 200, response.text
    assert Calendar.from_ical(response.content).walk("VEVENT") == []


@pytest.mark.parametrize(("key", "status"), [(None, 401), ("rnw_wrong", 401), ("write", 403)])
async def test_a_missing_or_wrong_key_is_refused(
    api: Harness, key: str | None, status: int
) -> None:
    params = {"owner": ANN}
    async with api.as_key(None if key in (None, "rnw_wrong") else await api.new_key(key)) as c:
        if key == "rnw_wrong":
            c.headers["Authorization"] = "Bearer rnw_wrong"
        response = await c.get("/v1/calendar.ics", params=params)

    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("route", ["/v1/calendar.ics", "/v1/agenda"])
async def test_an_owner_with_a_line_break_is_422_not_500(api: Harness, route: str) -> None:
    """It would end up in an iCalendar content line, which may not contain one."""
    response = await api.client.get(route, params={"owner": "ann@vendor.example\nX-EVIL:1"})

    assert response.status_code == 422, response.text
    assert [error["field"] for error in response.json()["errors"]] == ["owner"]


async def test_a_wrong_bearer_key_is_refused(api: Harness) -> None:
    async with api.as_key("rnw_wrong") as client:
        response = await client.get("/v1/calendar.ics", params={"owner": ANN})

    assert response.status_code == 401, response.text


async def test_names_with_separators_and_line_breaks_come_back_as_typed(api: Harness) -> None:
    """Names stored before input refused control characters: RFC 5545 escapes `,;\\` and
    line breaks, so a name can neither end its property nor start another event."""
    name = "Smith, Jones; Co \\ Ltd\nEMEA\r\nEND:VEVENT\rBEGIN:VEVENT\x1b[31m"
    account = await make_account(api.db, name=name, owner=ANN)
    row = await make_contract(api.db, account, start_date=date(2026, 1, 15),
                              end_date=date(2027, 1, 15))  # fmt: skip
    await make_task(api.db, row, title=f"Call {name}", due_date=date(2026, 11, 16), owner=ANN)

    response = await api.client.get("/v1/calendar.ics", params={"owner": ANN})

    assert response.status_code == 200, response.text
    assert b"\x1b" not in response.content
    events = Calendar.from_ical(response.content).walk("VEVENT")
    shown = "Smith, Jones; Co \\ Ltd\nEMEA\nEND:VEVENT\nBEGIN:VEVENT [31m"
    assert sorted(str(e["SUMMARY"]) for e in events) == [
        f"Budget fixed: {shown}", f"Call {shown}", f"Renewal: {shown}"
    ]  # fmt: skip
    assert all(f"Account: {shown}\nContract: {row.id}" in str(e["DESCRIPTION"]) for e in events)
