"""`renewals dev` (what `make run` starts) with Salesforce configured: a task the engine
opens reaches the fake org within 5 s, on the opportunity and its owner's user, and an
Outbound Message completing it there closes it here."""

from __future__ import annotations

import asyncio
import time

from shared.salesforce_ids import to_18
from tests.api.inbound_webhooks.salesforce_messages import ACK, ORG_ID, envelope, notification
from tests.crm.dev import buyer_departs, running_dev, the_task
from tests.crm.fakes.salesforce import FakeSalesforce

OWNER = "maria@vendor.example"
ACCOUNT = to_18("0015g00000AcmeX")
OPPORTUNITY = to_18("0065g00000Renew")


async def test_a_task_the_engine_opens_is_in_salesforce_within_5_s_and_closes_from_there(
    sqlite_db_url: str, fake_salesforce: FakeSalesforce
) -> None:
    user = fake_salesforce.add_user(OWNER)
    fake_salesforce.add_account(ACCOUNT)
    fake_salesforce.add_opportunity(OPPORTUNITY)
    env = fake_salesforce.env | {
        "RENEWALS_SALESFORCE_ORG_IDS": ORG_ID,
        "RENEWALS_SALESFORCE_POLL_SECONDS": "0",
    }
    async with running_dev(sqlite_db_url, env) as client:
        departed = time.monotonic()
        await buyer_departs(
            client, "salesforce", owner=OWNER, account=ACCOUNT, contract=OPPORTUNITY
        )
        while not (
            pushed := [
                (sf_id, record)
                for sf_id, record in fake_salesforce.tasks.items()
                if "left" in str(record.get("Description"))
            ]
        ):
            assert time.monotonic() - departed < 5, "not in Salesforce within 5 s"
            await asyncio.sleep(0.05)
        task = await the_task(client)
        [(sf_task, record)] = pushed
        assert record["Renewal_Task_Id__c"] == task["id"]
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
