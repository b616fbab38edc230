"""The notifications the worker emits while it applies an event (DESIGN §4).

`task.created` and `task.updated` (the task as a REST read shows it),
`contract.health_changed` (the old and new health) and `contract.renewed` /
`contract.churned` re-emitted for listeners. They go to the outbox's notifications
stream in the event's transaction, with the event's `time`, keyed by account, so they
exist exactly when the event's effects do.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.renewal_worker.engine.rules import HealthChange
from services.renewal_worker.engine.state import EngineEvent
from shared.domain.tasks.notifications import emit_task_event, prepare_task_event
from shared.events.outbox import Prepared, add_prepared, prepare
from shared.events.types import SOURCE_WORKER, EventType, Stream, dataschema
from shared.models import Contract, Task

WORKER_ACTOR = "worker"
REEMITTED = frozenset({EventType.CONTRACT_RENEWED, EventType.CONTRACT_CHURNED})
"""Lifecycle events passed on to listeners once applied."""


def _prepare(
    event: EngineEvent,
    type: EventType,
    *,
    subject: str,
    account_id: str,
    data: dict[str, Any],
    entity: str,
) -> Prepared:
    return prepare(
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


def task_event(event: EngineEvent, type: EventType, task: Mapping[str, Any]) -> Prepared:
    """`task.created` or `task.updated` of a task given by its stored columns."""
    return prepare_task_event(type, task, source=SOURCE_WORKER, actor=WORKER_ACTOR, time=event.time)


def health_event(
    event: EngineEvent, change: HealthChange, *, account_id: str, old: dict[str, Any]
) -> Prepared:
    """`contract.health_changed` from `old` (score and band) to the health the engine
    gave the contract."""
    return _prepare(
        event,
        EventType.CONTRACT_HEALTH_CHANGED,
        subject=change.contract_id,
        account_id=account_id,
        data={
            "contract_id": change.contract_id,
            "account_id": account_id,
            "old": old,
            "new": {
                "score": change.health.score,
                "band": change.health.band,
                "signals": stored_signals(change),
            },
        },
        entity="health",
    )


def stored_signals(change: HealthChange) -> list[dict[str, Any]]:
    """The health signals as the contract row stores them."""
    return [{"signal": s.signal, "points": s.points} for s in change.health.signals]


def health_changed(
    session: AsyncSession,
    event: EngineEvent,
    change: HealthChange,
    contract: Contract,
    old: dict[str, Any],
) -> None:
    """`contract.health_changed` (the health already written to the contract)."""
    add_prepared(session, health_event(event, change, account_id=str(contract.account_id), old=old))


def reemit_event(event: EngineEvent, *, subject: str, account_id: str) -> Prepared:
    """A `contract.renewed` / `contract.churned` passed on to listeners, with its data."""
    return _prepare(
        event,
        EventType(event.type),
        subject=subject,
        account_id=account_id,
        data=dict(event.data),
        entity="contract",
    )


def reemit(session: AsyncSession, event: EngineEvent, *, subject: str, account_id: str) -> None:
    """Passes a `contract.renewed` / `contract.churned` on to listeners, with its data."""
    add_prepared(session, reemit_event(event, subject=subject, account_id=account_id))
