"""Key stakeholder changes (DESIGN §3.2): one `stakeholder_change` task per account."""

from __future__ import annotations

from datetime import timedelta

from services.renewal_worker.engine.rules.decision import TaskChange
from services.renewal_worker.engine.rules.work import Work
from shared.rules.roles import KEY_ROLES, StakeholderRole
from shared.rules.types import Priority

BUSINESS_OWNER = StakeholderRole.BUSINESS_OWNER
STAKEHOLDER_NEAR_RENEWAL_DAYS = 120


def stakeholder_change(work: Work) -> str | None:
    """Describes a key stakeholder change, or None when the event is not one."""
    data = work.event.data
    role, status = str(data.get("role")), str(data.get("status"))
    previous = data.get("previous") or {}
    before_role = str(previous.get("role", role))
    before_status = str(previous.get("status", "active"))
    people = work.account.stakeholders
    this = str(data.get("id"))
    person = next((s for s in people if s.id == this), None)
    who = (person.name if person and person.name else None) or "a stakeholder"
    other_owner = any(s.role == BUSINESS_OWNER and s.id != this for s in people)
    # People come in the order they were added. A worker catching up on a backlog already
    # sees those added after this event; they must not make the first owner a successor.
    added_before = people[: people.index(person)] if person is not None else people
    owner_before = any(s.role == BUSINESS_OWNER and s.id != this for s in added_before)
    kind = work.event.type
    departed = status == "departed" and before_status != "departed"
    if (kind == "stakeholder.departed" or departed) and before_role in KEY_ROLES:
        return f"{who} ({before_role.replace('_', ' ')}) left"
    if kind == "stakeholder.added" and role == BUSINESS_OWNER and owner_before:
        return f"{who} was added as a new business owner"
    if kind == "stakeholder.updated" and before_role in KEY_ROLES and role not in KEY_ROLES:
        return f"{who} moved from {before_role.replace('_', ' ')} to {role.replace('_', ' ')}"
    if kind == "stakeholder.updated" and role == BUSINESS_OWNER != before_role and other_owner:
        return f"{who} became a business owner"
    return None


def on_stakeholder(work: Work) -> None:
    change = stakeholder_change(work)
    if change is None:
        return
    line = f"\n- {work.day}: {change}."
    existing = work.open_tasks(kind="stakeholder_change")
    if existing:
        task = existing[0]
        if line not in task.description:
            work.change_task(task, TaskChange(task.dedupe_key, description=task.description + line))
        return
    # A contract signed but not started yet counts: losing its buyer before the start
    # is as losing them mid-term.
    live = [
        c
        for c in work.account.contracts
        if c.active_on(work.day) or (c.churned_on is None and c.start_date > work.day)
    ]
    if not live:
        return
    contract = min(live, key=lambda c: (c.renewal, c.id))
    near = (contract.renewal - work.day).days <= STAKEHOLDER_NEAR_RENEWAL_DAYS
    due = work.day + timedelta(days=2 if near else 7)
    work.create_task(
        contract,
        "stakeholder_change",
        due,
        f"stakeholder_change:{work.account.id}:{work.event.id}",
        priority=Priority.URGENT if near else None,
    )
    task = work.tasks[f"stakeholder_change:{work.account.id}:{work.event.id}"]
    work.change_task(
        task, TaskChange(task.dedupe_key, description=task.description + "\n\nChanges:" + line)
    )
