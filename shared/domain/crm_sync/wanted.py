"""Which tasks the CRMs must catch up with: written by the notifications fan-out.

Both notification dispatchers (embedded and Kafka) call `want_sync` in the transaction
that fans a batch out to webhook deliveries. For every `task.created`/`task.updated` it
makes sure each enabled CRM has a `crm_task_syncs` row for the task whose
`wanted_version` is at least the task's version, and makes the row due.

The version is the task's *current* one, read here, not one carried by the
notification (task notifications carry the task as the REST API shows it, without its
version). The current version is never older than the notification's, and the syncer
pushes the task as it is now anyway, so asking for it is what the CRM needs; a
redelivered or late notification finds `wanted_version` already there and changes
nothing. A row a syncer holds is not made due (that would let a second syncer push the
same task concurrently, and create it twice); the holder sees the raised
`wanted_version` when it records its push and leaves the row due.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from shared.config import Settings
from shared.events.types import EventType
from shared.ids import new_id
from shared.models import CrmTaskSync, Task

TASK_NOTIFICATIONS = frozenset({EventType.TASK_CREATED.value, EventType.TASK_UPDATED.value})


def enabled_crms(settings: Settings) -> list[str]:
    """The CRMs tasks are synced with, by their `external_ids` key: HubSpot when its
    access token is set, Salesforce when its URL and client credentials are."""
    crms: list[str] = []
    if settings.hubspot_access_token is not None:
        crms.append("hubspot")
    if (
        settings.salesforce_url
        and settings.salesforce_client_id
        and settings.salesforce_client_secret is not None
    ):
        crms.append("salesforce")
    return crms


def due_again(now: datetime, retry_window: timedelta) -> dict[str, Any]:
    """The values that make a sync due now with a fresh retry window; a row a syncer
    holds keeps its `next_attempt_at`, so no second syncer pushes the same task."""
    return {
        "status": "pending",
        "attempts": 0,
        "retry_until": now + retry_window,
        "next_attempt_at": case(
            (CrmTaskSync.claimed_by.is_(None), now), else_=CrmTaskSync.next_attempt_at
        ),
        "updated_at": now,
    }


def _task_id(event: Mapping[str, Any]) -> uuid.UUID | None:
    data = event.get("data")
    value = data.get("id") if isinstance(data, Mapping) else None
    try:
        return uuid.UUID(str(value if value is not None else event.get("subject")))
    except ValueError:
        return None


async def want_sync(
    session: AsyncSession,
    events: Iterable[Mapping[str, Any]],
    *,
    crms: Sequence[str],
    now: datetime,
    retry_window: timedelta,
) -> int:
    """Raises the rows of the tasks these notifications are about (in the caller's
    transaction); returns how many rows it tried to add or made due, so the caller knows
    whether to wake a syncer. Tasks deleted meanwhile are skipped."""
    if not crms:
        return 0
    task_ids = {
        task_id
        for event in events
        if event.get("type") in TASK_NOTIFICATIONS and (task_id := _task_id(event)) is not None
    }
    if not task_ids:
        return 0
    versions = dict(
        (await session.execute(select(Task.id, Task.version).where(Task.id.in_(task_ids)))).all()
    )
    if not versions:
        return 0
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    await session.execute(
        insert(CrmTaskSync)
        .values(
            [
                {
                    "id": new_id(),
                    "task_id": task_id,
                    "crm": crm,
                    "wanted_version": version,
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": now,
                    "retry_until": now + retry_window,
                    "created_at": now,
                    "updated_at": now,
                }
                for task_id, version in sorted(versions.items())
                for crm in crms
            ]
        )
        .on_conflict_do_nothing(index_elements=["task_id", "crm"])
    )
    current = select(Task.version).where(Task.id == CrmTaskSync.task_id).scalar_subquery()
    result = await session.execute(
        update(CrmTaskSync)
        .where(
            CrmTaskSync.task_id.in_(sorted(versions)),
            CrmTaskSync.crm.in_(crms),
            CrmTaskSync.wanted_version < current,
        )
        .values(wanted_version=current, **due_again(now, retry_window))
        .execution_options(synchronize_session=False)
    )
    touched = int(result.rowcount)  # type: ignore[attr-defined]
    return touched + len(versions) * len(crms)
