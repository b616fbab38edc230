"""The event rules of DESIGN §3.2 and the re-planning of §3.1 and §3.2.

`decide(account, event, settings)` is pure: it returns what should change (checkpoint
rows, new tasks, task changes, health) and the worker writes it. Tasks are identified
by deterministic dedupe keys, so deciding twice on the same facts changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal

from services.renewal_worker.engine.health_score import Health, HealthInput, compute_health
from services.renewal_worker.engine.plan import (
    TermPlanInput,
    plan_term,
    skipped_at_creation,
    winback_checkpoint,
)
from services.renewal_worker.engine.playbooks import TaskContext, render_task
from services.renewal_worker.engine.priority import task_priority
from services.renewal_worker.engine.state import (
    AccountFacts,
    CheckpointFacts,
    CheckpointId,
    ContractFacts,
    EngineEvent,
    GoalFacts,
    TaskFacts,
    Term,
)
from shared.rules.calendar import budget_fixed_on, fiscal_year_start, notice_deadline
from shared.rules.roles import KEY_ROLES, StakeholderRole
from shared.rules.segments import segment_for
from shared.rules.types import CheckpointKind, Priority, Segment

_K = CheckpointKind
OPEN = "open"
DONE = "done"
AUTO_CLOSED = "auto_closed"
PLANNED, OPENED, SKIPPED, CANCELLED = "planned", "opened", "skipped", "cancelled"

BUSINESS_OWNER = StakeholderRole.BUSINESS_OWNER
AT_RISK_GOAL_STATUSES = frozenset({"at_risk", "missed"})

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

STAKEHOLDER_NEAR_RENEWAL_DAYS = 120
ADOPTION_WAIT_DAYS = 30
ADOPTION_RISK_BELOW = 0.5
ADOPTION_RECOVERED_FROM = 0.6
EXPANSION_FROM = 0.9
AT_RISK_ESCALATION_DAYS = 90
SAVE_ATTEMPT_DAYS = 3
ESCALATION_DUE_DAYS = 2


@dataclass(frozen=True, slots=True)
class EngineSettings:
    currency: str = "USD"


@dataclass(frozen=True, slots=True)
class NewTask:
    dedupe_key: str
    contract_id: str
    account_id: str
    partner_id: str | None
    kind: str
    title: str
    description: str
    due_date: date
    priority: Priority
    owner: str | None
    term: int
    checkpoint: CheckpointId | None = None


@dataclass(frozen=True, slots=True)
class TaskChange:
    """Only the fields that are not None change (owner: when `owner_changed`)."""

    dedupe_key: str
    due_date: date | None = None
    status: str | None = None
    status_reason: str | None = None
    description: str | None = None
    owner: str | None = None
    owner_changed: bool = False


@dataclass(frozen=True, slots=True)
class HealthChange:
    contract_id: str
    health: Health
    previous_band: str


@dataclass(slots=True)
class Decision:
    checkpoints: list[CheckpointFacts] = field(default_factory=list)
    new_tasks: list[NewTask] = field(default_factory=list)
    task_changes: list[TaskChange] = field(default_factory=list)
    health: list[HealthChange] = field(default_factory=list)


def money(amount: Decimal, currency: str) -> str:
    return f"{amount:,.2f} {currency}"


def segment_on(account: AccountFacts, contract: ContractFacts, day: date) -> Segment:
    """The account's segment on a day, counting this contract's ARR on that day."""
    total = sum(
        (c.arr_on(day) for c in account.contracts if c.id == contract.id or c.active_on(day)),
        Decimal(0),
    )
    return segment_for(total)


def term_of(contract: ContractFacts, number: int | None) -> Term:
    """The term a task is about: a checkpoint's own term, which is no longer the current
    one when the sweep that opened the checkpoint also auto-renewed the contract."""
    return next((t for t in contract.terms if t.number == number), contract.term)


def checkpoint_task_key(identity: CheckpointId) -> str:
    contract_id, term, kind, ordinal = identity
    return f"checkpoint:{contract_id}:{term}:{kind}:{ordinal}"


class _Work:
    """The facts as the decision changes them, and the changes made so far."""

    def __init__(self, account: AccountFacts, event: EngineEvent, settings: EngineSettings):
        self.account = account
        self.event = event
        self.settings = settings
        self.tasks = {task.dedupe_key: task for task in account.tasks}
        self.checkpoints = {cp.identity: cp for cp in account.checkpoints}
        self.decision = Decision()
        self._changes: dict[str, TaskChange] = {}
        self._written: dict[CheckpointId, CheckpointFacts] = {}

    @property
    def day(self) -> date:
        return self.event.day

    def open_tasks(
        self, *, contract_id: str | None = None, kind: str | None = None
    ) -> list[TaskFacts]:
        return [
            task
            for task in self.tasks.values()
            if task.status == OPEN
            and (contract_id is None or task.contract_id == contract_id)
            and (kind is None or task.kind == kind)
        ]

    def write_checkpoint(self, checkpoint: CheckpointFacts) -> None:
        if self.checkpoints.get(checkpoint.identity) == checkpoint:
            return
        self.checkpoints[checkpoint.identity] = checkpoint
        self._written[checkpoint.identity] = checkpoint

    def context(
        self, contract: ContractFacts, term: Term, due: date, **extra: object
    ) -> TaskContext:
        account = self.account
        renewal = term.end
        fiscal_month, lead_days = account.fiscal_year_start_month, account.budget_lead_days
        usage = account.latest_usage.get(contract.id)
        people = {
            role: tuple(
                s.name
                for s in account.stakeholders
                if s.role == role and s.status == "active" and s.name
            )
            for role in (BUSINESS_OWNER, StakeholderRole.CHAMPION)
        }
        fields: dict[str, object] = {
            "account_name": account.name,
            "contract_id": contract.id,
            "term_number": term.number,
            "term_start": term.start,
            "arr": money(term.arr, self.settings.currency),
            "segment": segment_on(account, contract, term.start),
            "renewal": renewal,
            "due_date": due,
            "fiscal_year_start": fiscal_year_start(renewal, fiscal_month),
            "budget_fixed_on": budget_fixed_on(renewal, fiscal_month, lead_days),
            "auto_renew": contract.auto_renew,
            "notice_deadline": notice_deadline(renewal, contract.notice_period_days),
            "business_owners": people[BUSINESS_OWNER],
            "champions": people[StakeholderRole.CHAMPION],
            "active_users": usage.active_users if usage else None,
            "seats": usage.seats if usage else None,
            "churn_reason": contract.churn_reason,
            "pilot_end": contract.pilot_end,
            "trial_end": contract.trial_end,
        }
        fields.update(extra)
        return TaskContext(**fields)  # type: ignore[arg-type]

    def create_task(
        self,
        contract: ContractFacts,
        kind: str,
        due: date,
        dedupe_key: str,
        *,
        priority: Priority | None = None,
        checkpoint: CheckpointId | None = None,
        term: int | None = None,
        **extra: object,
    ) -> None:
        if dedupe_key in self.tasks:
            return
        about = term_of(contract, term)
        title, description = render_task(kind, self.context(contract, about, due, **extra))
        segment = segment_on(self.account, contract, about.start)
        task = NewTask(
            dedupe_key=dedupe_key,
            contract_id=contract.id,
            account_id=self.account.id,
            partner_id=contract.partner_id,
            kind=kind,
            title=title,
            description=description,
            due_date=due,
            priority=priority or task_priority(kind, segment, about.end, self.day),
            owner=self.account.owner,
            term=about.number,
            checkpoint=checkpoint,
        )
        self.decision.new_tasks.append(task)
        self.tasks[dedupe_key] = TaskFacts(
            dedupe_key=dedupe_key,
            contract_id=contract.id,
            kind=kind,
            due_date=due,
            status=OPEN,
            description=description,
            owner=self.account.owner,
            term=task.term,
            checkpoint=checkpoint,
        )

    def change_task(self, task: TaskFacts, change: TaskChange) -> None:
        updated = replace(
            task,
            due_date=change.due_date or task.due_date,
            status=change.status or task.status,
            description=change.description or task.description,
            owner=change.owner if change.owner_changed else task.owner,
        )
        self.tasks[task.dedupe_key] = updated
        new_task = next(
            (t for t in self.decision.new_tasks if t.dedupe_key == task.dedupe_key), None
        )
        if new_task is not None:
            index = self.decision.new_tasks.index(new_task)
            self.decision.new_tasks[index] = replace(
                new_task,
                due_date=updated.due_date,
                description=updated.description,
                owner=updated.owner,
            )
            if updated.status != OPEN:
                del self.decision.new_tasks[index]
            return
        previous = self._changes.get(task.dedupe_key)
        if previous is not None:
            change = replace(
                previous,
                due_date=change.due_date or previous.due_date,
                status=change.status or previous.status,
                status_reason=change.status_reason or previous.status_reason,
                description=change.description or previous.description,
                owner=change.owner if change.owner_changed else previous.owner,
                owner_changed=change.owner_changed or previous.owner_changed,
            )
        self._changes[task.dedupe_key] = change

    def close_task(self, task: TaskFacts, reason: str) -> None:
        self.change_task(
            task, TaskChange(task.dedupe_key, status=AUTO_CLOSED, status_reason=reason)
        )

    def finish(self) -> Decision:
        self.decision.checkpoints = list(self._written.values())
        self.decision.task_changes = list(self._changes.values())
        return self.decision


def _plan_input(account: AccountFacts, contract: ContractFacts) -> TermPlanInput:
    term = contract.term
    return TermPlanInput(
        term_number=term.number,
        start=term.start,
        renewal=term.end,
        segment=segment_on(account, contract, term.start),
        fiscal_year_start_month=account.fiscal_year_start_month,
        budget_lead_days=account.budget_lead_days,
        auto_renew=contract.auto_renew,
        notice_period_days=contract.notice_period_days,
        pilot_start=contract.pilot_start,
        pilot_end=contract.pilot_end,
        trial_end=contract.trial_end,
    )


def _replan(work: _Work, contract: ContractFacts) -> None:
    """(Re)computes the current term's plan: planned rows move, open tasks follow their
    checkpoint's new due date, done tasks never change, rows no longer planned are
    cancelled; rows due more than 14 days ago are skipped (DESIGN §3.1)."""
    if contract.churned_on is not None:
        return
    term = contract.term.number
    planned = {
        (contract.id, term, str(p.kind), p.ordinal): p
        for p in plan_term(_plan_input(work.account, contract))
    }
    existing = {
        identity: cp
        for identity, cp in work.checkpoints.items()
        if cp.contract_id == contract.id and cp.term == term and cp.kind != _K.WINBACK
    }
    for identity, row in planned.items():
        current = existing.get(identity)
        if current is not None and current.status == OPENED:
            status = OPENED
        else:
            status = SKIPPED if skipped_at_creation(row, work.day) else PLANNED
        work.write_checkpoint(
            CheckpointFacts(
                contract_id=contract.id,
                term=term,
                kind=str(row.kind),
                ordinal=row.ordinal,
                due_date=row.due_date,
                opens_on=row.opens_on,
                status=status,
            )
        )
        task = work.tasks.get(checkpoint_task_key(identity))
        if task is not None and task.status == OPEN and task.due_date != row.due_date:
            work.change_task(task, TaskChange(task.dedupe_key, due_date=row.due_date))
    for identity, current in existing.items():
        if identity in planned or current.status == CANCELLED:
            continue
        work.write_checkpoint(replace(current, status=CANCELLED))
        task = work.tasks.get(checkpoint_task_key(identity))
        if task is not None and task.status == OPEN:
            work.close_task(task, "the checkpoint left the plan when the contract's dates changed")


def _on_renewed(work: _Work, contract: ContractFacts) -> None:
    current = contract.term.number
    for cp in list(work.checkpoints.values()):
        if cp.contract_id == contract.id and cp.term < current and cp.status in {PLANNED, SKIPPED}:
            work.write_checkpoint(replace(cp, status=CANCELLED))
    for task in work.open_tasks(contract_id=contract.id):
        if task.term < current and task.kind in RENEWAL_TASK_KINDS:
            work.close_task(
                task, f"renewed: term {current} runs {contract.term.start} to {contract.renewal}"
            )
    _replan(work, contract)


def _on_churned(work: _Work, contract: ContractFacts) -> None:
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


def _on_checkpoint_due(work: _Work) -> None:
    data = work.event.data
    identity: CheckpointId = (
        str(data["contract_id"]),
        int(data["term"]),
        str(data["kind"]),
        int(data["ordinal"]),
    )
    checkpoint = work.checkpoints.get(identity)
    contract = work.account.contract(identity[0])
    if checkpoint is None or contract is None or checkpoint.status != OPENED:
        return
    if (contract.churned_on is not None) != (checkpoint.kind == _K.WINBACK):
        return
    work.create_task(
        contract,
        checkpoint.kind,
        checkpoint.due_date,
        checkpoint_task_key(identity),
        checkpoint=identity,
        term=checkpoint.term,
    )


def _stakeholder_change(work: _Work) -> str | None:
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


def _on_stakeholder(work: _Work) -> None:
    change = _stakeholder_change(work)
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


def _on_usage(work: _Work) -> None:
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


def _on_goal(work: _Work) -> None:
    data = work.event.data
    goal = GoalFacts(
        id=str(data.get("id")),
        contract_id=str(data.get("contract_id")),
        name=str(data.get("name")),
        status=str(data.get("status")),
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


def _on_owner(work: _Work) -> None:
    owner = work.account.owner
    for task in work.open_tasks():
        if task.owner != owner:
            work.change_task(task, TaskChange(task.dedupe_key, owner=owner, owner_changed=True))


def _health(work: _Work, contract: ContractFacts) -> Health:
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
                and t.kind == _K.RENEWAL_OUTREACH
                and t.term == contract.term.number
                and t.status == DONE
                for t in work.tasks.values()
            ),
            open_task_due_dates=tuple(t.due_date for t in work.open_tasks(contract_id=contract.id)),
            cancellation_pending=contract.cancellation_notice_on is not None,
        )
    )


def _update_health(work: _Work) -> None:
    for contract in work.account.contracts:
        if contract.churned_on is not None:
            continue
        health = _health(work, contract)
        signals = tuple((s.signal, s.points) for s in health.signals)
        if (health.score, health.band, signals) == (
            contract.health_score,
            contract.health_band,
            contract.health_signals,
        ):
            continue
        work.decision.health.append(HealthChange(contract.id, health, contract.health_band))
        near = (contract.renewal - work.day).days <= AT_RISK_ESCALATION_DAYS
        if health.band == "red" and contract.health_band != "red" and near:
            work.create_task(
                contract,
                "renewal_at_risk",
                work.day + timedelta(days=ESCALATION_DUE_DAYS),
                f"renewal_at_risk:{contract.id}:{contract.term.number}",
                health_signals=tuple(s.signal for s in health.signals),
            )


def decide(account: AccountFacts, event: EngineEvent, settings: EngineSettings) -> Decision:
    work = _Work(account, event, settings)
    kind = event.type
    contract = (
        account.contract(str(event.data.get("id", ""))) if kind.startswith("contract.") else None
    )
    if kind in {"contract.created", "contract.updated"} and contract is not None:
        _replan(work, contract)
    elif kind == "contract.renewed" and contract is not None:
        _on_renewed(work, contract)
    elif kind == "contract.churned" and contract is not None:
        _on_churned(work, contract)
    elif kind == "contract.cancellation_noticed" and contract is not None:
        noticed = contract.cancellation_notice_on or work.day
        work.create_task(
            contract,
            "save_attempt",
            work.day + timedelta(days=SAVE_ATTEMPT_DAYS),
            f"save_attempt:{contract.id}:{noticed}",
        )
    elif kind == "contract.cancellation_withdrawn" and contract is not None:
        for task in work.open_tasks(contract_id=contract.id, kind="save_attempt"):
            work.close_task(task, "the cancellation notice was withdrawn")
    elif kind == "checkpoint.due":
        _on_checkpoint_due(work)
    elif kind.startswith("stakeholder.") and kind != "stakeholder.erased":
        _on_stakeholder(work)
    elif kind == "usage.reported":
        _on_usage(work)
    elif kind in {"goal.created", "goal.updated"}:
        _on_goal(work)
    elif kind == "account.updated":
        _on_owner(work)
    _update_health(work)
    return work.finish()
