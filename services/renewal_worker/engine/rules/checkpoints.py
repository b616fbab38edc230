"""The checkpoint plan kept up to date (DESIGN §3.1), and a due checkpoint's task.

`contract.created`, `contract.updated` and `contract.trial_started` (re)plan the current
term; `checkpoint.due`, sent by the scheduler once a checkpoint opens, creates the
checkpoint's task.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import TypedDict

from services.renewal_worker.engine.plan import (
    TermPlanInput,
    plan_term,
    skipped_at_creation,
    trial_rows,
)
from services.renewal_worker.engine.rules.decision import TaskChange
from services.renewal_worker.engine.rules.work import (
    CANCELLED,
    OPEN,
    OPENED,
    PLANNED,
    SKIPPED,
    Work,
    checkpoint_task_key,
    segment_on,
)
from services.renewal_worker.engine.state import (
    AccountFacts,
    CheckpointFacts,
    CheckpointId,
    ContractFacts,
)
from shared.rules.types import CheckpointKind

_K = CheckpointKind


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
    cancelled; rows due more than 14 days ago are skipped (DESIGN §3.1)."""
    if contract.churned_on is not None:
        return
    term = contract.term.number
    inp = plan_input(work.account, contract)
    planned = {
        (contract.id, term, str(p.kind), p.ordinal): p
        for p in [*plan_term(inp), *trial_rows(inp, [t.ends_on for t in contract.trials])]
    }
    existing = {
        identity: cp
        for identity, cp in work.checkpoints.items()
        if cp.contract_id == contract.id and cp.term == term and cp.kind != _K.WINBACK
    }
    for identity, row in planned.items():
        current = existing.get(identity)
        if current is not None and current.status == OPENED:
            status = OPENED
        else:
            status = SKIPPED if skipped_at_creation(row, work.day) else PLANNED
        work.write_checkpoint(
            CheckpointFacts(
                contract_id=contract.id,
                term=term,
                kind=str(row.kind),
                ordinal=row.ordinal,
                due_date=row.due_date,
                opens_on=row.opens_on,
                status=status,
            )
        )
        task = work.tasks.get(checkpoint_task_key(identity))
        if task is not None and task.status == OPEN and task.due_date != row.due_date:
            work.change_task(task, TaskChange(task.dedupe_key, due_date=row.due_date))
    for identity, current in existing.items():
        if identity in planned or current.status == CANCELLED:
            continue
        work.write_checkpoint(replace(current, status=CANCELLED))
        task = work.tasks.get(checkpoint_task_key(identity))
        if task is not None and task.status == OPEN:
            work.close_task(task, "the checkpoint left the plan when the contract's dates changed")


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
            work.write_checkpoint(
                CheckpointFacts(
                    *identity,
                    due_date=row.due_date,
                    opens_on=row.opens_on,
                    status=SKIPPED if skipped_at_creation(row, work.day) else PLANNED,
                )
            )
    replan(work, contract)
