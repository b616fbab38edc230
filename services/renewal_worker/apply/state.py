"""An account as a set-wise batch keeps it in memory: its facts, and the rows behind them.

The set-wise path (`batch`) reads every account of a batch once (`rows`), runs the pure
engine over the batch's events in order, and applies each decision here instead of
writing it: the next event of the account is decided on the facts a fresh read would
give after the earlier events' writes (the rules of `write`, row by row). What changed
is collected in `Changes`, written at the end with a few statements per table (`bulk`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from services.renewal_worker.apply import notify
from services.renewal_worker.engine.rules import Decision, HealthChange, NewTask
from services.renewal_worker.engine.state import (
    AccountFacts,
    CheckpointFacts,
    CheckpointId,
    ContractFacts,
    EngineEvent,
    TaskFacts,
    UsageFacts,
)
from shared.events.outbox import Prepared
from shared.events.types import EventType
from shared.ids import new_id
from shared.rules.types import Priority

TASK_FIELDS = ("due_date", "overdue_noted_on", "description", "owner", "priority", "status")
"""The task columns an engine change may set (besides `status_reason` and `closed_at`)."""


class NotSetwise(Exception):
    """The batch touches rows the set-wise path does not keep (another account's task
    or contract): it is applied event by event instead, exactly as before."""


@dataclass(slots=True)
class TaskRow:
    """A task as the batch knows it: its stored columns by name (what a notification
    shows), the version read (None: created in this batch) and its facts."""

    values: dict[str, Any]
    version: int | None
    flushed: tuple[Any, ...] = ()
    """The changeable columns as last stored: a round of changes that leaves them equal
    writes nothing and keeps `updated_at`, as the ORM's flush would."""
    facts: TaskFacts | None = None

    def changeable(self) -> tuple[Any, ...]:
        values = self.values
        return (*(values[name] for name in TASK_FIELDS), values["status_reason"])


@dataclass(slots=True)
class Changes:
    """Everything a batch's events changed, to be written at once (see `bulk`)."""

    new_checkpoints: dict[uuid.UUID, dict[str, Any]] = field(default_factory=dict)
    changed_checkpoints: dict[uuid.UUID, dict[str, Any]] = field(default_factory=dict)
    new_tasks: dict[uuid.UUID, TaskRow] = field(default_factory=dict)
    changed_tasks: dict[uuid.UUID, TaskRow] = field(default_factory=dict)
    health: dict[uuid.UUID, dict[str, Any]] = field(default_factory=dict)
    notifications: list[Prepared] = field(default_factory=list)
    bands_changed: dict[uuid.UUID, datetime] = field(default_factory=dict)
    """Contracts whose health band changed, with the time of the last event that did:
    their forecasts are refreshed after the write (`forecasts`)."""
    unknown_task_keys: set[str] = field(default_factory=set)
    """Dedupe keys the engine changed that the batch does not hold: the per-event path
    would look them up in every account, so the batch checks that none exists."""


