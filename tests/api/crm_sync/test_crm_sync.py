"""`GET /v1/crm-sync` and `POST /v1/crm-sync/{task_id}/retry`: the sync log."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import update

from shared.clock import utcnow
from shared.domain.crm_sync.wanted import want_sync
from shared.models import CrmTaskSync, Task
from tests.support.api import Harness
from tests.support.factories import make_account, make_contract, make_task


async def synced_tasks(api: Harness, count: int, crms: list[str]) -> list[Task]:
    """Tasks whose syncs the fan-out made due, as it does for `task.created`."""
    account = await make_account(api.db)
    contract = await make_contract(api.db, account)
    tasks = [await make_task(api.db, contract) for _ in range(count)]
    events = [
        {"type": "task.created", "subject": str(t.id), "data": {"id": str(t.id)}} for t in tasks
    ]
    async with api.db.transaction() as session:
        await want_sync(session, events, crms=crms, now=utcnow(), retry_window=timedelta(days=3))
    return tasks


async def fail(api: Harness, task: Task, error: str) -> None:
    async with api.db.transaction() as session:
        await session.execute(
            update(CrmTaskSync)
            .where(CrmTaskSync.task_id == task.id)
            .values(status="failed", attempts=7, last_error=error, next_attempt_at=None)
        )


async def test_failed_syncs_are_listed_with_their_error(api: Harness) -> None:
    first, second, third = await synced_tasks(api, 3, ["hubspot"])
    await fail(api, second, "HubSpot answered 400: No companies with id 1")

    failed = await api.client.get("/v1/crm-sync", params={"status": "failed", "crm": "hubspot"})

    assert failed.status_code == 200, failed.text
    [item] = failed.json()["items"]
    assert item["task_id"] == str(second.id)
    assert (item["status"], item["attempts"]) == ("failed", 7)
    assert item["last_error"] == "HubSpot answered 400: No companies with id 1"
    pending = (await api.client.get("/v1/crm-sync", params={"status": "pending"})).json()
    assert {i["task_id"] for i in pending["items"]} == {str(first.id), str(third.id)}
    other = await api.client.get("/v1/crm-sync", params={"crm": "salesforce"})
    assert other.json()["items"] == []


async def test_the_log_is_paged(api: Harness) -> None:
    await synced_tasks(api, 3, ["hubspot", "salesforce"])

    first = (await api.client.get("/v1/crm-sync", params={"limit": 4})).json()
    rest = await api.client.get("/v1/crm-sync", params={"limit": 4, "cursor": first["next_cursor"]})

    assert len(first["items"]) == 4
    assert len(rest.json()["items"]) == 2
    assert rest.json()["next_cursor"] is None


async def test_a_retry_makes_the_tasks_syncs_due_again(api: Harness) -> None:
    task, other = await synced_tasks(api, 2, ["hubspot", "salesforce"])
    await fail(api, task, "HubSpot answered 400")
    await fail(api, other, "HubSpot answered 400")
    before = utcnow()

    retried = await api.client.post(f"/v1/crm-sync/{task.id}/retry")

    assert retried.status_code == 202, retried.text
    items = retried.json()["items"]
    assert [i["crm"] for i in items] == ["hubspot", "salesforce"]
    assert {(i["status"], i["attempts"]) for i in items} == {("pending", 0)}
    assert all(datetime.fromisoformat(i["next_attempt_at"]) >= before for i in items)
    still = (await api.client.get("/v1/crm-sync", params={"task_id": str(other.id)})).json()
    assert {i["status"] for i in still["items"]} == {"failed"}


async def test_a_retry_of_a_task_without_syncs_is_404(api: Harness) -> None:
    response = await api.client.post(f"/v1/crm-sync/{uuid.uuid4()}/retry")

    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
