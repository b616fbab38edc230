"""Adoption risk and expansion from usage reports (DESIGN §3.2)."""

from __future__ import annotations

from datetime import timedelta

from services.renewal_worker.engine.rules.work import Work

ADOPTION_WAIT_DAYS = 30
ADOPTION_RISK_BELOW = 0.5
ADOPTION_RECOVERED_FROM = 0.6
EXPANSION_FROM = 0.9


def on_usage(work: Work) -> None:
    contract = work.account.contract(str(work.event.data.get("contract_id")))
    usage = work.account.latest_usage.get(contract.id) if contract else None
    if contract is None or usage is None or usage.adoption is None:
        return
    adoption = usage.adoption
    risks = work.open_tasks(contract_id=contract.id, kind="adoption_risk")
    if usage.as_of >= contract.terms[0].start + timedelta(days=ADOPTION_WAIT_DAYS):
        if adoption < ADOPTION_RISK_BELOW and not risks:
            work.create_task(
                contract,
                "adoption_risk",
                work.day + timedelta(days=7),
                f"adoption_risk:{contract.id}:{work.event.id}",
            )
        elif adoption >= ADOPTION_RECOVERED_FROM:
            for task in risks:
                work.close_task(
                    task,
                    f"adoption recovered to {adoption:.0%} "
                    f"({usage.active_users}/{usage.seats} on {usage.as_of})",
                )
    if adoption >= EXPANSION_FROM:
        work.create_task(
            contract,
            "expansion_opportunity",
            work.day + timedelta(days=14),
            f"expansion_opportunity:{contract.id}:{contract.term.number}",
        )
