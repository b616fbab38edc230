"""A user's close of a task and the worker's change of the same task never overwrite
each other (`Task.version`).

Postgres only: there the worker's batch reads its tasks when it starts and other
connections commit meanwhile. On SQLite the batch holds the database's write lock from
its first statement (the lease), so a user's close waits for the whole batch and is then
judged against what the batch wrote.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from services.renewal_worker.apply import batch, handle
from services.renewal_worker.apply.state import Changes
from services.renewal_worker.sources.embedded import process_batch
from shared.db import Database
from shared.models import Contract, InboxKey, Task
from shared.runtime.transient import is_transient
from tests.support.api import Harness, open_harness

USER_OUTCOME = "Renewed by phone; the champion stays"


@pytest.fixture
async def api(postgres_db_url: str) -> AsyncIterator[Harness]:
    """The API on its own connections; `postgres_database` is the worker's, on the same
    database."""
    async with open_harness(postgres_db_url) as harness:
        yield harness


async def _contract_with_an_open_task(api: Harness, worker: Database) -> tuple[str, Task]:
    """An account and contract applied by the worker, and one open task on the contract."""
    account = await api.client.post("/v1/accounts", json={"name": "Acme", "owner": "am@x.io"})
    assert account.status_code == 201, account.text
    contract = await api.client.post(
        "/v1/contracts",
        json={
            "account_id": account.json()["id"],
            "start_date": "2026-03-15",
            "end_date": "2027-03-15",
            "arr": "12000",
        },
    )
    assert contract.status_code == 201, contract.text
    await _drain(worker)
    task = Task(
        contract_id=uuid.UUID(contract.json()["id"]),
        account_id=uuid.UUID(account.json()["id"]),
        term=1,
        kind="kickoff",
        title="Kick off",
        description="Meet the team",
        due_date=date(2026, 3, 22),
        priority="normal",
        dedupe_key=f"kickoff:{contract.json()['id']}",
    )
    async with worker.transaction() as session:
        session.add(task)
    return str(contract.json()["id"]), task


async def _drain(db: Database) -> None:
    while (result := await process_batch(db, holder="worker")) is not None and result.rows:
        assert result.dead_lettered == 0


async def _churn(api: Harness, contract_id: str) -> None:
    response = await api.client.post(
        f"/v1/contracts/{contract_id}/churn",
        json={"reason": "competitor", "churned_on": "2026-04-20"},
    )
    assert response.status_code == 200, response.text


async def _task(db: Database, task_id: uuid.UUID) -> Task:
    async with db.read() as session:
        task = await session.get(Task, task_id)
        assert task is not None
        return task


async def test_a_user_closing_a_task_during_a_batch_keeps_the_outcome_and_the_batch_is_redone(
    api: Harness, postgres_database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    contract_id, task = await _contract_with_an_open_task(api, postgres_database)
    await _churn(api, contract_id)  # the engine will want to auto-close the open task
    real_write = batch.write_changes
    user_answers: list[int] = []

    async def user_closes_then_write(session: AsyncSession, changes: Changes) -> None:
        if not user_answers:  # the user closes it after the first batch read it
            response = await api.client.patch(
                f"/v1/tasks/{task.id}", json={"status": "done", "outcome": USER_OUTCOME}
            )
            user_answers.append(response.status_code)
        await real_write(session, changes)

    monkeypatch.setattr(batch, "write_changes", user_closes_then_write)

    with pytest.raises(StaleDataError) as stale:
        await process_batch(postgres_database, holder="worker")
    assert is_transient(stale.value)  # retried by every consumer loop, never dead-lettered
    assert user_answers == [200]

    redone = await process_batch(postgres_database, holder="worker")
    assert redone is not None
    assert (redone.applied, redone.dead_lettered) == (1, 0)
    closed = await _task(postgres_database, task.id)
    assert (closed.status, closed.outcome, closed.status_reason) == ("done", USER_OUTCOME, None)
    async with postgres_database.read() as session:
        contract = await session.get(Contract, uuid.UUID(contract_id))
        assert contract is not None
        assert contract.status == "churned"
        assert len((await session.scalars(select(InboxKey))).all()) == 3  # applied once each
    updates = [e for e in await api.events("task.updated") if e["subject"] == str(task.id)]
    assert [(e["data"]["status"], e["data"]["outcome"]) for e in updates] == [
        ("done", USER_OUTCOME)
    ]


async def test_closing_a_task_the_worker_is_closing_waits_for_it_and_answers_409(
    api: Harness, postgres_database: Database
) -> None:
    contract_id, task = await _contract_with_an_open_task(api, postgres_database)
    await _churn(api, contract_id)
    async with postgres_database.transaction() as session:
        (churned,) = await api.events("contract.churned")
        await handle.preload(session, [churned])
        await handle.apply_event(session, churned)  # the task is auto-closed, uncommitted
        close: asyncio.Task[Any] = asyncio.ensure_future(
            api.client.patch(f"/v1/tasks/{task.id}", json={"status": "done"})
        )
        await asyncio.sleep(0.3)
        assert not close.done()  # waits on the row the worker changed
    response = await close
    assert response.status_code == 409, response.text
    assert "is auto_closed" in response.json()["detail"]
    assert (await _task(postgres_database, task.id)).status == "auto_closed"
