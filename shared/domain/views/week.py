"""An account manager's open tasks around today, with their playbooks: what is overdue,
what falls due in the rest of this week, and what comes next week.

The agenda (`agenda.py`) is one ISO week by day for a calendar; this view is the work
list of the console's week page, which reads each task's playbook beside it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.domain.views.brief import priority_rank
from shared.enums import TaskStatus
from shared.models import Account, Contract, Task
from shared.money import format_minor


@dataclass(frozen=True, slots=True)
class WeekTask:
    task_id: uuid.UUID
    contract_id: uuid.UUID
    account_name: str
    kind: str
    title: str
    playbook: str
    due_date: date
    priority: str
    arr: str


@dataclass(frozen=True, slots=True)
class OwnerWeek:
    owner: str
    today: date
    this_week_ends: date
    next_week_ends: date
    overdue: list[WeekTask]
    this_week: list[WeekTask]
    next_week: list[WeekTask]


async def owner_week(session: AsyncSession, owner: str, today: date, currency: str) -> OwnerWeek:
    """Open tasks of `owner` due before today (overdue), from today to Sunday, and in the
    Monday-to-Sunday week after; each group by due date, then the most urgent, then the
    most ARR at stake."""
    sunday = today + timedelta(days=6 - today.weekday())
    next_sunday = sunday + timedelta(days=7)
    rows = await session.execute(
        select(Task, Contract.arr_minor, Account.name)
        .join(Contract, Contract.id == Task.contract_id)
        .join(Account, Account.id == Task.account_id)
        .where(Task.owner == owner, Task.status == TaskStatus.OPEN, Task.due_date <= next_sunday)
    )
    ranked = sorted(
        (
            (task.due_date, priority_rank(task.priority), -arr_minor, task.title, task.id),
            WeekTask(
                task_id=task.id,
                contract_id=task.contract_id,
                account_name=account_name,
                kind=task.kind,
                title=task.title,
                playbook=task.description,
                due_date=task.due_date,
                priority=task.priority,
                arr=format_minor(arr_minor, currency),
            ),
        )
        for task, arr_minor, account_name in rows
    )
    items = [item for _, item in ranked]
    return OwnerWeek(
        owner=owner,
        today=today,
        this_week_ends=sunday,
        next_week_ends=next_sunday,
        overdue=[i for i in items if i.due_date < today],
        this_week=[i for i in items if today <= i.due_date <= sunday],
        next_week=[i for i in items if sunday < i.due_date],
    )
