"""The event rules of DESIGN §3.2 and the re-planning of §3.1 and §3.2.

`decide(account, event, settings)` is pure: it returns what should change (checkpoint
rows, new tasks, task changes, health) and the worker writes it. Tasks are identified
by deterministic dedupe keys, so deciding twice on the same facts changes nothing.

One module per family of events: `checkpoints` (the plan and `checkpoint.due`),
`account` (the work planned once per account), `renewal` (renewal, churn, cancellation
notices), `stakeholders`, `usage`, `goals` and `owner`; `health` runs after every event.
They share `work` (the facts as the decision changes them) and return a `decision`.
"""

from __future__ import annotations

from services.renewal_worker.engine.rules.account import plan_account
from services.renewal_worker.engine.rules.checkpoints import (
    on_checkpoint_due,
    on_trial_started,
    replan,
    replan_budgets,
)
from services.renewal_worker.engine.rules.decision import (
    Decision,
    EngineSettings,
    HealthChange,
    NewTask,
    TaskChange,
)
from services.renewal_worker.engine.rules.goals import on_goal
from services.renewal_worker.engine.rules.health import update_health
from services.renewal_worker.engine.rules.owner import on_owner_changed
from services.renewal_worker.engine.rules.renewal import (
    on_cancellation_noticed,
    on_cancellation_withdrawn,
    on_churned,
    on_renewed,
)
from services.renewal_worker.engine.rules.stakeholders import on_stakeholder
from services.renewal_worker.engine.rules.usage import on_usage
from services.renewal_worker.engine.rules.work import Work
from services.renewal_worker.engine.state import AccountFacts, EngineEvent

__all__ = ["Decision", "EngineSettings", "HealthChange", "NewTask", "TaskChange", "decide"]


def decide(account: AccountFacts, event: EngineEvent, settings: EngineSettings) -> Decision:
    work = Work(account, event, settings)
    kind = event.type
    contract = (
        account.contract(str(event.data.get("id", ""))) if kind.startswith("contract.") else None
    )
    if kind in {"contract.created", "contract.updated"} and contract is not None:
        replan(work, contract)
        plan_account(work, "the checkpoint left the plan when a contract of the account changed")
    elif kind == "contract.renewed" and contract is not None:
        on_renewed(work, contract)
    elif kind == "contract.churned" and contract is not None:
        on_churned(work, contract)
    elif kind == "contract.cancellation_noticed" and contract is not None:
        on_cancellation_noticed(work, contract)
    elif kind == "contract.cancellation_withdrawn" and contract is not None:
        on_cancellation_withdrawn(work, contract)
    elif kind == "contract.trial_started":
        on_trial_started(work)
    elif kind == "checkpoint.due":
        on_checkpoint_due(work)
    elif kind.startswith("stakeholder.") and kind != "stakeholder.erased":
        on_stakeholder(work)
    elif kind == "usage.reported":
        on_usage(work)
    elif kind in {"goal.created", "goal.updated"}:
        on_goal(work)
    elif kind == "account.updated":
        on_owner_changed(work)
        replan_budgets(work, "the checkpoint left the plan when the account's fiscal year changed")
    update_health(work)
    return work.finish()
