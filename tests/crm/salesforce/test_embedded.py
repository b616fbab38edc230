"""`renewals dev` (what `make run` starts) with Salesforce configured: a task the engine
opens reaches the fake org within 5 s, on the opportunity and its owner's user, and an
Outbound Message completing it there closes it here."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from datetime import date, timedelta

import httpx

from shared.salesforce_ids import to_18
from tests.api.inbound_webhooks.salesforce_messages import ACK, ORG_ID, envelope, notification
from tests.crm.fakes.salesforce import FakeSalesforce
from tests.support.api import wait_until_ready
from tests.support.broker import free_port
from tests.support.cli import RENEWALS, cli_env, first_api_key

OWNER = "maria@vendor.example"
ACCOUNT = to_18("0015g00000AcmeX")
OPPORTUNITY = to_18("0065g00000Renew")


async def test_a_task_the_engine_opens_is_in_salesforce_within_5_s_and_closes_from_there(
    sqlite_db_url: str, fake_salesforce: FakeSalesforce
) -> None:
    port = free_port()
    user = fake_salesforce.add_user(OWNER)
    env = (
        cli_env(sqlite_db_url)
        | fake_salesforce.env
        | {
            "RENEWALS_API_PORT": str(port),
            "RENEWALS_SALESFORCE_ORG_IDS": ORG_ID,
            "RENEWALS_SALESFORCE_POLL_SECONDS": "0",
            "RENEWALS_WEBHOOKS_POLL_SECONDS": "0.1",
            "RENEWALS_CRM_SYNC_POLL_SECONDS": "0.2",
            "RENEWALS_SCHEDULER_INTERVAL_SECONDS": "0",
        }
    )
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
                    json={"name": "Acme", "owner": OWNER, "external_ids": {"salesforce": ACCOUNT}},
                )
                assert account.status_code == 201, account.text
                today = date.today()
                contract = await client.post(
                    "/v1/contracts",
                    json={
                        "account_id": account.json()["id"],
                        "start_date": str(today - timedelta(days=200)),
                        "end_date": str(today + timedelta(days=165)),
                        "arr": "24000.00",
                        "external_ids": {"salesforce": OPPORTUNITY},
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
                while not fake_salesforce.tasks:
                    assert time.monotonic() - departed < 5, "not in Salesforce within 5 s"
                    await asyncio.sleep(0.05)
                [task] = (
                    await client.get("/v1/tasks", params={"kind": "stakeholder_change"})
                ).json()["items"]
                pushed = [
                    (sf_id, record)
                    for sf_id, record in fake_salesforce.tasks.items()
                    if record.get("Renewal_Task_Id__c") == task["id"]
                ]
                [(sf_task, record)] = pushed
                assert (record["WhatId"], record["OwnerId"], record["Status"]) == (
                    OPPORTUNITY,
                    user,
                    "Not Started",
                )

                fake_salesforce.complete(sf_task)
                message = envelope(notification("Task", sf_task, Status="Completed"))
                for _ in range(2):
                    acked = await client.post(
                        "/v1/webhooks/salesforce",
                        content=message,
                        headers={"Content-Type": "text/xml; charset=utf-8"},
                    )
                    assert (acked.status_code, acked.content) == (200, ACK)
                closed = (await client.get(f"/v1/tasks/{task['id']}")).json()
                assert (closed["status"], closed["outcome"]) == ("done", "completed in Salesforce")
            process.send_signal(signal.SIGTERM)
            assert await asyncio.to_thread(process.wait, 30) == 0
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
