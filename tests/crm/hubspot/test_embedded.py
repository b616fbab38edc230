"""`renewals dev` (what `make run` starts) with the HubSpot token set: a task the engine
opens reaches the fake portal within 5 s, on its company, deal and owner."""

from __future__ import annotations

import asyncio
import time

from tests.crm.dev import buyer_departs, running_dev, the_task
from tests.crm.fakes.hubspot import TOKEN, FakeHubSpot
from tests.crm.hubspot.conftest import OWNER


async def test_a_task_the_engine_opens_is_in_hubspot_within_5_seconds(
    sqlite_db_url: str, hubspot: FakeHubSpot
) -> None:
    company, deal = hubspot.add_company(), hubspot.add_deal()
    env = {
        "RENEWALS_HUBSPOT_ACCESS_TOKEN": TOKEN,
        "RENEWALS_HUBSPOT_API_URL": hubspot.url,
        "RENEWALS_HUBSPOT_POLL_SECONDS": "0",
    }
    async with running_dev(sqlite_db_url, env) as client:
        departed = time.monotonic()
        await buyer_departs(client, "hubspot", owner=OWNER, account=company, contract=deal)
        while not any(
            "left" in t["properties"].get("hs_task_body", "") for t in hubspot.tasks.values()
        ):
            assert time.monotonic() - departed < 5, "not in HubSpot within 5 s"
            await asyncio.sleep(0.05)
        task = await the_task(client)
    pushed = hubspot.ours()[str(task["id"])]
    assert pushed["properties"]["hubspot_owner_id"] == hubspot.owners[OWNER]
    assert sorted(pushed["associations"]) == [(192, company), (216, deal)]
