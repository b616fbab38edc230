"""The notification of a task (`task.created`, `task.updated`), built in one place.

Tasks have two writers: the worker, when the engine opens or changes one, and the API,
when a person closes one. Listeners (outbound webhooks, a CRM's task sync) must get the
same event from both: the task as `GET /v1/tasks/{id}` shows it, keyed by its account,
on the notifications stream.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shared.domain.tasks.schemas import TaskRead
from shared.events.outbox import Prepared, add_prepared, prepare
from shared.events.types import EventType, Stream, dataschema
from shared.models import Task


def task_event_data(task: Task | Mapping[str, Any]) -> dict[str, Any]:
    """The `data` of a task's notification: the task as a REST read shows it (call after
    a flush, so its timestamps are the stored ones; or give the stored columns by name)."""
    return TaskRead.model_validate(task).model_dump(mode="json")


def prepare_task_event(
    type: EventType,
    task: Task | Mapping[str, Any],
    *,
    source: str,
    actor: str,
    time: datetime,
) -> Prepared:
    """The task's notification, written nowhere yet (see `shared.events.outbox.prepare`)."""
    data = task_event_data(task)
    return prepare(
        type=type,
        source=source,
        subject=data["id"],
        partition_key=data["account_id"],
        data=data,
        dataschema=dataschema("task"),
        actor=actor,
        time=time,
        stream=Stream.NOTIFICATIONS,
    )


def emit_task_event(
    session: AsyncSession,
    type: EventType,
    task: Task,
    *,
    source: str,
    actor: str,
    time: datetime,
) -> None:
    """Adds the task's notification to the outbox in the caller's transaction."""
    add_prepared(session, prepare_task_event(type, task, source=source, actor=actor, time=time))
