"""`renewals dev` (what `make run` starts) with the HubSpot token set: a task the engine
opens reaches the fake portal within 5 s, on its company, deal and owner."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from datetime import date, timedelta

import httpx

from tests.crm.fakes.hubspot import TOKEN, FakeHubSpot
from tests.crm.hubspot.conftest import OWNER
from tests.support.api import wait_until_ready
from tests.support.broker import free_port
from tests.support.cli import RENEWALS, cli_env, first_api_key


async def test_a_task_the_engine_opens_is_in_hubspot_within_5_seconds(
    sqlite_db_url: str, hubspot: FakeHubSpot
) -> None:
    port = free_port()
    company, deal = hubspot.add_company(), hubspot.add_deal()
    env = cli_env(sqlite_db_url) | {
        "RENEWALS_API_PORT": str(port),
        "RENEWALS_HUBSPOT_ACCESS_TOKEN": TOKEN,
        "RENEWALS_HUBSPOT_API_URL": hubspot.url,
        "RENEWALS_HUBSPOT_POLL_SECONDS": "0",
        "RENEWALS_WEBHOOKS_POLL_SECONDS": "0.1",
        "RENEWALS_CRM_SYNC_POLL_SECONDS": "0.2",
        "RENEWALS_SCHEDULER_INTERVAL_SECONDS": "0",
    }
    with subprocess.Popen(
        [RENEWALS, "dev"], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    ) as process:
        try:
            key = await first_api_key(process)
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {key}"}
            ) as client:
                await wait_until_ready(client)
                account = await client.post(
                    "/v1/accounts",
                    json={"name": "Acme", "owner": OWNER, "external_ids": {"hubspot": company}},
                )
                today = date.today()
                contract = await client.post(
                    "/v1/contracts",
                    json={
                        "account_id": account.json()["id"],
                        "start_date": str(today - timedelta(days=200)),
                        "end_date": str(today + timedelta(days=165)),
                        "arr": "24000.00",
                        "external_ids": {"hubspot": deal},
                    },
                )
                assert contract.status_code == 201, contract.text
                buyer = await client.post(
                    f"/v1/accounts/{account.json()['id']}/stakeholders",
                    json={"name": "Dana", "email": "dana@acme.example", "role": "business_owner"},
                )
                assert buyer.status_code == 201, buyer.text

                departed = time.monotonic()
                left = await client.patch(
                    f"/v1/stakeholders/{buyer.json()['id']}", json={"status": "departed"}
                )
                assert left.status_code == 200, left.text
                while not any(
                    "left" in t["properties"].get("hs_task_body", "")
                    for t in hubspot.tasks.values()
                ):
                    assert time.monotonic() - departed < 5, "not in HubSpot within 5 s"
                    await asyncio.sleep(0.05)

                tasks = (
                    await client.get("/v1/tasks", params={"kind": "stakeholder_change"})
                ).json()
            [task] = tasks["items"]
            pushed = hubspot.ours()[task["id"]]
            assert pushed["properties"]["hubspot_owner_id"] == hubspot.owners[OWNER]
            assert sorted(pushed["associations"]) == [(192, company), (216, deal)]
            process.send_signal(signal.SIGTERM)
            assert await asyncio.to_thread(process.wait, 30) == 0
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
