"""Capacity (DESIGN §3.3): ARR, accounts and task load per account manager against
`RENEWALS_ARR_PER_MANAGER`."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.domain.contracts.derived import active_on
from shared.domain.reports.queries import RATE_DIGITS, fetch_rows, segment_sql, sum_if, sum_minor
from shared.domain.reports.schemas import CapacityItem, CapacityReport
from shared.enums import CheckpointStatus, TaskStatus
from shared.models import Account, Checkpoint, Contract, Task
from shared.money import format_minor, minor_digits
from shared.rules.types import MARKER_KINDS, Segment

UPCOMING_WINDOW = timedelta(weeks=12)


@dataclass
class _Load:
    arr: int = 0
    accounts: int = 0
    segments: dict[str, int] = field(default_factory=lambda: dict.fromkeys(Segment, 0))
    open_tasks: int = 0
    upcoming: int = 0


async def capacity_report(
    session: AsyncSession, as_of: date, arr_per_manager: int, currency: str
) -> CapacityReport:
    """Per account owner (null: unassigned): ARR of active contracts and the accounts
    holding them (segment by that ARR, as account reads show it), against
    `arr_per_manager` (major units); open tasks by task owner; upcoming = planned
    checkpoints opening in (as_of, as_of + 12 weeks], renewal markers left out (they open
    no task). Three queries, each one row per owner."""
    loads: dict[str | None, _Load] = defaultdict(_Load)
    per_account = (
        select(Account.owner, sum_minor(Contract.arr_minor).label("arr"))
        .join(Contract, Contract.account_id == Account.id)
        .where(active_on(as_of))
        .group_by(Account.id, Account.owner)
        .subquery()
    )
    segment = segment_sql(per_account.c.arr, currency)
    for owner, arr, accounts, *by_segment in await fetch_rows(
        session,
        select(
            per_account.c.owner,
            sum_minor(per_account.c.arr),
            func.count(),
            *(sum_if(segment == s.value) for s in Segment),
        ).group_by(per_account.c.owner),
    ):
        load = loads[owner]
        load.arr, load.accounts = arr, accounts
        load.segments = dict(zip(Segment, by_segment, strict=True))
    for owner, count in await fetch_rows(
        session,
        select(Task.owner, func.count()).where(Task.status == TaskStatus.OPEN).group_by(Task.owner),
    ):
        loads[owner].open_tasks = count
    for owner, count in await fetch_rows(
        session,
        select(Account.owner, func.count())
        .select_from(Checkpoint)
        .join(Contract, Contract.id == Checkpoint.contract_id)
        .join(Account, Account.id == Contract.account_id)
        .where(
            Checkpoint.status == CheckpointStatus.PLANNED,
            Checkpoint.opens_on > as_of,
            Checkpoint.opens_on <= as_of + UPCOMING_WINDOW,
            Checkpoint.kind.not_in(MARKER_KINDS),
        )
        .group_by(Account.owner),
    ):
        loads[owner].upcoming = count
    limit_minor = arr_per_manager * 10 ** minor_digits(currency)
    items = [
        CapacityItem(
            owner=owner,
            arr=format_minor(load.arr, currency),
            accounts=load.accounts,
            capacity_ratio=round(float(Decimal(load.arr) / limit_minor), RATE_DIGITS),
            over_capacity=load.arr > limit_minor,
            segments={str(segment): n for segment, n in load.segments.items()},
            open_tasks=load.open_tasks,
            upcoming_tasks=load.upcoming,
        )
        for owner, load in sorted(loads.items(), key=lambda kv: (kv[0] is None, kv[0] or ""))
    ]
    return CapacityReport(
        as_of=as_of,
        currency=currency,
        arr_per_manager=format_minor(limit_minor, currency),
        items=items,
    )
