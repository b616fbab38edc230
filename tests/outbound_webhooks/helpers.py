"""Notifications written as the worker writes them, subscriptions made through the API,
and bounded waits on the delivery log."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from shared.clock import utcnow
from shared.db import Database
from shared.events.outbox import emit
from shared.events.types import SOURCE_WORKER, EventType, Stream, dataschema
from tests.support.api import Harness

ALL_TYPES = [
    "task.created",
    "task.updated",
    "contract.health_changed",
    "contract.renewed",
    "contract.churned",
]


def task_data(partner_id: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "contract_id": str(uuid.uuid4()),
        "account_id": str(uuid.uuid4()),
        "partner_id": partner_id,
        "kind": "renewal_outreach",
        "title": "Open the renewal conversation",
        "status": "open",
        **extra,
    }


async def notify(
    db: Database,
    type: EventType = EventType.TASK_CREATED,
    data: dict[str, Any] | None = None,
    *,
    subject: str | None = None,
) -> dict[str, Any]:
    """A committed notification on the outbox, exactly as the worker emits one."""
    data = data if data is not None else task_data()
    async with db.transaction() as session:
        return emit(
            session,
            type=type,
            source=SOURCE_WORKER,
            subject=subject or str(data.get("id") or data.get("contract_id")),
            partition_key=str(data.get("account_id", "account")),
            data=data,
            dataschema=dataschema("task"),
            actor="worker",
            time=utcnow(),
            stream=Stream.NOTIFICATIONS,
        )


async def subscribe(harness: Harness, url: str, **fields: Any) -> dict[str, Any]:
    body = {"url": url, "event_types": ALL_TYPES} | fields
    response = await harness.client.post("/v1/webhook-subscriptions", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def deliveries(harness: Harness, subscription_id: str) -> list[dict[str, Any]]:
    response = await harness.client.get(
        f"/v1/webhook-subscriptions/{subscription_id}/deliveries", params={"limit": 500}
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def settled(
    harness: Harness, subscription_id: str, *, count: int = 1, timeout: float = 10.0
) -> list[dict[str, Any]]:
    """The delivery log once `count` deliveries are finished (delivered or failed)."""
    deadline = time.monotonic() + timeout
    while True:
        items = await deliveries(harness, subscription_id)
        done = [item for item in items if item["status"] != "pending"]
        if len(done) >= count:
            return items
        assert time.monotonic() < deadline, f"not settled in {timeout} s: {items}"
        await asyncio.sleep(0.02)
