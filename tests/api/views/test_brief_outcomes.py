"""The brief says what was learned: the current term's done tasks with their outcomes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from shared.models import Contract
from tests.support.api import Harness
from tests.support.factories import make_account, make_task
from tests.support.report_factories import contract

TERM_2 = date(2026, 1, 10)


async def renewed_contract(api: Harness) -> Contract:
    account = await make_account(api.db, name="Northwind")
    return await contract(
        api.db,
        account,
        (date(2025, 1, 10), TERM_2, 20_000),
        (TERM_2, date(2027, 1, 10), 24_000),
    )


def at(day: str, hour: int = 12) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


async def test_done_tasks_of_the_current_term_are_listed_most_recent_first(
    api: Harness,
) -> None:
    row = await renewed_contract(api)
    tasks = [  # kind, title, status, term, closed on, outcome
        ("kickoff", "Kick-off call", "done", 2, "2026-01-20", "Goals agreed: 3 weekly reports"),
        ("mid_term_review", "Mid-term review", "done", 2, "2026-07-15", "Two teams stopped"),
        ("onsite_visit", "On-site visit", "done", 2, "2026-05-02", None),
        # Not listed: another term's, a dismissed, an auto-closed and an open task.
        ("kickoff", "Term 1 kick-off", "done", 1, "2025-01-15", "Old news"),
        ("onsite_visit", "Dismissed visit", "dismissed", 2, "2026-06-01", "Not needed"),
        ("renewal_outreach", "Auto-closed outreach", "auto_closed", 2, "2026-06-02", None),
        ("budget_confirmation", "Confirm the budget", "open", 2, None, None),
    ]
    for kind, title, status, term, closed_on, outcome in tasks:
        closed_at = at(closed_on) if closed_on else None
        fields = {"kind": kind, "title": title, "status": status, "term": term}
        await make_task(api.db, row, **fields, closed_at=closed_at, outcome=outcome)

    body = (await api.client.get(f"/v1/contracts/{row.id}/brief")).json()

    assert [(t["kind"], t["title"], t["closed_on"], t["outcome"]) for t in body["done_tasks"]] == [
        ("mid_term_review", "Mid-term review", "2026-07-15", "Two teams stopped"),
        ("onsite_visit", "On-site visit", "2026-05-02", None),
        ("kickoff", "Kick-off call", "2026-01-20", "Goals agreed: 3 weekly reports"),
    ]
    assert [t["title"] for t in body["open_tasks"]] == ["Confirm the budget"]


async def test_the_closing_day_is_the_utc_day(api: Harness) -> None:
    row = await renewed_contract(api)
    late_in_new_york = datetime(2026, 3, 1, 22, 30, tzinfo=timezone(timedelta(hours=-5)))
    await make_task(api.db, row, status="done", term=2, closed_at=late_in_new_york)

    body = (await api.client.get(f"/v1/contracts/{row.id}/brief")).json()

    assert [t["closed_on"] for t in body["done_tasks"]] == ["2026-03-02"]


async def test_markdown_lists_outcomes_under_done_this_term(api: Harness) -> None:
    row = await renewed_contract(api)
    outcome = "Goals agreed | owner: Dana\nnext: pilot"
    for title, closed_on, said in [("Kick-off call", "2026-01-20", outcome),
                                   ("On-site visit", "2026-05-02", None)]:  # fmt: skip
        await make_task(
            api.db, row, title=title, status="done", term=2, closed_at=at(closed_on), outcome=said
        )

    page = (
        await api.client.get(f"/v1/contracts/{row.id}/brief", headers={"Accept": "text/markdown"})
    ).text

    done = page.split("## Done this term\n\n")[1]
    assert done.splitlines()[:4] == [
        "| Closed | Task | Outcome |",
        "|---|---|---|",
        "| 2026-05-02 | On-site visit | no outcome recorded |",
        "| 2026-01-20 | Kick-off call | Goals agreed \\| owner: Dana next: pilot |",
    ]


async def test_a_term_with_nothing_done_says_so(api: Harness) -> None:
    row = await renewed_contract(api)
    await make_task(api.db, row, status="done", term=1, closed_at=at("2025-02-01"))

    json_body = (await api.client.get(f"/v1/contracts/{row.id}/brief")).json()
    page = (
        await api.client.get(f"/v1/contracts/{row.id}/brief", headers={"Accept": "text/markdown"})
    ).text

    assert json_body["done_tasks"] == []
    assert "## Done this term\n\nNothing done yet this term.\n" in page
