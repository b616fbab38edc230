"""A year of the portfolio, week by week.

Each week starts with what `renewals tick --as-of DAY --wait` does — the very same
function, handed in by the command line (`Sweep`): the events waiting are applied, the
scheduler sweeps the date (opening checkpoints, auto-renewing, churning at R after a
notice), and its events are applied. Then the account managers work through the tasks
due that week, and the week's happenings (people leaving, usage, goals, renewals,
churns) go through the services.
"""

from __future__ import annotations

import random
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.demo.load import Ids, context_on, stakeholder_body
from services.demo.portfolio import Happening, Kind, Portfolio
from shared.config import Settings
from shared.db import Database
from shared.domain.context import Context
from shared.domain.contracts.schemas import CancellationNotice, ContractChurn, ContractRenewal
from shared.domain.contracts.service import churn_contract, notice_cancellation, renew_contract
from shared.domain.contracts.trials import TrialCreate, start_trial
from shared.domain.errors import DomainError
from shared.domain.goals.schemas import GoalUpdate
from shared.domain.goals.service import update_goal
from shared.domain.stakeholders.schemas import StakeholderUpdate
from shared.domain.stakeholders.service import add_stakeholder, update_stakeholder
from shared.domain.tasks.schemas import TaskUpdate
from shared.domain.tasks.service import close_task
from shared.domain.usage.schemas import UsageCreate
from shared.domain.usage.service import report_usage
from shared.enums import ChurnReason, GoalStatus, StakeholderStatus, TaskStatus
from shared.models import Task

DONE_IN_WEEK = 0.85
"""Tasks due in a week that their owner finishes that week."""
CATCH_UP = 0.5
"""Overdue tasks finished in a later week."""
DISMISSED = 0.03
TICK_TIMEOUT = 600
"""Seconds a tick may take to apply its events: the first applies the whole load."""


def _quiet(_line: str) -> None:
    """The tick's per-sweep lines: the story reports the year instead."""


class Sweep(Protocol):
    """What `renewals tick` runs (`services.renewal_worker.ticking.tick`): the sweep for
    `as_of` at `at`; with `wait`, the events waiting and the sweep's own are applied
    within `timeout` seconds. Returns whether they were. Lines go to `echo` and `warn`."""

    def __call__(
        self,
        settings: Settings,
        as_of: date,
        at: datetime,
        /,
        *,
        wait: bool,
        timeout: float,
        echo: Callable[[str], None],
        warn: Callable[[str], None],
    ) -> Awaitable[bool]: ...


class DemoFailed(RuntimeError):
    """A tick did not apply its events in time: the demo's story would be wrong."""


async def tick(sweep: Sweep, settings: Settings, day: date, timeout: float = TICK_TIMEOUT) -> None:
    """`renewals tick --as-of DAY --wait`, its per-sweep lines kept out of the story."""
    at = datetime.combine(day, time(0, 0), tzinfo=UTC)
    applied = await sweep(settings, day, at, wait=True, timeout=timeout, echo=_quiet, warn=_quiet)
    if not applied:
        raise DemoFailed(f"the tick for {day} did not apply its events within {timeout:g} s")


