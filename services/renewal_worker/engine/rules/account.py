"""Work planned once per account: the budget confirmation and the on-site visits.

A customer confirms its budget once for everything it renews from it, and a visit is to
the customer, not to one of its contracts; one task per contract would ask the same
person the same question several times.

- budget_confirmation rows stay per contract (each follows its own R and S), but the
  contracts whose rows fall on the same day share one task, identified by the account
  and that day (`budget_confirmation:{account}:{day}`). It lists every contract of the
  day with its ARR and renewal date, and their sum. The task belongs to the contract
  that renews first (then by id) among those listed when it opens.
- onsite_visit rows are planned per enterprise account (`replan_visits`) on one anchor
  contract: of the live contracts (not churned, not lapsed), the one renewing last, then
  the earliest started, then by id. Visit k is due E + 2 + 6k months, E being the start
  of the earliest live contract, from the earliest start of the live contracts' current
  terms until two months before the anchor's R, on the days the account is enterprise
  (the ARR of its contracts active that day). One task per visit
  (`onsite_visit:{account}:{day}`) lists the contracts active on the visit's day.

Changes to an account's contracts re-plan the visits and bring the open tasks up to date
(`plan_account`): an open budget task follows its contracts when their budget day moves
(it moves with them, or is closed when another open task already holds that day, and a
task is opened for contracts that moved elsewhere); a task whose day lost all its
contracts is closed with the reason of the change; a visit task whose day left the plan
is closed. Tasks already done stay as they are. A contract whose budget day has only
tasks that are no longer open gets a task of its own unless one of them listed it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from services.renewal_worker.engine.plan import (
    PlannedCheckpoint,
    onsite_visits,
)
from services.renewal_worker.engine.playbooks import ContractLine, render_task
from services.renewal_worker.engine.priority import task_priority
from services.renewal_worker.engine.rules.decision import TaskChange
from services.renewal_worker.engine.rules.work import (
    CANCELLED,
    OPEN,
    OPENED,
    Work,
    checkpoint_row,
    first_status,
    money,
    term_of,
)
from services.renewal_worker.engine.state import (
    AccountFacts,
    CheckpointFacts,
    CheckpointId,
    ContractFacts,
    TaskFacts,
)
from shared.rules.segments import segment_for
from shared.rules.stage import LAPSE_GRACE
from shared.rules.types import CheckpointKind, Segment

_K = CheckpointKind

ACCOUNT_TASK_KINDS = frozenset({_K.BUDGET_CONFIRMATION, _K.ONSITE_VISIT})
"""Tasks about the account rather than one contract: closing one contract's tasks (a
churn, a renewal) leaves them to `plan_account`, which knows the other contracts."""

Member = tuple[ContractFacts, CheckpointFacts]


def plan_account(work: Work, reason: str) -> None:
    """After a change to the account's contracts: the visits re-planned, the open budget
    and visit tasks brought up to date; `reason` closes the tasks left with nothing to do."""
    replan_visits(work)
    reconcile_budget(work, reason)
    reconcile_visits(work, reason)


def open_account_task(work: Work, checkpoint: CheckpointFacts) -> None:
    """A budget or visit checkpoint opened: its day's task is created, or brought up to
    date when another contract's checkpoint already opened it."""
    if checkpoint.kind == _K.BUDGET_CONFIRMATION:
        _open_budget_task(work, checkpoint.due_date)
    else:
        _open_visit_task(work, checkpoint)


# --- budget confirmation ---------------------------------------------------------------


def budget_groups(
    account: AccountFacts, rows: Iterable[CheckpointFacts]
) -> dict[date, list[Member]]:
    """The current terms' budget rows of the contracts not churned, by due date; each day's
    contracts in renewal order, then by id."""
    groups: dict[date, list[Member]] = {}
    for cp in rows:
        if cp.kind != _K.BUDGET_CONFIRMATION or cp.status == CANCELLED:
            continue
        contract = account.contract(cp.contract_id)
        if contract is None or contract.churned_on is not None or cp.term != contract.term.number:
            continue
        groups.setdefault(cp.due_date, []).append((contract, cp))
    for members in groups.values():
        members.sort(key=lambda m: (m[0].renewal, m[0].id))
    return groups


