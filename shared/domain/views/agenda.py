"""`GET /v1/agenda`: an account manager's week, overdue first, then Monday to Sunday."""

from __future__ import annotations

import re
import uuid
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.domain.errors import InvalidInput
from shared.domain.views.brief import priority_rank
from shared.domain.views.schemas import Agenda, AgendaDay, AgendaItem
from shared.enums import TaskStatus
from shared.models import Account, Contract, Task
from shared.money import format_minor

_ISO_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def week_monday(week: str | None, today: date) -> date:
    """The Monday of `week` (`2026-W49`, or any YYYY-MM-DD in the week; this week when
    omitted). Anything else is a 422 naming `week`."""
    if week is None:
        return today - timedelta(days=today.weekday())
    text = week.strip()
    match = _ISO_WEEK.match(text.upper())
    try:
        if match:
            return date.fromisocalendar(int(match[1]), int(match[2]), 1)
        day = date.fromisoformat(text) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) else None
    except ValueError:
        day = None
    if day is None:
        raise InvalidInput(
            f"week must be an ISO week like 2026-W49 or a date YYYY-MM-DD, got {week!r}",
            field="week",
        )
    return day - timedelta(days=day.weekday())


def _iso_week(monday: date) -> str:
    year, number, _ = monday.isocalendar()
    return f"{year}-W{number:02d}"


async def build_agenda(session: AsyncSession, owner: str, monday: date, currency: str) -> Agenda:
    sunday = monday + timedelta(days=6)
    rows = await session.execute(
        select(Task, Contract.arr_minor, Account.name)
        .join(Contract, Contract.id == Task.contract_id)
        .join(Account, Account.id == Task.account_id)
        .where(Task.owner == owner, Task.status == TaskStatus.OPEN, Task.due_date <= sunday)
    )
    ranked: list[tuple[tuple[date, int, int, str, uuid.UUID], AgendaItem]] = []
    for task, arr_minor, account_name in rows:
        item = AgendaItem(
            task_id=task.id,
            contract_id=task.contract_id,
            account_id=task.account_id,
            account_name=account_name,
            kind=task.kind,
            title=task.title,
            due_date=task.due_date,
            priority=task.priority,
            arr=format_minor(arr_minor, currency),
        )
        # The oldest date first, then the most urgent, then the most ARR at stake.
        key = (task.due_date, priority_rank(task.priority), -arr_minor, task.title, task.id)
        ranked.append((key, item))
    items = [item for _, item in sorted(ranked, key=lambda pair: pair[0])]
    days = [monday + timedelta(days=n) for n in range(7)]
    return Agenda(
        owner=owner,
        week=_iso_week(monday),
        start=monday,
        end=sunday,
        overdue=[i for i in items if i.due_date < monday],
        days=[
            AgendaDay(
                date=day,
                weekday=_WEEKDAYS[day.weekday()],
                items=[i for i in items if i.due_date == day],
            )
            for day in days
        ],
    )
