"""The facts as one decision changes them, and the changes made so far.

Every rule module works on a `Work`: it reads the account's facts (with the changes
earlier rules of the same event made), creates, changes and closes tasks, and writes
checkpoint rows; `finish()` turns that into the `Decision` the worker writes.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

from services.renewal_worker.engine.plan import PlannedCheckpoint, skipped_at_creation
from services.renewal_worker.engine.playbooks import TaskContext, render_task
from services.renewal_worker.engine.playbooks.context import GoalLine
from services.renewal_worker.engine.priority import task_priority
from services.renewal_worker.engine.rules.decision import (
    Decision,
    EngineSettings,
    NewTask,
    TaskChange,
)
from services.renewal_worker.engine.state import (
    AccountFacts,
    CheckpointFacts,
    CheckpointId,
    ContractFacts,
    EngineEvent,
    TaskFacts,
    Term,
)
from shared.rules.calendar import budget_fixed_on, fiscal_year_start, notice_deadline
from shared.rules.roles import StakeholderRole
from shared.rules.segments import segment_for
from shared.rules.types import Priority, Segment

OPEN = "open"
DONE = "done"
AUTO_CLOSED = "auto_closed"
PLANNED, OPENED, SKIPPED, CANCELLED = "planned", "opened", "skipped", "cancelled"


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


def checkpoint_row(identity: CheckpointId, row: PlannedCheckpoint, status: str) -> CheckpointFacts:
    """A planned row as the checkpoint `identity` stores it."""
    contract_id, term, kind, ordinal = identity
    return CheckpointFacts(
        contract_id=contract_id,
        term=term,
        kind=kind,
        ordinal=ordinal,
        due_date=row.due_date,
        opens_on=row.opens_on,
        status=status,
    )


def first_status(row: PlannedCheckpoint, day: date) -> str:
    """The status of a row planned on `day` for the first time: skipped when it is
    already too old to act on (DESIGN §3.1), planned otherwise."""
    return SKIPPED if skipped_at_creation(row, day) else PLANNED


def checkpoint_task_key(identity: CheckpointId) -> str:
    contract_id, term, kind, ordinal = identity
    return f"checkpoint:{contract_id}:{term}:{kind}:{ordinal}"


class Work:
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
        usage = account.latest_usage.get(contract.id)
        people = {
            role: tuple(
                s.name
                for s in account.stakeholders
                if s.role == role and s.status == "active" and s.name
            )
            for role in (
                StakeholderRole.BUSINESS_OWNER,
                StakeholderRole.CHAMPION,
                StakeholderRole.BUDGET_HOLDER,
            )
        }
        fiscal_month, lead_days = account.fiscal_year_start_month, account.budget_lead_days
        fields: dict[str, object] = {
            "account_name": account.name,
            "contract_id": contract.id,
            "term_number": term.number,
            "term_start": term.start,
            "arr": money(term.arr, self.settings.currency),
            "segment": segment_on(account, contract, term.start),
            "renewal": renewal,
            "due_date": due,
            "fiscal_year_start": (
                fiscal_year_start(renewal, fiscal_month) if fiscal_month is not None else None
            ),
            "budget_fixed_on": budget_fixed_on(renewal, fiscal_month, lead_days),
            "auto_renew": contract.auto_renew,
            "notice_deadline": notice_deadline(renewal, contract.notice_period_days),
            "business_owners": people[StakeholderRole.BUSINESS_OWNER],
            "champions": people[StakeholderRole.CHAMPION],
            "active_users": usage.active_users if usage else None,
            "seats": usage.seats if usage else None,
            "churn_reason": contract.churn_reason,
            "pilot_end": contract.pilot_end,
            "trial_end": contract.trial_end,
            "goals": tuple(
                GoalLine(g.name, g.target, g.status)
                for g in account.goals
                if g.contract_id == contract.id
            ),
            "partner_name": contract.partner_name,
            "budget_holders": people[StakeholderRole.BUDGET_HOLDER],
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
            priority=task.priority,
        )

    def change_task(self, task: TaskFacts, change: TaskChange) -> None:
        updated = replace(
            task,
            due_date=change.due_date or task.due_date,
            status=change.status or task.status,
            description=change.description or task.description,
            owner=change.owner if change.owner_changed else task.owner,
            priority=change.priority or task.priority,
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
                priority=updated.priority or new_task.priority,
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
                priority=change.priority or previous.priority,
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