def reconcile_budget(work: Work, reason: str) -> None:
    """The open budget tasks after their rows changed: each follows its contracts (see the
    module docstring), and lists the contracts of its day as they are now."""
    before = budget_groups(work.account, work.account.checkpoints)
    after = budget_groups(work.account, work.checkpoints.values())
    day_of = {contract.id: day for day, members in after.items() for contract, _ in members}
    for task in _open(work, _K.BUDGET_CONFIRMATION):
        moved_to = sorted(
            {
                day_of[contract.id]
                for contract, _ in before.get(task.due_date, [])
                if day_of.get(contract.id, task.due_date) != task.due_date
            }
        )
        if task.due_date in after:
            others = moved_to
        elif not moved_to:
            work.close_task(task, reason)
            continue
        else:
            target, *others = moved_to
            if _open_at(work, _K.BUDGET_CONFIRMATION, target) is None:
                work.change_task(task, TaskChange(task.dedupe_key, due_date=target))
            else:
                work.close_task(task, f"merged into the budget confirmation due {target}")
        for day in others:
            if any(cp.status == OPENED for _, cp in after[day]):
                _open_budget_task(work, day)
    for task in _open(work, _K.BUDGET_CONFIRMATION):
        if task.due_date in after:
            _refresh_budget_task(work, task, after[task.due_date])


def _open_budget_task(work: Work, day: date) -> None:
    members = budget_groups(work.account, work.checkpoints.values()).get(day)
    if not members:
        return
    tasks = _at(work, _K.BUDGET_CONFIRMATION, day)
    holder = next((t for t in tasks if t.status == OPEN), None)
    if holder is not None:
        _refresh_budget_task(work, holder, members)
        return
    uncovered = [m for m in members if not any(_lists(t, m[0]) for t in tasks)]
    if not uncovered:
        return
    anchor, row = uncovered[0]
    listing = _budget_listing(work, uncovered)
    base = f"{_K.BUDGET_CONFIRMATION}:{work.account.id}:{day}"
    key = base if base not in work.tasks else f"{base}:{anchor.id}"
    work.create_task(
        anchor,
        _K.BUDGET_CONFIRMATION,
        day,
        key,
        checkpoint=row.identity,
        term=row.term,
        contracts=listing.contracts,
        total_arr=listing.total_arr,
    )


def _refresh_budget_task(work: Work, task: TaskFacts, members: list[Member]) -> None:
    contracts = [c for c, _ in members]
    about = work.account.contract(task.contract_id)
    if about is None or about not in contracts:
        about = contracts[0]
    _refresh(work, task, about, _budget_listing(work, members))


def _budget_listing(work: Work, members: list[Member]) -> Listing:
    return _listing(work, [(c, c.term.arr) for c, _ in members])


def _lists(task: TaskFacts, contract: ContractFacts) -> bool:
    """Whether a task already names the contract (an account-level task lists each one)."""
    return task.contract_id == contract.id or f"Contract {contract.id}" in task.description


# --- on-site visits --------------------------------------------------------------------


def is_live(contract: ContractFacts, day: date) -> bool:
    """Not churned and not lapsed on the day; a contract that starts later counts."""
    if contract.churned_on is not None:
        return False
    return contract.auto_renew or day < contract.renewal + LAPSE_GRACE


def enterprise_on(account: AccountFacts, day: date) -> bool:
    total = sum((c.arr_on(day) for c in account.contracts if c.active_on(day)), Decimal(0))
    return segment_for(total) is Segment.ENTERPRISE


def planned_visits(account: AccountFacts, day: date) -> dict[CheckpointId, PlannedCheckpoint]:
    """The account's visits, on the anchor contract's current term (module docstring)."""
    live = [c for c in account.contracts if is_live(c, day)]
    if not live:
        return {}
    anchor = min(live, key=lambda c: (-c.renewal.toordinal(), c.start_date, c.id))
    rows = onsite_visits(
        min(c.start_date for c in live), min(c.term.start for c in live), anchor.renewal
    )
    return {
        (anchor.id, anchor.term.number, str(row.kind), row.ordinal): row
        for row in rows
        if enterprise_on(account, row.due_date)
    }


