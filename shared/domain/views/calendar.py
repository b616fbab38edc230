"""`GET /v1/calendar.ics`: an owner's open tasks and contract dates as an iCalendar feed
that Outlook and Google Calendar subscribe to (RFC 5545, all-day events)."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from icalendar import Calendar, Event
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.domain.contracts.derived import active_on
from shared.domain.views.brief import budget_dates
from shared.enums import ContractStatus, TaskStatus
from shared.models import Account, Contract, Task
from shared.rules.calendar import notice_deadline

UID_DOMAIN = "renewal-engine"
"""Stable across deployments' restarts, so a re-fetched feed updates events in place."""
PRODID = "-//Renewal engine//Account manager calendar//EN"
MEDIA_TYPE = "text/calendar; charset=utf-8"
PLAYBOOK_LINES = 3


_NOT_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]+")


def _text(value: str) -> str:
    """RFC 5545 TEXT allows no control characters but tab and the line breaks that
    icalendar escapes (with `,`, `;` and `\\`); a name stored before input refused them
    would otherwise reach the feed raw and break the calendar that reads it."""
    return _NOT_TEXT.sub(" ", value)


def _event(uid: str, day: date, summary: str, description: str, stamp: datetime) -> Event:
    event = Event()
    event.add("uid", f"{uid}@{UID_DOMAIN}")
    event.add("dtstamp", stamp)
    event.add("dtstart", day)
    event.add("dtend", day + timedelta(days=1))
    event.add("summary", _text(summary))
    event.add("description", _text(description))
    event.add("transp", "TRANSPARENT")
    return event


def _reference(account_name: str, contract_id: object) -> str:
    return f"Account: {account_name}\nContract: {contract_id}"


async def build_calendar(session: AsyncSession, owner: str, as_of: date, stamp: datetime) -> bytes:
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", f"Renewals: {owner}")

    tasks = await session.execute(
        select(Task, Account.name)
        .join(Account, Account.id == Task.account_id)
        .where(Task.owner == owner, Task.status == TaskStatus.OPEN)
        .order_by(Task.due_date, Task.id)
    )
    for task, account_name in tasks:
        playbook = "\n".join(task.description.strip().splitlines()[:PLAYBOOK_LINES])
        cal.add_component(
            _event(
                f"task-{task.id}",
                task.due_date,
                task.title,
                f"{playbook}\n\n{_reference(account_name, task.contract_id)}",
                stamp,
            )
        )

    contracts = await session.execute(
        select(Contract, Account)
        .join(Account, Account.id == Contract.account_id)
        .where(
            Account.owner == owner,
            Contract.status != ContractStatus.CHURNED,
            active_on(as_of),
        )
        .order_by(Contract.end_date, Contract.id)
    )
    for contract, account in contracts:
        ref = _reference(account.name, contract.id)
        renewal = contract.end_date
        # An unknown fiscal year has no budget date to show: the tasks ask for it instead.
        budget = budget_dates(renewal, account.fiscal_year_start_month, account.budget_lead_days)
        dates: list[tuple[str, date | None, str, str]] = [
            (
                "budget",
                budget.budget_fixed_on,
                f"Budget fixed: {account.name}",
                f"The budget for the fiscal year starting {budget.fiscal_year_start} is fixed "
                f"by this date; the renewal on {renewal} must be in it.",
            ),
            (
                "notice",
                notice_deadline(renewal, contract.notice_period_days),
                f"Notice deadline: {account.name}",
                f"Last day for the customer to give notice before the renewal on {renewal}.",
            ),
            ("renewal", renewal, f"Renewal: {account.name}", f"The contract renews on {renewal}."),
        ]
        for kind, day, summary, text in dates:
            if day is not None:
                cal.add_component(
                    _event(
                        f"contract-{contract.id}-{kind}", day, summary, f"{text}\n\n{ref}", stamp
                    )
                )
    ical: bytes = cal.to_ical()
    return ical
