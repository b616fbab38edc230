"""The renewal brief of a hand-built contract, as JSON and as Markdown."""

from __future__ import annotations

import html
import uuid
from datetime import UTC, date, datetime
from typing import Any

from markdown_it import MarkdownIt

from shared.db import Database
from shared.models import Account, Contract, EventLogEntry, Goal, Stakeholder, UsageReport
from tests.support.api import Harness
from tests.support.factories import make_account, make_task
from tests.support.report_factories import contract

AS_OF = "2026-09-01"
OWNER = "ann@vendor.example"
ERASED_NAME = "Eve Forgotten"


async def _add(db: Database, *rows: Any) -> None:
    async with db.transaction() as session:
        session.add_all(rows)


def _event(account: Account, type: str, person: Stakeholder, at: datetime, **data: Any) -> Any:
    return EventLogEntry(
        event_id=str(uuid.uuid4()),
        type=type,
        time=at,
        actor="test",
        account_id=account.id,
        contract_id=None,
        subject=str(person.id),
        data={"id": str(person.id), "account_id": str(account.id)} | data,
    )


async def build(api: Harness) -> Contract:
    db = api.db
    account = await make_account(
        db, name="Northwind", owner=OWNER, fiscal_year_start_month=4, budget_lead_days=60
    )
    row = await contract(
        db,
        account,
        (date(2025, 1, 10), date(2026, 1, 10), 20_000),
        (date(2026, 1, 10), date(2027, 1, 10), 24_000),
        notice_period_days=45,
        health_score=55,
        health_band="yellow",
        health_signals=[
            {"signal": "key_stakeholder_lost", "points": -30},
            {"signal": "goal_at_risk", "points": -20},
        ],
    )
    dana = Stakeholder(account_id=account.id, name="Dana Owner", role="business_owner")
    # Erasure nulls the name and e-mail (the old name lives nowhere in the database).
    eve = Stakeholder(
        account_id=account.id,
        name=None,
        email=None,
        role="champion",
        erased_at=datetime(2026, 6, 1, tzinfo=UTC),
    )
    await _add(
        db,
        Goal(contract_id=row.id, name="Faster onboarding", target="under 2 days", status="at_risk"),
        Goal(contract_id=row.id, name="Weekly reporting", target="all teams", status="on_track"),
        UsageReport(contract_id=row.id, active_users=30, seats=50, as_of=date(2026, 6, 1)),
        UsageReport(contract_id=row.id, active_users=40, seats=50, as_of=date(2026, 3, 1)),
        dana,
        eve,
    )
    await _add(
        db,
        _event(account, "stakeholder.added", dana, datetime(2025, 2, 1, tzinfo=UTC),
               role="business_owner", status="active"),
        _event(account, "stakeholder.added", eve, datetime(2025, 2, 2, tzinfo=UTC),
               role="champion", status="active"),
        _event(account, "stakeholder.erased", eve, datetime(2026, 6, 1, tzinfo=UTC),
               role="champion", status="active"),
        _event(account, "stakeholder.departed", dana, datetime(2026, 7, 1, tzinfo=UTC),
               role="business_owner", status="departed",
               previous={"role": "business_owner", "status": "active"}),
    )  # fmt: skip
    other = await make_account(db, name="Elsewhere")
    stranger = Stakeholder(account_id=other.id, name="Sam Stranger", role="business_owner")
    await _add(db, stranger)
    await _add(db, _event(other, "stakeholder.departed", stranger,
                          datetime(2026, 7, 2, tzinfo=UTC), role="business_owner"))  # fmt: skip
    await make_task(db, row, title="Meet the new business owner", due_date=date(2026, 7, 8),
                    priority="urgent", owner=OWNER)  # fmt: skip
    await make_task(db, row, title="Confirm the budget", due_date=date(2026, 9, 20), owner=OWNER)
    await make_task(db, row, title="Kick-off call (done)", status="done")
    return row


