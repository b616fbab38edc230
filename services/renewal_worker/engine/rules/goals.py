"""Goals at risk (DESIGN §3.2): a task per goal, closed when the goal recovers."""

from __future__ import annotations

from datetime import timedelta

from services.renewal_worker.engine.rules.work import Work
from services.renewal_worker.engine.state import GoalFacts

AT_RISK_GOAL_STATUSES = frozenset({"at_risk", "missed"})


def on_goal(work: Work) -> None:
    data = work.event.data
    goal = GoalFacts(
        id=str(data.get("id")),
        contract_id=str(data.get("contract_id")),
        name=str(data.get("name")),
        status=str(data.get("status")),
        target=str(data.get("target", "")),
    )
    current = next((g for g in work.account.goals if g.id == goal.id), goal)
    contract = work.account.contract(current.contract_id)
    if contract is None:
        return
    prefix = f"goal_at_risk:{current.id}:"
    open_for_goal = [
        t for t in work.open_tasks(contract_id=contract.id) if t.dedupe_key.startswith(prefix)
    ]
    if current.status in AT_RISK_GOAL_STATUSES:
        if not open_for_goal:
            work.create_task(
                contract,
                "goal_at_risk",
                work.day + timedelta(days=7),
                prefix + work.event.id,
                goal_name=current.name,
                goal_status=current.status,
            )
    else:
        for task in open_for_goal:
            work.close_task(
                task, f"the goal '{current.name}' is {current.status.replace('_', ' ')} again"
            )
