"""Renewal, churn and cancellation notices (DESIGN §3.2): the end of a term."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from services.renewal_worker.engine.plan import winback_checkpoint
from services.renewal_worker.engine.rules.checkpoints import replan
from services.renewal_worker.engine.rules.work import CANCELLED, PLANNED, SKIPPED, Work
from services.renewal_worker.engine.state import CheckpointFacts, ContractFacts
from shared.rules.types import CheckpointKind

_K = CheckpointKind

RENEWAL_TASK_KINDS = frozenset(
    {
        _K.BUDGET_CONFIRMATION,
        _K.RENEWAL_OUTREACH,
        _K.NOTICE_DEADLINE,
        _K.RENEWAL_DUE,
        _K.RENEWAL_OVERDUE,
        _K.AUTO_RENEWAL,
        "save_attempt",
        "renewal_at_risk",
    }
)
"""Tasks about renewing the old term: a renewal makes them moot."""

SAVE_ATTEMPT_DAYS = 3


def on_renewed(work: Work, contract: ContractFacts) -> None:
    current = contract.term.number
    for cp in list(work.checkpoints.values()):
        if cp.contract_id == contract.id and cp.term < current and cp.status in {PLANNED, SKIPPED}:
            work.write_checkpoint(replace(cp, status=CANCELLED))
    for task in work.open_tasks(contract_id=contract.id):
        if task.term < current and task.kind in RENEWAL_TASK_KINDS:
            work.close_task(
                task, f"renewed: term {current} runs {contract.term.start} to {contract.renewal}"
            )
    replan(work, contract)


def on_churned(work: Work, contract: ContractFacts) -> None:
    churned_on = contract.churned_on or work.day
    for cp in list(work.checkpoints.values()):
        mine = cp.contract_id == contract.id and cp.kind != _K.WINBACK
        if mine and cp.due_date > churned_on and cp.status != CANCELLED:
            work.write_checkpoint(replace(cp, status=CANCELLED))
    reason = contract.churn_reason or "other"
    for task in work.open_tasks(contract_id=contract.id):
        work.close_task(task, f"contract churned on {churned_on} ({reason})")
    if reason != "business_closed":
        row = winback_checkpoint(churned_on)
        identity = (contract.id, contract.term.number, str(row.kind), row.ordinal)
        if identity not in work.checkpoints:
            work.write_checkpoint(
                CheckpointFacts(
                    contract_id=contract.id,
                    term=contract.term.number,
                    kind=str(row.kind),
                    ordinal=row.ordinal,
                    due_date=row.due_date,
                    opens_on=row.opens_on,
                    status=PLANNED,
                )
            )


def on_cancellation_noticed(work: Work, contract: ContractFacts) -> None:
    noticed = contract.cancellation_notice_on or work.day
    work.create_task(
        contract,
        "save_attempt",
        work.day + timedelta(days=SAVE_ATTEMPT_DAYS),
        f"save_attempt:{contract.id}:{noticed}",
        notice_received_on=noticed,
        notice_late=contract.cancellation_notice_late,
    )


def on_cancellation_withdrawn(work: Work, contract: ContractFacts) -> None:
    for task in work.open_tasks(contract_id=contract.id, kind="save_attempt"):
        work.close_task(task, "the cancellation notice was withdrawn")
