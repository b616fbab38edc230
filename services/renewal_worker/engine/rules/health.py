"""Health after every event (DESIGN §3.3), and the at-risk escalation it can trigger
(DESIGN §3.2)."""

from __future__ import annotations

from datetime import timedelta

from services.renewal_worker.engine.health_score import Health, HealthInput, compute_health
from services.renewal_worker.engine.plan import RENEWAL_WINDOW_DAYS
from services.renewal_worker.engine.rules.decision import HealthChange
from services.renewal_worker.engine.rules.goals import AT_RISK_GOAL_STATUSES
from services.renewal_worker.engine.rules.work import CANCELLED, DONE, Work
from services.renewal_worker.engine.state import ContractFacts
from shared.rules.types import CheckpointKind

AT_RISK_ESCALATION_DAYS = RENEWAL_WINDOW_DAYS
ESCALATION_DUE_DAYS = 2


def health_of(work: Work, contract: ContractFacts) -> Health:
    account = work.account
    usage = account.latest_usage.get(contract.id)
    return compute_health(
        HealthInput(
            as_of=work.day,
            renewal=contract.renewal,
            key_stakeholder_lost=bool(work.open_tasks(kind="stakeholder_change")),
            latest_adoption=usage.adoption if usage else None,
            goal_at_risk=any(
                g.contract_id == contract.id and g.status in AT_RISK_GOAL_STATUSES
                for g in account.goals
            ),
            outreach_done=any(
                t.contract_id == contract.id
                and t.kind == CheckpointKind.RENEWAL_OUTREACH
                and t.term == contract.term.number
                and t.status == DONE
                for t in work.tasks.values()
            ),
            open_task_due_dates=tuple(t.due_date for t in work.open_tasks(contract_id=contract.id)),
            cancellation_pending=contract.cancellation_notice_on is not None,
            outreach_planned=any(
                cp.contract_id == contract.id
                and cp.term == contract.term.number
                and cp.kind == CheckpointKind.RENEWAL_OUTREACH
                and cp.status != CANCELLED
                for cp in work.checkpoints.values()
            ),
        )
    )


def update_health(work: Work) -> None:
    """A red contract escalates on any event once R is within 90 days: the band turning
    red inside the window, or the window reaching a contract already red (the
    `renewal_window` marker brings that day). The dedupe key holds the term: once per
    term, however often either happens."""
    for contract in work.account.contracts:
        if contract.churned_on is not None:
            continue
        health = health_of(work, contract)
        signals = tuple((s.signal, s.points) for s in health.signals)
        if (health.score, health.band, signals) != (
            contract.health_score,
            contract.health_band,
            contract.health_signals,
        ):
            work.decision.health.append(HealthChange(contract.id, health, contract.health_band))
        near = (contract.renewal - work.day).days <= AT_RISK_ESCALATION_DAYS
        if health.band == "red" and near:
            work.create_task(
                contract,
                "renewal_at_risk",
                work.day + timedelta(days=ESCALATION_DUE_DAYS),
                f"renewal_at_risk:{contract.id}:{contract.term.number}",
                health_signals=tuple(s.signal for s in health.signals),
            )
