"""Builders for engine facts, and a pure stand-in for the worker's writes."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from services.renewal_worker.engine.rules import Decision, EngineSettings, decide
from services.renewal_worker.engine.state import (
    AccountFacts,
    ContractFacts,
    EngineEvent,
    TaskFacts,
    Term,
)

SETTINGS = EngineSettings(currency="USD")


def d(text: str) -> date:
    return date.fromisoformat(text)


def contract(
    start: str = "2026-03-15",
    end: str = "2027-03-15",
    arr: str = "12000",
    *,
    cid: str = "c1",
    **overrides: Any,
) -> ContractFacts:
    base = ContractFacts(
        id=cid,
        account_id="a1",
        partner_id=None,
        start_date=d(start),
        pilot_start=None,
        pilot_end=None,
        trial_end=None,
        auto_renew=False,
        notice_period_days=0,
        terms=(Term(1, d(start), d(end), Decimal(arr)),),
    )
    return replace(base, **overrides)


def account(*contracts: ContractFacts, **overrides: Any) -> AccountFacts:
    base = AccountFacts(
        id="a1",
        name="Globex",
        owner="am@example.com",
        fiscal_year_start_month=1,
        budget_lead_days=90,
        contracts=contracts,
    )
    return replace(base, **overrides)


def event(type: str, day: str, data: dict[str, Any], eid: str = "e1") -> EngineEvent:
    return EngineEvent(
        id=eid,
        source="urn:test",
        type=type,
        time=datetime.combine(d(day), datetime.min.time(), UTC),
        data=data,
    )


def applied(facts: AccountFacts, decision: Decision) -> AccountFacts:
    """The facts after the worker wrote the decision (what it would load next time)."""
    checkpoints = {cp.identity: cp for cp in facts.checkpoints}
    checkpoints.update({cp.identity: cp for cp in decision.checkpoints})
    tasks = {t.dedupe_key: t for t in facts.tasks}
    for new in decision.new_tasks:
        tasks.setdefault(
            new.dedupe_key,
            TaskFacts(
                dedupe_key=new.dedupe_key,
                contract_id=new.contract_id,
                kind=new.kind,
                due_date=new.due_date,
                status="open",
                description=new.description,
                owner=new.owner,
                term=new.term,
                checkpoint=new.checkpoint,
                priority=new.priority,
            ),
        )
    for change in decision.task_changes:
        task = tasks[change.dedupe_key]
        tasks[change.dedupe_key] = replace(
            task,
            due_date=change.due_date or task.due_date,
            status=change.status or task.status,
            description=change.description or task.description,
            owner=change.owner if change.owner_changed else task.owner,
            priority=change.priority or task.priority,
        )
    health = {h.contract_id: h.health for h in decision.health}
    contracts = tuple(
        replace(
            c,
            health_band=health[c.id].band,
            health_score=health[c.id].score,
            health_signals=tuple((s.signal, s.points) for s in health[c.id].signals),
        )
        if c.id in health
        else c
        for c in facts.contracts
    )
    return replace(
        facts,
        contracts=contracts,
        checkpoints=tuple(checkpoints.values()),
        tasks=tuple(tasks.values()),
    )


def run(facts: AccountFacts, *events: EngineEvent) -> AccountFacts:
    for item in events:
        facts = applied(facts, decide(facts, item, SETTINGS))
    return facts


def is_empty(decision: Decision) -> bool:
    return not (
        decision.checkpoints or decision.new_tasks or decision.task_changes or decision.health
    )
