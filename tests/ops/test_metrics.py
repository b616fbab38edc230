"""The counters move with the work, and only with work that committed:
`renewals_tasks_created_total` equals the task rows written, whatever rolled back;
`renewals_scheduler_sweep_seconds` observes every sweep; the API's `/metrics` parses
with prometheus-client's parser and counts requests by route template. On SQLite only:
the counting hangs on SQLAlchemy's session events, the same on both dialects, and the
entry-command test counts tasks on Postgres."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from services.renewal_worker.apply import bulk, handle, write
from services.renewal_worker.scheduler import sweep
from services.renewal_worker.sources import embedded
from shared.clock import today, utcnow
from shared.metrics import TASKS_CREATED
from shared.models import DeadLetter, Task
from tests.support.api import Harness, open_harness
from tests.support.databases import SqliteTemplates


@pytest.fixture
async def api(sqlite_templates: SqliteTemplates) -> AsyncIterator[Harness]:
    url = sqlite_templates.clone()
    async with open_harness(url) as harness:
        yield harness
    sqlite_templates.drop(url)


def tasks_counted() -> float:
    """The sum of `renewals_tasks_created_total` over every kind."""
    return sum(
        sample.value
        for metric in TASKS_CREATED.collect()
        for sample in metric.samples
        if sample.name == "renewals_tasks_created_total"
    )


async def depart_the_business_owner(api: Harness) -> None:
    """An active contract whose business owner departs: a stakeholder_change task."""
    account = (await api.client.post("/v1/accounts", json={"name": "Umbrella"})).json()
    start = today() - timedelta(days=30)
    contract = await api.client.post(
        "/v1/contracts",
        json={
            "account_id": account["id"],
            "start_date": start.isoformat(),
            "end_date": (start + timedelta(days=365)).isoformat(),
            "arr": "30000",
        },
    )
    assert contract.status_code == 201
    owner = await api.client.post(
        f"/v1/accounts/{account['id']}/stakeholders",
        json={"name": "Ada", "email": "ada@umbrella.example", "role": "business_owner"},
    )
    departed = await api.client.patch(
        f"/v1/stakeholders/{owner.json()['id']}", json={"status": "departed"}
    )
    assert departed.status_code == 200


async def drain(api: Harness) -> None:
    while (await embedded.process_batch(api.db, holder="metrics-test")).rows:  # type: ignore[union-attr]
        pass


async def test_tasks_are_counted_once_committed(api: Harness) -> None:
    before = tasks_counted()
    kind_before = REGISTRY.get_sample_value(
        "renewals_tasks_created_total", {"kind": "stakeholder_change"}
    )
    await depart_the_business_owner(api)
    await drain(api)
    written = await api.count(Task)
    assert written >= 1
    assert tasks_counted() - before == written
    kind_after = REGISTRY.get_sample_value(
        "renewals_tasks_created_total", {"kind": "stakeholder_change"}
    )
    assert (kind_after or 0) - (kind_before or 0) == 1


async def test_tasks_of_a_poison_event_are_not_counted(
    api: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The set-wise write fails after writing the tasks, and so does the per-event path
    it falls back to: the batch's savepoint rolls back, then the event's, and it
    becomes a dead letter; the tasks never existed, so they are not counted."""

    async def fail(*_: object) -> None:
        raise RuntimeError("the engine failed after writing tasks")

    monkeypatch.setattr(bulk, "insert_prepared", fail)
    monkeypatch.setattr(write, "write_health", fail)
    before = tasks_counted()
    await depart_the_business_owner(api)
    await drain(api)
    assert await api.count(DeadLetter) >= 1
    assert await api.count(Task) == 0
    assert tasks_counted() == before


async def test_tasks_of_a_rolled_back_batch_are_not_counted(api: Harness) -> None:
    """A transient error aborts the whole batch after the event's savepoint was released:
    it is retried, so its tasks must not be counted twice."""
    await depart_the_business_owner(api)
    events = await api.events("stakeholder.departed")
    before = tasks_counted()

    async def apply_then_lose_the_database() -> None:
        async with api.db.transaction() as session:
            async with session.begin_nested():
                await handle.apply_event(session, events[-1])
            assert await session.scalar(select(func.count()).select_from(Task)) == 1
            assert tasks_counted() == before  # released, not committed yet
            raise ConnectionError("the database went away before the commit")

    with pytest.raises(ConnectionError):
        await apply_then_lose_the_database()
    assert await api.count(Task) == 0
    assert tasks_counted() == before


async def test_every_sweep_is_observed(api: Harness) -> None:
    before = REGISTRY.get_sample_value("renewals_scheduler_sweep_seconds_count") or 0
    await sweep(api.db, today(), time=utcnow())
    await sweep(api.db, today(), time=utcnow())
    assert REGISTRY.get_sample_value("renewals_scheduler_sweep_seconds_count") == before + 2


async def test_api_metrics_parse_and_count_requests_by_route(api: Harness) -> None:
    await api.client.post("/v1/partners", json={"name": "Soylent"})
    families = {
        family.name: family
        for family in text_string_to_metric_families((await api.client.get("/metrics")).text)
    }
    requests = [
        sample
        for sample in families["http_requests"].samples
        if sample.labels == {"method": "POST", "route": "/v1/partners", "status": "201"}
    ]
    assert requests
    assert requests[0].value >= 1
    assert families["http_request_duration_seconds"].type == "histogram"
