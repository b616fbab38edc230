"""`renewals crm-sync` as a process: killed between HubSpot's 201 and its commit, the next
one finds the task instead of creating a second; SIGTERM exits 0; no CRM, exit 1."""

from __future__ import annotations

import asyncio
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import select

from shared.clock import utcnow
from shared.db import Database
from shared.domain.crm_sync.wanted import want_sync
from shared.models import CrmTaskSync
from tests.crm.fakes.hubspot import TOKEN, FakeHubSpot
from tests.crm.hubspot.conftest import OWNER, eventually
from tests.support.cli import RENEWALS, cli_env
from tests.support.factories import make_account, make_contract, make_task


@contextmanager
def crm_sync(db_url: str, hubspot: FakeHubSpot) -> Iterator[subprocess.Popen[str]]:
    env = cli_env(db_url) | {
        "RENEWALS_HUBSPOT_ACCESS_TOKEN": TOKEN,
        "RENEWALS_HUBSPOT_API_URL": hubspot.url,
        "RENEWALS_HUBSPOT_POLL_SECONDS": "0",
        "RENEWALS_CRM_SYNC_TIMEOUT_SECONDS": "1",
        "RENEWALS_CRM_SYNC_POLL_SECONDS": "0.1",
    }
    with subprocess.Popen(
        [RENEWALS, "crm-sync"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        try:
            yield process
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


async def test_a_killed_syncer_leaves_one_task_in_hubspot(
    postgres_database: Database, hubspot: FakeHubSpot
) -> None:
    db = postgres_database
    account = await make_account(db, external_ids={"hubspot": hubspot.add_company()})
    task = await make_task(db, await make_contract(db, account), owner=OWNER)
    async with db.transaction() as session:
        event = {"type": "task.created", "subject": str(task.id), "data": {"id": str(task.id)}}
        await want_sync(
            session, [event], crms=["hubspot"], now=utcnow(), retry_window=timedelta(days=3)
        )
    hubspot.hang_after_create = True

    async def created() -> bool:
        return len(hubspot.tasks) == 1

    async def synced() -> bool:
        async with db.read() as session:
            return await session.scalar(select(CrmTaskSync.status)) == "synced"

    with crm_sync(db.url, hubspot) as doomed:
        await eventually(created, timeout=20)
        doomed.kill()  # between HubSpot's 201 and the commit
        doomed.wait()
    hubspot.hang_after_create = False
    with crm_sync(db.url, hubspot) as survivor:
        await eventually(synced, timeout=20)
        survivor.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(survivor.wait, 30) == 0

    [hubspot_id] = hubspot.tasks
    async with db.read() as session:
        assert await session.scalar(select(CrmTaskSync.crm_object_id)) == hubspot_id
    assert hubspot.requests.count(("POST", "/crm/v3/objects/tasks")) == 1


def test_without_a_crm_set_up_crm_sync_exits_1(sqlite_db_url: str) -> None:
    env = {k: v for k, v in cli_env(sqlite_db_url).items() if not k.startswith("RENEWALS_HUBSPOT")}

    finished = subprocess.run(
        [RENEWALS, "crm-sync"], env=env, capture_output=True, text=True, timeout=60, check=False
    )

    assert finished.returncode == 1
    assert "No CRM is set up" in finished.stderr