@dataclass(slots=True)
class AccountState:
    """One account of the batch: the facts the engine is given and the row ids and
    columns behind them; `apply` changes both as the writer would change the rows."""

    id: uuid.UUID
    base: AccountFacts
    """The account's own fields, stakeholders and goals: the worker never changes them."""
    contracts: list[ContractFacts] = field(default_factory=list)
    checkpoints: dict[CheckpointId, CheckpointFacts] = field(default_factory=dict)
    checkpoint_ids: dict[CheckpointId, uuid.UUID] = field(default_factory=dict)
    tasks: dict[str, TaskRow] = field(default_factory=dict)
    """By dedupe key, in the order they were read, then created."""
    latest_usage: dict[str, UsageFacts] = field(default_factory=dict)
    latest_usage_ids: dict[str, uuid.UUID] = field(default_factory=dict)
    _facts: AccountFacts | None = None

    def facts(self, latest_usage: dict[str, UsageFacts] | None = None) -> AccountFacts:
        """The facts a fresh load would give (see `load.LoadedAccount.facts`)."""
        if self._facts is None:
            identities = {cp_id: identity for identity, cp_id in self.checkpoint_ids.items()}
            self._facts = replace(
                self.base,
                contracts=tuple(self.contracts),
                checkpoints=tuple(cp for _, cp in sorted(self.checkpoints.items())),
                tasks=tuple(_task_facts(row, identities) for row in self.tasks.values()),
                latest_usage=self.latest_usage,
            )
        if latest_usage is None or latest_usage is self.latest_usage:
            return self._facts
        return replace(self._facts, latest_usage=latest_usage)

    def apply(
        self, event: EngineEvent, decision: Decision, changes: Changes, now: datetime
    ) -> None:
        """Applies a decision as `write` would store it: checkpoints, then new tasks,
        then task changes, then health, with the same notifications in the same order."""
        self._facts = None
        self._write_checkpoints(decision.checkpoints, changes)
        self._write_tasks(event, decision, changes, now)
        for change in decision.health:
            self._write_health(event, change, changes, now)

    def _write_checkpoints(self, rows: list[CheckpointFacts], changes: Changes) -> None:
        for row in rows:
            identity = row.identity
            values = {"due_date": row.due_date, "opens_on": row.opens_on, "status": row.status}
            cp_id = self.checkpoint_ids.get(identity)
            if cp_id is None:
                cp_id = self.checkpoint_ids[identity] = new_id()
                changes.new_checkpoints[cp_id] = {
                    "id": cp_id,
                    "contract_id": uuid.UUID(row.contract_id),
                    "term": row.term,
                    "kind": row.kind,
                    "ordinal": row.ordinal,
                }
            if cp_id in changes.new_checkpoints:
                changes.new_checkpoints[cp_id].update(values)
            elif self.checkpoints.get(identity) != row:
                changes.changed_checkpoints[cp_id] = {"id": cp_id, **values}
            self.checkpoints[identity] = row

    def _write_tasks(
        self, event: EngineEvent, decision: Decision, changes: Changes, now: datetime
    ) -> None:
        created: dict[str, TaskRow] = {}
        for new in decision.new_tasks:
            if new.dedupe_key in self.tasks or new.dedupe_key in created:
                continue
            if uuid.UUID(new.account_id) != self.id:
                raise NotSetwise("a new task of another account")
            row = self._new_task(event, new, now)
            created[new.dedupe_key] = row
            changes.new_tasks[row.values["id"]] = row
        for row in created.values():
            self.tasks[row.values["dedupe_key"]] = row
            changes.notifications.append(
                notify.task_event(event, EventType.TASK_CREATED, row.values)
            )
        changed: list[TaskRow] = []
        for change in decision.task_changes:
            target = self.tasks.get(change.dedupe_key)
            if target is None:
                changes.unknown_task_keys.add(change.dedupe_key)
                continue
            if target in changed:
                self._flush_changed(event, changed, changes, now)
            values = target.values
            if change.due_date is not None and change.due_date != values["due_date"]:
                values["due_date"] = change.due_date
                values["overdue_noted_on"] = None
            if change.description is not None:
                values["description"] = change.description
            if change.owner_changed:
                values["owner"] = change.owner
            if change.priority is not None:
                values["priority"] = str(change.priority)
            if change.status is not None and change.status != values["status"]:
                values["status"] = change.status
                values["status_reason"] = change.status_reason
                values["closed_at"] = now
            target.facts = None
            changed.append(target)
        self._flush_changed(event, changed, changes, now)

    def _new_task(self, event: EngineEvent, new: NewTask, now: datetime) -> TaskRow:
        checkpoint_id = self.checkpoint_ids.get(new.checkpoint) if new.checkpoint else None
        values: dict[str, Any] = {
            "id": new_id(),
            "contract_id": uuid.UUID(new.contract_id),
            "account_id": self.id,
            "partner_id": uuid.UUID(new.partner_id) if new.partner_id else None,
            "checkpoint_id": checkpoint_id,
            "term": new.term,
            "kind": new.kind,
            "title": new.title,
            "description": new.description,
            "due_date": new.due_date,
            "priority": str(new.priority),
            "owner": new.owner,
            "status": "open",
            "status_reason": None,
            "outcome": None,
            "dedupe_key": new.dedupe_key,
            "source_event_id": event.id,
            "closed_at": None,
            "overdue_noted_on": None,
            "created_at": now,
            "updated_at": now,
        }
        row = TaskRow(values, None)
        row.flushed = row.changeable()
        return row

    @staticmethod
    def _flush_changed(
        event: EngineEvent, changed: list[TaskRow], changes: Changes, now: datetime
    ) -> None:
        """One round of changes, as one flush of `write.write_tasks` stores it: a task
        whose columns differ gets a new `updated_at`; each is notified as stored."""
        for row in changed:
            current = row.changeable()
            if current != row.flushed:
                row.values["updated_at"] = now
                row.flushed = current
                task_id = row.values["id"]
                if task_id not in changes.new_tasks:
                    changes.changed_tasks[task_id] = row
            changes.notifications.append(
                notify.task_event(event, EventType.TASK_UPDATED, row.values)
            )
        changed.clear()

    def _write_health(
        self, event: EngineEvent, change: HealthChange, changes: Changes, now: datetime
    ) -> None:
        index = next((i for i, c in enumerate(self.contracts) if c.id == change.contract_id), None)
        if index is None:
            raise NotSetwise("a health change of another account's contract")
        contract = self.contracts[index]
        signals = tuple((s.signal, s.points) for s in change.health.signals)
        updated = replace(
            contract,
            health_score=change.health.score,
            health_band=change.health.band,
            health_signals=signals,
        )
        if updated != contract:
            self.contracts[index] = updated
            changes.health[uuid.UUID(contract.id)] = {
                "id": uuid.UUID(contract.id),
                "health_score": updated.health_score,
                "health_band": updated.health_band,
                "health_signals": notify.stored_signals(change),
                "updated_at": now,
            }
        if change.previous_band != change.health.band:
            changes.bands_changed[uuid.UUID(contract.id)] = event.time
            old = {"score": contract.health_score, "band": contract.health_band}
            changes.notifications.append(
                notify.health_event(event, change, account_id=contract.account_id, old=old)
            )


def _task_facts(row: TaskRow, identities: dict[uuid.UUID, CheckpointId]) -> TaskFacts:
    if row.facts is None:
        values = row.values
        checkpoint_id = values["checkpoint_id"]
        row.facts = TaskFacts(
            dedupe_key=values["dedupe_key"],
            contract_id=str(values["contract_id"]),
            kind=values["kind"],
            due_date=values["due_date"],
            status=values["status"],
            description=values["description"],
            owner=values["owner"],
            term=values["term"],
            checkpoint=identities.get(checkpoint_id) if checkpoint_id else None,
            priority=Priority(values["priority"]),
        )
    return row.facts
