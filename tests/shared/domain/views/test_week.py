"""An account manager's week around today: overdue, the rest of this week, next week."""

from __future__ import annotations

from datetime import date

from shared.db import Database
from shared.domain.accounts.service import account_owners
from shared.domain.views.week import owner_week
from tests.support.factories import make_account, make_contract, make_task

ANN, BOB = "ann@vendor.example", "bob@vendor.example"
THURSDAY = date(2026, 12, 3)  # this week ends Sunday 2026-12-06, the next 2026-12-13


async def test_open_tasks_are_grouped_around_today_with_their_playbooks(database: Database) -> None:
    db = database
    small = await make_contract(
        db, await make_account(db, name="Small", owner=ANN), arr_minor=100_000
    )
    big = await make_contract(
        db, await make_account(db, name="Big", owner=ANN), arr_minor=9_000_000
    )
    for title, due, priority, row in (
        ("Last week", date(2026, 11, 27), "normal", small),
        ("Yesterday", date(2026, 12, 2), "normal", small),
        ("Today, small", date(2026, 12, 3), "high", small),
        ("Today, big", date(2026, 12, 3), "high", big),
        ("Today, urgent", date(2026, 12, 3), "urgent", small),
        ("Sunday", date(2026, 12, 6), "low", small),
        ("Next Monday", date(2026, 12, 7), "normal", big),
        ("Next Sunday", date(2026, 12, 13), "normal", big),
        ("In two weeks", date(2026, 12, 14), "urgent", big),
    ):
        await make_task(
            db,
            row,
            title=title,
            due_date=due,
            priority=priority,
            owner=ANN,
            description=f"Playbook of {title}",
        )
    await make_task(db, small, title="Done", due_date=THURSDAY, owner=ANN, status="done")
    await make_task(db, big, title="Bob's", due_date=THURSDAY, owner=BOB)

    async with db.read() as session:
        week = await owner_week(session, ANN, THURSDAY, "USD")
        owners = await account_owners(session)
        from_sunday = await owner_week(session, ANN, date(2026, 12, 6), "USD")

    assert (week.this_week_ends, week.next_week_ends) == (date(2026, 12, 6), date(2026, 12, 13))
    assert [t.title for t in week.overdue] == ["Last week", "Yesterday"]
    assert [t.title for t in week.this_week] == [
        "Today, urgent",
        "Today, big",
        "Today, small",
        "Sunday",
    ]
    assert [t.title for t in week.next_week] == ["Next Monday", "Next Sunday"]
    assert week.this_week[1].playbook == "Playbook of Today, big"
    assert (week.this_week[1].account_name, week.this_week[1].arr) == ("Big", "90000.00")
    assert owners == [ANN]
    assert [t.title for t in from_sunday.this_week] == ["Sunday"]
    assert [t.title for t in from_sunday.next_week] == ["Next Monday", "Next Sunday"]
