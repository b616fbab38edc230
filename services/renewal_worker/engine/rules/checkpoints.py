"""The checkpoint plan kept up to date (DESIGN §3.1), and a due checkpoint's task.

`contract.created` and `contract.updated` (re)plan the current term; `checkpoint.due`,
sent by the scheduler once a checkpoint opens, creates the checkpoint's task (a renewal
marker opens none: see `markers`).
"""

from __future__ import annotations

from dataclasses import replace

from services.renewal_worker.engine.plan import (
    TermPlanInput,
    marker_rows,
    plan_term,
    skipped_at_creation,
)
from services.renewal_worker.engine.rules.decision import TaskChange
from services.renewal_worker.engine.rules.markers import marker_status, on_marker
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
from shared.rules.types import MARKER_KINDS, CheckpointKind

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
    cancelled; rows due more than 14 days ago are skipped (DESIGN §3.1). The term's
    renewal markers are planned with it (`markers.marker_status`)."""
    if contract.churned_on is not None:
        return
    term = contract.term.number
    planned = {
        (contract.id, term, str(p.kind), p.ordinal): p
        for p in [*plan_term(plan_input(work.account, contract)), *marker_rows(contract.renewal)]
    }
    existing = {
        identity: cp
        for identity, cp in work.checkpoints.items()
        if cp.contract_id == contract.id and cp.term == term and cp.kind != _K.WINBACK
    }
    for identity, row in planned.items():
        current = existing.get(identity)
        if row.kind in MARKER_KINDS:
            status = marker_status(work, contract, row, current)
        elif current is not None and current.status == OPENED:
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
    if checkpoint.kind in MARKER_KINDS:
        on_marker(work, contract, checkpoint)
        return
    work.create_task(
        contract,
        checkpoint.kind,
        checkpoint.due_date,
        checkpoint_task_key(identity),
        checkpoint=identity,
        term=checkpoint.term,
    )
