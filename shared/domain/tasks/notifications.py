"""The notification of a task (`task.created`, `task.updated`), built in one place.

Tasks have two writers: the worker, when the engine opens or changes one, and the API,
when a person closes one. Listeners (outbound webhooks, a CRM's task sync) must get the
same event from both: the task as `GET /v1/tasks/{id}` shows it, keyed by its account,
on the notifications stream.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shared.domain.tasks.schemas import TaskRead
from shared.events.outbox import emit
from shared.events.types import EventType, Stream, dataschema
from shared.models import Task


def task_event_data(task: Task) -> dict[str, Any]:
    """The `data` of a task's notification: the task as a REST read shows it (call after
    a flush, so its timestamps are the stored ones)."""
    return TaskRead.model_validate(task).model_dump(mode="json")


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
    emit(
        session,
        type=type,
        source=source,
        subject=str(task.id),
        partition_key=str(task.account_id),
        data=task_event_data(task),
        dataschema=dataschema("task"),
        actor=actor,
        time=time,
        stream=Stream.NOTIFICATIONS,
    )
