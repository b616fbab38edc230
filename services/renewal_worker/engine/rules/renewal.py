"""Renewal, churn and cancellation notices (DESIGN §3.2): the end of a term."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from services.renewal_worker.engine.plan import winback_checkpoint
from services.renewal_worker.engine.rules.account import ACCOUNT_TASK_KINDS, plan_account
from services.renewal_worker.engine.rules.checkpoints import is_addon_trial, replan
from services.renewal_worker.engine.rules.work import (
    CANCELLED,
    PLANNED,
    SKIPPED,
    Work,
    checkpoint_row,
)
from services.renewal_worker.engine.state import ContractFacts
from shared.rules.types import CheckpointKind

_K = CheckpointKind

RENEWAL_TASK_KINDS = frozenset(
    {
        _K.RENEWAL_OUTREACH,
        _K.NOTICE_DEADLINE,
        _K.RENEWAL_DUE,
        _K.RENEWAL_OVERDUE,
        _K.AUTO_RENEWAL,
        _K.AUTO_RENEWAL_CONFIRMATION,
        "save_attempt",
        "renewal_at_risk",
    }
)
"""Tasks about renewing the old term: a renewal makes them moot. The budget confirmation
is one too, but it may cover other contracts: `plan_account` closes it once none is left."""

SAVE_ATTEMPT_DAYS = 3


def on_renewed(work: Work, contract: ContractFacts) -> None:
    """An add-on trial ending in the old term still ends after an early renewal, so its
    checkpoint stays planned."""
    current = contract.term.number
    for cp in list(work.checkpoints.values()):
        if cp.contract_id == contract.id and cp.term < current and cp.status in {PLANNED, SKIPPED}:
            if is_addon_trial(cp):
                continue
            work.write_checkpoint(replace(cp, status=CANCELLED))
    reason = f"renewed: term {current} runs {contract.term.start} to {contract.renewal}"
    for task in work.open_tasks(contract_id=contract.id):
        if task.term < current and task.kind in RENEWAL_TASK_KINDS:
            work.close_task(task, reason)
    replan(work, contract)
    plan_account(work, reason)


def on_churned(work: Work, contract: ContractFacts) -> None:
    churned_on = contract.churned_on or work.day
    for cp in list(work.checkpoints.values()):
        mine = cp.contract_id == contract.id and cp.kind != _K.WINBACK
        if mine and cp.due_date > churned_on and cp.status != CANCELLED:
            work.write_checkpoint(replace(cp, status=CANCELLED))
    reason = contract.churn_reason or "other"
    closing = f"contract churned on {churned_on} ({reason})"
    for task in work.open_tasks(contract_id=contract.id):
        if task.kind not in ACCOUNT_TASK_KINDS:
            work.close_task(task, closing)
    plan_account(work, closing)
    if reason != "business_closed":
        row = winback_checkpoint(churned_on)
        identity = (contract.id, contract.term.number, str(row.kind), row.ordinal)
        if identity not in work.checkpoints:
            work.write_checkpoint(checkpoint_row(identity, row, PLANNED))


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