def replan_visits(work: Work) -> None:
    """Visits no longer planned are cancelled, unless already opened and either past or
    still planned on that day (then the visit stands, whichever contract holds it). A
    planned visit on a day already opened, or with its task open, counts as opened."""
    planned = planned_visits(work.account, work.day)
    existing = [
        cp
        for cp in work.checkpoints.values()
        if cp.kind == _K.ONSITE_VISIT and cp.status != CANCELLED
    ]
    opened_days = {cp.due_date for cp in existing if cp.status == OPENED} | {
        t.due_date for t in work.open_tasks(kind=_K.ONSITE_VISIT)
    }
    planned_days = {row.due_date for row in planned.values()}
    for identity, row in planned.items():
        status = OPENED if row.due_date in opened_days else first_status(row, work.day)
        work.write_checkpoint(checkpoint_row(identity, row, status))
    for cp in existing:
        if cp.identity in planned:
            continue
        stands = cp.status == OPENED and (cp.due_date < work.day or cp.due_date in planned_days)
        if not stands:
            work.write_checkpoint(replace(cp, status=CANCELLED))


def reconcile_visits(work: Work, reason: str) -> None:
    """An open visit task stays while its day is planned and a contract is active on it,
    listing those contracts; otherwise it is closed with `reason`."""
    planned_days = {
        cp.due_date
        for cp in work.checkpoints.values()
        if cp.kind == _K.ONSITE_VISIT and cp.status != CANCELLED
    }
    for task in _open(work, _K.ONSITE_VISIT):
        members = _visit_members(work.account, task.due_date)
        about = work.account.contract(task.contract_id)
        if task.due_date not in planned_days or not members or about is None:
            work.close_task(task, reason)
        else:
            _refresh(work, task, about, _visit_listing(work, members, task.due_date))


def _open_visit_task(work: Work, checkpoint: CheckpointFacts) -> None:
    day = checkpoint.due_date
    anchor = work.account.contract(checkpoint.contract_id)
    members = _visit_members(work.account, day)
    if anchor is None or not members:
        return
    tasks = _at(work, _K.ONSITE_VISIT, day)
    holder = next((t for t in tasks if t.status == OPEN), None)
    if holder is not None:
        _refresh(work, holder, anchor, _visit_listing(work, members, day))
        return
    if tasks:
        return
    listing = _visit_listing(work, members, day)
    work.create_task(
        anchor,
        _K.ONSITE_VISIT,
        day,
        f"{_K.ONSITE_VISIT}:{work.account.id}:{day}",
        priority=task_priority(_K.ONSITE_VISIT, Segment.ENTERPRISE, anchor.renewal, work.day),
        checkpoint=checkpoint.identity,
        term=checkpoint.term,
        contracts=listing.contracts,
        total_arr=listing.total_arr,
    )


def _visit_members(account: AccountFacts, day: date) -> list[ContractFacts]:
    return sorted(
        (c for c in account.contracts if c.active_on(day)), key=lambda c: (c.renewal, c.id)
    )


def _visit_listing(work: Work, members: list[ContractFacts], day: date) -> Listing:
    return _listing(work, [(c, c.arr_on(day)) for c in members])


# --- shared ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Listing:
    """The contracts an account-level task covers, as its text lists them."""

    contracts: tuple[ContractLine, ...]
    total_arr: str


def _listing(work: Work, members: list[tuple[ContractFacts, Decimal]]) -> Listing:
    currency = work.settings.currency
    return Listing(
        tuple(
            ContractLine(c.id, c.external_ids, money(arr, currency), c.renewal)
            for c, arr in members
        ),
        money(sum((arr for _, arr in members), Decimal(0)), currency),
    )


def _refresh(work: Work, task: TaskFacts, about: ContractFacts, listing: Listing) -> None:
    term = term_of(about, task.term if about.id == task.contract_id else None)
    context = work.context(
        about, term, task.due_date, contracts=listing.contracts, total_arr=listing.total_arr
    )
    _, description = render_task(task.kind, context)
    if description != task.description:
        work.change_task(task, TaskChange(task.dedupe_key, description=description))


def _open(work: Work, kind: str) -> list[TaskFacts]:
    return sorted(work.open_tasks(kind=kind), key=lambda t: (t.due_date, t.dedupe_key))


def _at(work: Work, kind: str, day: date) -> list[TaskFacts]:
    return sorted(
        (t for t in work.tasks.values() if t.kind == kind and t.due_date == day),
        key=lambda t: t.dedupe_key,
    )


def _open_at(work: Work, kind: str, day: date) -> TaskFacts | None:
    return next((t for t in _at(work, kind, day) if t.status == OPEN), None)