async def happen(session: AsyncSession, ctx: Context, ids: Ids, h: Happening) -> None:
    contract = ids.contracts[h.contract] if h.contract else None
    match h.kind:
        case Kind.STAKEHOLDER_LEFT:
            assert h.stakeholder is not None
            body = StakeholderUpdate(status=StakeholderStatus.DEPARTED)
            await update_stakeholder(session, ctx, ids.stakeholders[h.stakeholder], body)
        case Kind.STAKEHOLDER_JOINED:
            assert h.person is not None
            added = await add_stakeholder(
                session, ctx, ids.accounts[h.account], stakeholder_body(h.person)
            )
            ids.stakeholders[h.person.key] = added.id
        case Kind.USAGE:
            assert contract is not None
            assert h.active_users is not None
            assert h.seats is not None
            usage = UsageCreate(active_users=h.active_users, seats=h.seats, as_of=h.day)
            await report_usage(session, ctx, contract, usage)
        case Kind.GOAL:
            assert h.goal is not None
            assert h.status is not None
            goal = GoalUpdate(status=GoalStatus(h.status))
            await update_goal(session, ctx, ids.goals[h.goal], goal)
        case Kind.RENEWAL:
            assert contract is not None
            assert h.end is not None
            assert h.arr is not None
            renewal = ContractRenewal.model_validate(
                {"end_date": h.end, "arr": h.arr, "seats": h.seats}
            )
            await renew_contract(session, ctx, contract, renewal)
        case Kind.CANCELLATION:
            assert contract is not None
            notice = CancellationNotice(received_on=h.day, reason=ChurnReason(h.reason or "other"))
            await notice_cancellation(session, ctx, contract, notice)
        case Kind.CHURN:
            assert contract is not None
            churn = ContractChurn(reason=ChurnReason(h.reason or "other"), churned_on=h.day)
            await churn_contract(session, ctx, contract, churn)
        case Kind.TRIAL:
            assert contract is not None
            assert h.name is not None
            await start_trial(session, ctx, contract, TrialCreate(name=h.name, started_on=h.day))


async def _work_tasks(
    session: AsyncSession, rng: random.Random, week_start: date, currency: str
) -> Counter[str]:
    """The account managers close most tasks due this week and catch up on older ones;
    the rest stay open and show up as overdue."""
    week_end = week_start + timedelta(days=6)
    tasks = await session.scalars(
        select(Task)
        .where(Task.status == TaskStatus.OPEN, Task.due_date <= week_end)
        .order_by(Task.due_date, Task.dedupe_key)
    )
    closed: Counter[str] = Counter()
    for task in tasks.all():
        roll = rng.random()
        finish = DONE_IN_WEEK if task.due_date >= week_start else CATCH_UP
        if roll >= finish + DISMISSED:
            continue
        status = "done" if roll < finish else "dismissed"
        day = min(max(task.due_date, week_start), week_end)
        body = TaskUpdate(status=status, outcome=f"{status} in the demo")
        await close_task(session, context_on(day, currency), task.id, body)
        closed[status] += 1
    return closed


async def apply_happenings(
    session: AsyncSession, ids: Ids, happenings: Iterable[Happening], currency: str
) -> Counter[str]:
    """Applies happenings in order, each on its own day and in its own savepoint; one a
    service refuses (a renewal of a contract that had churned) is counted as `refused`
    and changes nothing."""
    done: Counter[str] = Counter()
    for happening in happenings:
        try:
            async with session.begin_nested():
                await happen(session, context_on(happening.day, currency), ids, happening)
        except DomainError:
            done["refused"] += 1
        else:
            done[happening.kind] += 1
    return done


async def run_year(
    db: Database,
    settings: Settings,
    portfolio: Portfolio,
    ids: Ids,
    sweep: Sweep,
    advance: Callable[[int], None],
) -> Counter[str]:
    """Moves the portfolio from `as_of` to `until` a week at a time, each week starting
    with a `sweep` whose events are applied, calling `advance(1)` after each week.
    Returns how often each kind of happening was applied, the ones a service refused
    (`refused`: a renewal of a contract that had churned) and the tasks the managers
    closed (`done`, `dismissed`)."""
    rng = random.Random(portfolio.seed)
    done: Counter[str] = Counter()
    pending = deque(portfolio.happenings)
    week_start = portfolio.as_of
    while week_start < portfolio.until:
        next_start = min(week_start + timedelta(days=7), portfolio.until)
        await tick(sweep, settings, week_start)
        async with db.transaction() as session:
            done += await _work_tasks(session, rng, week_start, settings.currency)
            week: list[Happening] = []
            while pending and pending[0].day < next_start:
                week.append(pending.popleft())
            done += await apply_happenings(session, ids, week, settings.currency)
        advance(1)
        week_start = next_start
    await tick(sweep, settings, portfolio.until)
    return done
