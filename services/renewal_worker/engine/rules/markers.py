"""Renewal markers (`shared.rules.types.MARKER_KINDS`): R - 90 and R - 60 days, brought
to the engine by the scheduler's sweep like any checkpoint, but opening no task.

Health and the at-risk escalation need no rule here: `update_health` runs after every
event, so the marker's day is all they need. On `renewal_near` the contract's open tasks
move up one priority step (DESIGN §3.2 "Priority"), which they would have had if they
had been created that day.
"""

from __future__ import annotations

from services.renewal_worker.engine.plan import PlannedCheckpoint
from services.renewal_worker.engine.priority import raised, task_priority
from services.renewal_worker.engine.rules.decision import TaskChange
from services.renewal_worker.engine.rules.work import (
    OPENED,
    PLANNED,
    SKIPPED,
    Work,
    segment_on,
    term_of,
)
from services.renewal_worker.engine.state import CheckpointFacts, ContractFacts
from shared.rules.types import CheckpointKind


def marker_status(
    work: Work, contract: ContractFacts, row: PlannedCheckpoint, current: CheckpointFacts | None
) -> str:
    """A marker still ahead is planned, also one that fired before R moved later: its day
    must come again. One whose day has come with this event is skipped: a new one (a
    contract created inside the window gets its health and raised priorities at
    creation), and a planned one, whose day the event brings instead of the sweep (R
    moved into the window), so its effect is applied now. An opened one stays opened."""
    if row.due_date > work.day:
        return PLANNED
    if current is not None and current.status == OPENED:
        return OPENED
    if current is not None and current.status == PLANNED:
        on_marker(work, contract, current)
    return SKIPPED


def on_marker(work: Work, contract: ContractFacts, marker: CheckpointFacts) -> None:
    """A marker of a term already renewed says nothing about the current one."""
    if marker.kind == CheckpointKind.RENEWAL_NEAR and marker.term == contract.term.number:
        raise_priorities(work, contract)


def raise_priorities(work: Work, contract: ContractFacts) -> None:
    """Each open task gets the priority it would be created with today, if higher: once,
    since the raised one is then its own; never above urgent; never below what it has
    (a person may have raised it further)."""
    for task in work.open_tasks(contract_id=contract.id):
        about = term_of(contract, task.term)
        segment = segment_on(work.account, contract, about.start)
        target = raised(task.priority, task_priority(task.kind, segment, about.end, work.day))
        if target is not None:
            work.change_task(task, TaskChange(task.dedupe_key, priority=target))
