"""`renewals dev` (what `make run` starts) as a real process with a CRM configured, and
the few REST calls after which the engine opens a task for the CRM to receive."""

from __future__ import annotations

import asyncio
import signal
import subprocess
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import date, timedelta

import httpx

from tests.support.api import wait_until_ready
from tests.support.broker import free_port
from tests.support.cli import RENEWALS, cli_env, first_api_key

FAST = {
    "RENEWALS_WEBHOOKS_POLL_SECONDS": "0.1",
    "RENEWALS_CRM_SYNC_POLL_SECONDS": "0.2",
    "RENEWALS_SCHEDULER_INTERVAL_SECONDS": "0",
}
"""Short polls, so a sync is pushed as soon as the test expects it; no scheduler ticks."""


async def crm_command(
    db_url: str, *args: str, off: str, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`renewals crm ARGS` as a process. The variables starting with `off` are dropped
    from the environment first, so the CRM is configured by `env` alone (off without)."""
    base = {k: v for k, v in cli_env(db_url).items() if not k.startswith(off)}
    return await asyncio.to_thread(
        subprocess.run,
        [RENEWALS, "crm", *args],
        env=base | dict(env or {}),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@asynccontextmanager
async def running_dev(db_url: str, env: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    """A client of `renewals dev` started with `env`, holding its first API key; the
    process must stop cleanly on SIGTERM when the block ends."""
    port = free_port()
    full_env = cli_env(db_url) | FAST | env | {"RENEWALS_API_PORT": str(port)}
    with subprocess.Popen(
        [RENEWALS, "dev"],
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as process:
        try:
            key = await first_api_key(process)
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {key}"}
            ) as client:
                await wait_until_ready(client)
                yield client
            process.send_signal(signal.SIGTERM)
            assert await asyncio.to_thread(process.wait, 30) == 0
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


async def buyer_departs(
    client: httpx.AsyncClient, crm: str, *, owner: str, account: str, contract: str
) -> None:
    """An account owned by `owner` whose contract renews in 165 days loses its business
    owner: the engine opens a `stakeholder_change` task. `account` and `contract` are the
    CRM's ids of the company/account and deal/opportunity (`external_ids[crm]`)."""
    created = await client.post(
        "/v1/accounts", json={"name": "Acme", "owner": owner, "external_ids": {crm: account}}
    )
    assert created.status_code == 201, created.text
    today = date.today()
    contract_made = await client.post(
        "/v1/contracts",
        json={
            "account_id": created.json()["id"],
            "start_date": str(today - timedelta(days=200)),
            "end_date": str(today + timedelta(days=165)),
            "arr": "24000.00",
            "external_ids": {crm: contract},
        },
    )
    assert contract_made.status_code == 201, contract_made.text
    buyer = await client.post(
        f"/v1/accounts/{created.json()['id']}/stakeholders",
        json={"name": "Dana", "email": "dana@acme.example", "role": "business_owner"},
    )
    assert buyer.status_code == 201, buyer.text
    left = await client.patch(f"/v1/stakeholders/{buyer.json()['id']}", json={"status": "departed"})
    assert left.status_code == 200, left.text


async def the_task(client: httpx.AsyncClient) -> dict[str, object]:
    """The one `stakeholder_change` task `buyer_departs` led to."""
    [task] = (await client.get("/v1/tasks", params={"kind": "stakeholder_change"})).json()["items"]
    return dict(task)
