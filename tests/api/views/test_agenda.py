"""An account manager's week: overdue first, then Monday to Sunday, most urgent first."""

from __future__ import annotations

from datetime import date

import pytest

from services.api.views import router as views_router
from tests.support.api import Harness
from tests.support.factories import make_account, make_contract, make_task

ANN, BOB = "ann@vendor.example", "bob@vendor.example"
WEEK = "2026-W49"  # Monday 2026-11-30 to Sunday 2026-12-06


async def build(api: Harness) -> None:
    db = api.db
    small = await make_contract(db, await make_account(db, name="Small Co", owner=ANN),
                                arr_minor=500_000)  # fmt: skip
    big = await make_contract(db, await make_account(db, name="Big Co", owner=ANN),
                              arr_minor=9_000_000)  # fmt: skip
    for title, due, priority, row in (
        ("Older overdue", date(2026, 11, 20), "normal", small),
        ("Newer overdue", date(2026, 11, 29), "urgent", small),
        ("Tuesday low", date(2026, 12, 1), "low", big),
        ("Tuesday urgent", date(2026, 12, 1), "urgent", small),
        ("Tuesday high, big", date(2026, 12, 1), "high", big),
        ("Tuesday high, small", date(2026, 12, 1), "high", small),
        ("Sunday", date(2026, 12, 6), "normal", small),
        ("Next Monday", date(2026, 12, 7), "urgent", small),
    ):
        await make_task(db, row, title=title, due_date=due, priority=priority, owner=ANN)
    await make_task(db, small, title="Done this week", due_date=date(2026, 12, 2), owner=ANN,
                    status="done")  # fmt: skip
    await make_task(db, big, title="Bob's", due_date=date(2026, 12, 2), owner=BOB)


def _titles(items: list[dict[str, object]]) -> list[object]:
    return [item["title"] for item in items]


async def test_agenda_puts_overdue_first_then_each_day_by_priority(api: Harness) -> None:
    await build(api)

    response = await api.client.get("/v1/agenda", params={"owner": ANN, "week": WEEK})

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["week"], body["start"], body["end"]) == (WEEK, "2026-11-30", "2026-12-06")
    assert _titles(body["overdue"]) == ["Older overdue", "Newer overdue"]
    assert [(d["date"], d["weekday"]) for d in body["days"]][:2] == [
        ("2026-11-30", "Monday"),
        ("2026-12-01", "Tuesday"),
    ]
    assert [_titles(d["items"]) for d in body["days"]] == [
        [],
        ["Tuesday urgent", "Tuesday high, big", "Tuesday high, small", "Tuesday low"],
        [],
        [],
        [],
        [],
        ["Sunday"],
    ]
    tuesday = body["days"][1]["items"]
    assert [(i["priority"], i["arr"], i["account_name"]) for i in tuesday] == [
        ("urgent", "5000.00", "Small Co"),
        ("high", "90000.00", "Big Co"),
        ("high", "5000.00", "Small Co"),
        ("low", "90000.00", "Big Co"),
    ]


@pytest.mark.parametrize("week", ["2026-W49", "2026-w49", "2026-11-30", "2026-12-03", "2026-12-06"])
async def test_week_is_an_iso_week_or_any_date_in_it(api: Harness, week: str) -> None:
    response = await api.client.get("/v1/agenda", params={"owner": ANN, "week": week})

    assert response.status_code == 200, response.text
    assert (response.json()["week"], response.json()["start"]) == (WEEK, "2026-11-30")


async def test_week_defaults_to_this_week(api: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(views_router, "today", lambda: date(2026, 12, 3))

    body = (await api.client.get("/v1/agenda", params={"owner": ANN})).json()

    assert (body["week"], body["start"]) == (WEEK, "2026-11-30")


@pytest.mark.parametrize("week", ["2026-W54", "2026-W7", "next week", "2026-02-30", "20261203"])
async def test_a_bad_week_is_422_naming_the_field(api: Harness, week: str) -> None:
    response = await api.client.get("/v1/agenda", params={"owner": ANN, "week": week})

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert [error["field"] for error in response.json()["errors"]] == ["week"]


async def test_agenda_needs_an_owner(api: Harness) -> None:
    response = await api.client.get("/v1/agenda", params={"week": WEEK})

    assert response.status_code == 422, response.text
    assert [error["field"] for error in response.json()["errors"]] == ["owner"]
