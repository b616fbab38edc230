"""Key stakeholder changes (DESIGN §3.2): one `stakeholder_change` task per account."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from services.renewal_worker.engine.rules.decision import TaskChange
from services.renewal_worker.engine.rules.work import Work
from services.renewal_worker.engine.state import StakeholderFacts
from shared.rules.roles import KEY_ROLES, StakeholderRole
from shared.rules.types import Priority

BUSINESS_OWNER = StakeholderRole.BUSINESS_OWNER
STAKEHOLDER_NEAR_RENEWAL_DAYS = 120


@dataclass(frozen=True, slots=True)
class StakeholderChange:
    """A change to one key role: the sentence that records it, and who holds the role
    now (``vacant`` when no active stakeholder does, so a successor must be found)."""

    role: str
    person: str | None
    line: str
    holders: tuple[str, ...]
    vacant: bool


def _label(role: str) -> str:
    return role.replace("_", " ")


def stakeholder_change(work: Work) -> StakeholderChange | None:
    """Describes a key stakeholder change, or None when the event is not one.

    Losing a key role's holder is a change: a departure, or a move to another role
    (to a key role only when it leaves the old one without an active holder: the
    person is still there, but someone must take over). Gaining one is a change only
    for a business owner who succeeds a former one with no other business owner
    active: the first business owner of an account is no change, and one added or
    appointed beside an active business owner is a co-owner."""
    data = work.event.data
    role, status = str(data.get("role")), str(data.get("status"))
    previous = data.get("previous") or {}
    before_role = str(previous.get("role", role))
    before_status = str(previous.get("status", "active"))
    people = work.account.stakeholders
    this = str(data.get("id"))
    person = next((s for s in people if s.id == this), None)
    name = person.name if person and person.name else None
    who = name or "a stakeholder"

    def holders(of: str) -> tuple[StakeholderFacts, ...]:
        return tuple(s for s in people if s.role == of and s.status == "active")

    def change(of: str, line: str) -> StakeholderChange:
        now = holders(of)
        if not now:
            line += f"; no active {_label(of)} remains"
        named = tuple(s.name for s in now if s.name)
        return StakeholderChange(of, name, line, named, vacant=not now)

    kind = work.event.type
    departed = status == "departed" and before_status != "departed"
    if (kind == "stakeholder.departed" or departed) and before_role in KEY_ROLES:
        return change(before_role, f"{who} ({_label(before_role)}) left")
    if kind == "stakeholder.updated" and before_role in KEY_ROLES and role != before_role:
        moved = f"{who} moved from {_label(before_role)} to {_label(role)}"
        if role not in KEY_ROLES or not holders(before_role):
            return change(before_role, moved)
    # People come in the order they were added. A worker catching up on a backlog already
    # sees those added after this event; they must not make the first owner a successor.
    added_before = people[: people.index(person)] if person is not None else people
    earlier = added_before if kind == "stakeholder.added" else people
    succeeds = any(s.role == BUSINESS_OWNER and s.id != this for s in earlier)
    co_owned = any(s.id != this for s in holders(BUSINESS_OWNER))
    appointed = kind == "stakeholder.added" or (
        kind == "stakeholder.updated" and before_role != BUSINESS_OWNER
    )
    if role == BUSINESS_OWNER and status == "active" and appointed and succeeds and not co_owned:
        line = (
            f"{who} was added as the new business owner"
            if kind == "stakeholder.added"
            else f"{who} moved from {_label(before_role)} to business owner"
        )
        return change(BUSINESS_OWNER, line)
    return None


def on_stakeholder(work: Work) -> None:
    change = stakeholder_change(work)
    if change is None:
        return
    line = f"\n- {work.day}: {change.line}."
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
        stakeholder_role=change.role,
        stakeholder_name=change.person,
        stakeholder_change=change.line,
        role_holders=change.holders,
        role_vacant=change.vacant,
    )
    task = work.tasks[f"stakeholder_change:{work.account.id}:{work.event.id}"]
    work.change_task(
        task, TaskChange(task.dedupe_key, description=task.description + "\n\nChanges:" + line)
    )
