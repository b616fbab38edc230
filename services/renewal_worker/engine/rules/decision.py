"""What a decision returns for the worker to write: checkpoint rows, new tasks, task
changes and health. Plain frozen values; the worker maps them onto its tables."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from services.renewal_worker.engine.health_score import Health
from services.renewal_worker.engine.state import CheckpointFacts, CheckpointId
from shared.rules.types import Priority


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
    priority: Priority | None = None


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