async def test_brief_json_has_every_section_with_the_contracts_facts(api: Harness) -> None:
    row = await build(api)

    response = await api.client.get(f"/v1/contracts/{row.id}/brief", params={"as_of": AS_OF})

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["account"]["name"] == "Northwind"
    assert body["account"]["owner"] == OWNER
    assert (body["contract"]["term"], body["contract"]["arr"]) == (2, "24000.00")
    assert [(g["name"], g["status"]) for g in body["goals"]] == [
        ("Faster onboarding", "at_risk"),
        ("Weekly reporting", "on_track"),
    ]
    assert [(u["as_of"], u["active_users"], u["adoption"]) for u in body["usage"]] == [
        ("2026-03-01", 40, 0.8),
        ("2026-06-01", 30, 0.6),
    ]
    assert [(s["name"], s["role"], s["status"]) for s in body["stakeholders"]] == [
        ("Dana Owner", "business_owner", "active"),
        ("[erased]", "champion", "active"),
    ]
    assert [(c["type"], c["name"], c["status"]) for c in body["stakeholder_changes"]] == [
        ("stakeholder.added", "Dana Owner", "active"),
        ("stakeholder.added", "[erased]", "active"),
        ("stakeholder.erased", "[erased]", "active"),
        ("stakeholder.departed", "Dana Owner", "departed"),
    ]
    assert body["stakeholder_changes"][-1]["previous_status"] == "active"
    assert [(t["number"], t["start"], t["end"], t["arr"]) for t in body["terms"]] == [
        (1, "2025-01-10", "2026-01-10", "20000.00"),
        (2, "2026-01-10", "2027-01-10", "24000.00"),
    ]
    assert body["health"] == {
        "score": 55,
        "band": "yellow",
        "signals": [
            {"signal": "key_stakeholder_lost", "points": -30},
            {"signal": "goal_at_risk", "points": -20},
        ],
    }
    # FYS(2027-01-10) with an April year is 2026-04-01; 60 days before is 2026-01-31.
    assert body["budget"] == {"fiscal_year_start": "2026-04-01", "budget_fixed_on": "2026-01-31"}
    assert body["dates"] == {
        "notice_deadline": "2026-11-26",
        "renewal_date": "2027-01-10",
        "days_to_renewal": 131,
    }
    assert [(t["title"], t["priority"]) for t in body["open_tasks"]] == [
        ("Meet the new business owner", "urgent"),
        ("Confirm the budget", "normal"),
    ]
    assert ERASED_NAME not in response.text
    assert "Sam Stranger" not in response.text


async def test_brief_markdown_states_the_same_facts(api: Harness) -> None:
    row = await build(api)

    response = await api.client.get(
        f"/v1/contracts/{row.id}/brief",
        params={"as_of": AS_OF},
        headers={"Accept": "text/markdown"},
    )

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/markdown")
    page = response.text
    for fact in (
        "# Renewal brief: Northwind",
        "| Faster onboarding | under 2 days | at risk |",
        "| 2026-03-01 | 40 | 50 | 80% |",
        "| 2026-06-01 | 30 | 50 | 60% |",
        "| Dana Owner | business owner | active |",
        "| \\[erased\\] | champion | active |",
        "| 2026-07-01 | departed | Dana Owner | business owner | active → departed |",
        "| 1 | 2025-01-10 | 2026-01-10 | 20000.00 |",
        "| 2 | 2026-01-10 | 2027-01-10 | 24000.00 |",
        "Score: 55 (yellow)",
        "key stakeholder lost: -30",
        "Budget fixed on: 2026-01-31",
        "Notice deadline: 2026-11-26",
        "Renewal date: 2027-01-10 (131 days)",
        "| 2026-07-08 | urgent | Meet the new business owner |",
        "| 2026-09-20 | normal | Confirm the budget |",
    ):
        assert fact in page, fact
    assert "Kick-off call (done)" not in page
    assert ERASED_NAME not in page


async def test_brief_of_an_unknown_contract_is_404(api: Harness) -> None:
    response = await api.client.get(f"/v1/contracts/{uuid.uuid4()}/brief")

    assert response.status_code == 404, response.text


async def test_brief_markdown_shows_names_as_typed_without_their_markup(api: Harness) -> None:
    """Names written before input refused control characters (or by direct imports) still
    render as one plain cell: no emphasis, link, HTML, heading or extra table column."""
    db = api.db
    name = "Acme *Corp* <b>x</b> | ~old~ ##"
    account = await make_account(db, name=name, owner=OWNER)
    row = await contract(db, account, (date(2026, 1, 10), date(2027, 1, 10), 24_000))
    goal = "[click](http://evil.example)"
    await _add(
        db,
        Goal(contract_id=row.id, name=goal, target="`rm -rf` & co\r\n# Owned", status="at_risk"),
        Stakeholder(account_id=account.id, name="Dana_\x1b[31m_Red", role="champion"),
    )
    await make_task(db, row, title="Call **now**", due_date=date(2026, 9, 20), owner=OWNER)

    response = await api.client.get(
        f"/v1/contracts/{row.id}/brief",
        params={"as_of": AS_OF},
        headers={"Accept": "text/markdown"},
    )

    assert response.status_code == 200, response.text
    page = MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(response.text)
    for tag in ("<em>", "<strong>", "<a ", "<b>", "<code>", "<s>", "<h2>Owned"):
        assert tag not in page, tag
    assert f"<h1>Renewal brief: {html.escape(name, quote=False)}</h1>" in page
    for cells in (
        [goal, "`rm -rf` & co # Owned", "at risk"],
        ["Dana_ [31m_Red", "champion", "active"],
        ["2026-09-20", "normal", "Call **now**", OWNER],
    ):
        assert "".join(f"<td>{html.escape(c, quote=False)}</td>\n" for c in cells) in page
