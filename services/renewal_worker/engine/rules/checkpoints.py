"""The checkpoint plan kept up to date (DESIGN §3.1), and a due checkpoint's task.

`contract.created`, `contract.updated` and `contract.trial_started` (re)plan the current
term; `account.updated` re-plans the budget rows, which follow the account's fiscal
year; `checkpoint.due`, sent by the scheduler once a checkpoint opens, creates the
checkpoint's task (the budget and visit tasks are the account's: `account`). The
auto_renewal checkpoint opens no task: the sweep renews the contract, and
auto_renewal_confirmation is the task people act on; a renewal marker opens none
either (see `markers`).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import TypedDict

from services.renewal_worker.engine.plan import (
    PlannedCheckpoint,
    TermPlanInput,
    marker_rows,
    opens_late,
    plan_term,
    trial_rows,
)
from services.renewal_worker.engine.rules.account import (
    ACCOUNT_TASK_KINDS,
    open_account_task,
    reconcile_budget,
)
from services.renewal_worker.engine.rules.decision import TaskChange
from services.renewal_worker.engine.rules.markers import marker_status, on_marker
from services.renewal_worker.engine.rules.work import (
    CANCELLED,
    OPEN,
    OPENED,
    Work,
    checkpoint_row,
    checkpoint_task_key,
    first_status,
    segment_on,
)
from services.renewal_worker.engine.state import (
    AccountFacts,
    CheckpointFacts,
    CheckpointId,
    ContractFacts,
)
from shared.rules.types import MARKER_KINDS, CheckpointKind

_K = CheckpointKind

NOT_TERM_PLANNED_KINDS = frozenset({_K.WINBACK, _K.ONSITE_VISIT})
"""Rows the term's plan does not make: the winback (a churn's) and the visits (the
account's), so re-planning the term leaves them alone."""


def plan_input(account: AccountFacts, contract: ContractFacts) -> TermPlanInput:
    term = contract.term
    return TermPlanInput(
        term_number=term.number,
        start=term.start,
        renewal=term.end,
        segment=segment_on(account, contract, term.start),
        fiscal_year_start_month=account.fiscal_year_start_month,
        budget_lead_days=account.budget_lead_days,
        auto_renew=contract.auto_renew,
        notice_period_days=contract.notice_period_days,
        pilot_start=contract.pilot_start,
        pilot_end=contract.pilot_end,
        trial_end=contract.trial_end,
    )


def replan(work: Work, contract: ContractFacts) -> None:
    """(Re)computes the current term's plan: planned rows move, open tasks follow their
    checkpoint's new due date, done tasks never change, rows no longer planned are
    cancelled; rows due more than 14 days ago are skipped (DESIGN §3.1), except a
    renewal outreach with R still ahead, which opens now (`plan.opens_late`). The term's
    renewal markers are planned with it (`markers.marker_status`)."""
    if contract.churned_on is not None:
        return
    term = contract.term.number
    inp = plan_input(work.account, contract)
    planned = {
        (contract.id, term, str(p.kind), p.ordinal): p
        for p in [
            *plan_term(inp),
            *trial_rows(inp, [t.ends_on for t in contract.trials]),
            *marker_rows(contract.renewal),
        ]
    }
    existing = {
        identity: cp
        for identity, cp in work.checkpoints.items()
        if cp.contract_id == contract.id
        and cp.term == term
        and cp.kind not in NOT_TERM_PLANNED_KINDS
    }
    for identity, row in planned.items():
        current = existing.get(identity)
        late = opens_late(row, work.day, contract.renewal)
        if late:
            row = _opened_late(row, current, work)
        if row.kind in MARKER_KINDS:
            status = marker_status(work, contract, row, current)
        elif late or (current is not None and current.status == OPENED):
            status = OPENED
        else:
            status = first_status(row, work.day)
        work.write_checkpoint(checkpoint_row(identity, row, status))
        task = work.tasks.get(checkpoint_task_key(identity))
        if late and task is None:
            work.create_task(
                contract,
                str(row.kind),
                row.due_date,
                checkpoint_task_key(identity),
                checkpoint=identity,
                term=term,
            )
        elif task is not None and task.status == OPEN and task.due_date != row.due_date:
            work.change_task(task, TaskChange(task.dedupe_key, due_date=row.due_date))
    for identity, current in existing.items():
        if identity in planned or current.status == CANCELLED:
            continue
        work.write_checkpoint(replace(current, status=CANCELLED))
        task = work.tasks.get(checkpoint_task_key(identity))
        if task is not None and task.status == OPEN:
            work.close_task(task, "the checkpoint left the plan when the contract's dates changed")


def _opened_late(
    row: PlannedCheckpoint, current: CheckpointFacts | None, work: Work
) -> PlannedCheckpoint:
    """Due on the event's day; an outreach already opened keeps its due date unless that
    is later, so an unrelated update never makes an overdue outreach look due today."""
    if current is not None and current.status == OPENED:
        return replace(row, due_date=min(current.due_date, work.day), opens_on=current.opens_on)
    return replace(row, due_date=work.day, opens_on=work.day)


def replan_budgets(work: Work, reason: str) -> None:
    """The account's fiscal year or budget lead changed: every planned term's
    budget_confirmation row is computed again, moved, added or cancelled as a re-plan
    does (DESIGN §3.1), then the open budget tasks follow their rows."""
    for contract in work.account.contracts:
        term = contract.term.number
        planned_term = any(
            cp.contract_id == contract.id and cp.term == term for cp in work.checkpoints.values()
        )
        if contract.churned_on is not None or not planned_term:
            continue
        identity: CheckpointId = (contract.id, term, str(_K.BUDGET_CONFIRMATION), 0)
        current = work.checkpoints.get(identity)
        live = current if current is not None and current.status != CANCELLED else None
        rows = [
            row
            for row in plan_term(plan_input(work.account, contract))
            if row.kind is _K.BUDGET_CONFIRMATION
        ]
        if not rows:
            if live is not None:
                work.write_checkpoint(replace(live, status=CANCELLED))
            continue
        row = rows[0]
        if live is not None and (live.due_date, live.opens_on) == (row.due_date, row.opens_on):
            continue
        if live is not None and live.status == OPENED:
            status = OPENED
        else:
            status = first_status(row, work.day)
        work.write_checkpoint(checkpoint_row(identity, row, status))
    reconcile_budget(work, reason)


def on_checkpoint_due(work: Work) -> None:
    data = work.event.data
    identity: CheckpointId = (
        str(data["contract_id"]),
        int(data["term"]),
        str(data["kind"]),
        int(data["ordinal"]),
    )
    checkpoint = work.checkpoints.get(identity)
    contract = work.account.contract(identity[0])
    if checkpoint is None or contract is None or checkpoint.status != OPENED:
        return
    if (contract.churned_on is not None) != (checkpoint.kind == _K.WINBACK):
        return
    if checkpoint.kind == _K.AUTO_RENEWAL:
        return
    if checkpoint.kind in MARKER_KINDS:
        on_marker(work, contract, checkpoint)
        return
    if checkpoint.kind in ACCOUNT_TASK_KINDS:
        open_account_task(work, checkpoint)
        return
    work.create_task(
        contract,
        checkpoint.kind,
        checkpoint.due_date,
        checkpoint_task_key(identity),
        checkpoint=identity,
        term=checkpoint.term,
        **addon_trial_context(contract, checkpoint),
    )
    if checkpoint.kind == _K.IMPLEMENTATION_FOLLOWUP:
        _supersede_followups(work, checkpoint)


def _supersede_followups(work: Work, latest: CheckpointFacts) -> None:
    """The follow-up that just opened takes over from the earlier ones still open: one
    current follow-up per contract, so nobody works from a stale one."""
    for task in work.open_tasks(contract_id=latest.contract_id, kind=latest.kind):
        earlier = task.checkpoint is not None and task.checkpoint[3] < latest.ordinal
        if earlier and task.term == latest.term:
            work.close_task(
                task, f"superseded: the next follow-up, due {latest.due_date}, has opened"
            )


def is_addon_trial(checkpoint: CheckpointFacts) -> bool:
    """Ordinal 0 is the contract's own trial; 1, 2, … its add-on trials."""
    return checkpoint.kind == _K.TRIAL_ENDING and checkpoint.ordinal > 0


class AddOnTrialText(TypedDict, total=False):
    trial_name: str
    trial_end: date


def addon_trial_context(contract: ContractFacts, checkpoint: CheckpointFacts) -> AddOnTrialText:
    """What the task of an add-on trial's checkpoint quotes: the trial's name and its own
    end date, in place of the contract's `trial_end`."""
    if not is_addon_trial(checkpoint) or checkpoint.ordinal > len(contract.trials):
        return {}
    trial = contract.trials[checkpoint.ordinal - 1]
    return {"trial_name": trial.name, "trial_end": trial.ends_on}


def on_trial_started(work: Work) -> None:
    """A trial recorded on a contract: the current term's plan gains its row. A trial due
    in an earlier term (recorded after an early renewal, or late) gets its row there, as
    re-plans of the current term never touch those."""
    contract = work.account.contract(str(work.event.data.get("contract_id", "")))
    if contract is None or contract.churned_on is not None:
        return
    inp = plan_input(work.account, contract)
    ends = [t.ends_on for t in contract.trials]
    for term in contract.terms[:-1]:
        earlier = replace(inp, term_number=term.number, start=term.start, renewal=term.end)
        for row in trial_rows(earlier, ends):
            identity = (contract.id, term.number, str(row.kind), row.ordinal)
            if identity in work.checkpoints:
                continue
            work.write_checkpoint(checkpoint_row(identity, row, first_status(row, work.day)))
    replan(work, contract)
