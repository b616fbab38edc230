"""What `renewals crm check|backfill` need from the database: the open tasks' owners and
the accounts and contracts they cannot be linked to in a CRM, and the open tasks made due
for a CRM once."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.domain.crm_sync.wanted import want_sync
from shared.enums import TaskStatus
from shared.models import Account, Contract, CrmTaskSync, Task

_CHUNK = 500


@dataclass(frozen=True, slots=True)
class Unlinked:
    """An account or contract with open tasks but no id in the CRM."""

    id: uuid.UUID
    name: str
    open_tasks: int


async def open_task_owners(session: AsyncSession) -> Counter[str]:
    """The owners of open tasks, with how many each has."""
    rows = await session.execute(
        select(Task.owner, func.count())
        .where(Task.status == TaskStatus.OPEN, Task.owner.is_not(None))
        .group_by(Task.owner)
    )
    return Counter({str(owner): int(count) for owner, count in rows.all()})


async def unlinked(session: AsyncSession, crm: str) -> tuple[list[Unlinked], list[Unlinked]]:
    """Accounts, then contracts, with open tasks and no `external_ids[crm]`: their tasks
    reach the CRM without a company/account, or a deal/opportunity. Contracts are named
    by their account."""
    open_tasks = (
        select(Task.account_id, Task.contract_id, func.count().label("open_tasks"))
        .where(Task.status == TaskStatus.OPEN)
        .group_by(Task.account_id, Task.contract_id)
        .subquery()
    )
    rows = (
        await session.execute(
            select(
                Account.id,
                Account.name,
                Account.external_ids,
                Contract.id,
                Contract.external_ids,
                open_tasks.c.open_tasks,
            )
            .join(open_tasks, open_tasks.c.account_id == Account.id)
            .join(Contract, Contract.id == open_tasks.c.contract_id)
            .order_by(Account.name, Contract.id)
        )
    ).all()
    accounts: dict[uuid.UUID, Unlinked] = {}
    contracts: list[Unlinked] = []
    for account_id, name, account_ids, contract_id, contract_ids, count in rows:
        if not (account_ids or {}).get(crm):
            before = accounts.get(account_id)
            accounts[account_id] = Unlinked(
                account_id, name, count + (before.open_tasks if before else 0)
            )
        if not (contract_ids or {}).get(crm):
            contracts.append(Unlinked(contract_id, name, count))
    return list(accounts.values()), contracts


async def want_open_tasks(
    session: AsyncSession, crm: str, *, now: datetime, retry_window: timedelta
) -> int:
    """Makes the open tasks the CRM has not caught up with due for it, as their
    notifications would; a task it already has at its current version is left alone,
    so a backfill run again resumes where the last one stopped. Returns how many syncs
    are due for the CRM."""
    ids = (
        await session.scalars(
            select(Task.id).where(Task.status == TaskStatus.OPEN).order_by(Task.id)
        )
    ).all()
    for start in range(0, len(ids), _CHUNK):
        events = [
            {"type": "task.updated", "subject": str(task_id), "data": {"id": str(task_id)}}
            for task_id in ids[start : start + _CHUNK]
        ]
        await want_sync(session, events, crms=[crm], now=now, retry_window=retry_window)
    due = await session.scalar(
        select(func.count())
        .select_from(CrmTaskSync)
        .where(CrmTaskSync.crm == crm, CrmTaskSync.status == "pending")
    )
    return int(due or 0)
