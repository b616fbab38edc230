"""The notifications the worker emits while it applies an event (DESIGN §4).

`task.created` and `task.updated` (the task as a REST read shows it),
`contract.health_changed` (the old and new health) and `contract.renewed` /
`contract.churned` re-emitted for listeners. They go to the outbox's notifications
stream in the event's transaction, with the event's `time`, keyed by account, so they
exist exactly when the event's effects do.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.renewal_worker.engine.rules import HealthChange
from services.renewal_worker.engine.state import EngineEvent
from shared.domain.tasks.notifications import emit_task_event
from shared.events.outbox import emit
from shared.events.types import SOURCE_WORKER, EventType, Stream, dataschema
from shared.models import Contract, Task

WORKER_ACTOR = "worker"
REEMITTED = frozenset({EventType.CONTRACT_RENEWED, EventType.CONTRACT_CHURNED})
"""Lifecycle events passed on to listeners once applied."""


def _notify(
    session: AsyncSession,
    event: EngineEvent,
    type: EventType,
    *,
    subject: str,
    account_id: str,
    data: dict[str, Any],
    entity: str,
) -> None:
    emit(
        session,
        type=type,
        source=SOURCE_WORKER,
        subject=subject,
        partition_key=account_id,
        data=data,
        dataschema=dataschema(entity),
        actor=WORKER_ACTOR,
        time=event.time,
        stream=Stream.NOTIFICATIONS,
    )


def task_changed(session: AsyncSession, event: EngineEvent, type: EventType, task: Task) -> None:
    """`task.created` or `task.updated` with the task as stored (call after the flush)."""
    emit_task_event(session, type, task, source=SOURCE_WORKER, actor=WORKER_ACTOR, time=event.time)


def health_changed(
    session: AsyncSession,
    event: EngineEvent,
    change: HealthChange,
    contract: Contract,
    old: dict[str, Any],
) -> None:
    """`contract.health_changed` from `old` (score and band) to the health the engine
    gave the contract (already written to it)."""
    _notify(
        session,
        event,
        EventType.CONTRACT_HEALTH_CHANGED,
        subject=change.contract_id,
        account_id=str(contract.account_id),
        data={
            "contract_id": change.contract_id,
            "account_id": str(contract.account_id),
            "old": old,
            "new": {
                "score": change.health.score,
                "band": change.health.band,
                "signals": contract.health_signals,
            },
        },
        entity="health",
    )


def reemit(session: AsyncSession, event: EngineEvent, *, subject: str, account_id: str) -> None:
    """Passes a `contract.renewed` / `contract.churned` on to listeners, with its data."""
    _notify(
        session,
        event,
        EventType(event.type),
        subject=subject,
        account_id=account_id,
        data=dict(event.data),
        entity="contract",
    )
