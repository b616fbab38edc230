"""`renewals dev --kafka`: API, relay, consumer-group worker and scheduler in one process."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import uuid

import httpx

from tests.support.api import wait_until_ready
from tests.support.broker import Broker, free_port, unique_topics
from tests.support.cli import RENEWALS, cli_env

PLAN_OF_THE_CONTRACT = 13
"""A mid-market year with an unknown fiscal year: kickoff, implementation check and five
follow-ups, adoption and mid-term reviews, budget confirmation at R - 6 months, outreach,
renewal due and overdue (the renewal markers are not listed)."""


async def test_dev_kafka_turns_a_rest_call_into_a_plan_through_the_broker(
    kafka_broker: Broker, db_url: str
) -> None:
    port = free_port()
    topics = unique_topics("dev")
    env = cli_env(db_url) | {
        "RENEWALS_API_PORT": str(port),
        "RENEWALS_KAFKA_BOOTSTRAP_SERVERS": kafka_broker.bootstrap,
        "RENEWALS_KAFKA_TOPIC": topics["kafka_topic"],
        "RENEWALS_KAFKA_NOTIFICATIONS_TOPIC": topics["kafka_notifications_topic"],
        "RENEWALS_KAFKA_GROUP_ID": f"dev-{uuid.uuid4().hex[:8]}",
        "RENEWALS_KAFKA_SESSION_TIMEOUT_MS": "3000",
        "RENEWALS_KAFKA_PARTITIONS": "2",
        "RENEWALS_RELAY_POLL_SECONDS": "0.1",
        "RENEWALS_SCHEDULER_INTERVAL_SECONDS": "0",
    }
    with subprocess.Popen(
        [RENEWALS, "dev", "--kafka"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as process:
        try:
            assert process.stdout is not None
            key = ""
            while not key:
                line = await asyncio.wait_for(asyncio.to_thread(process.stdout.readline), 30)
                assert line, "renewals dev exited before printing its key"
                if "API key" in line:
                    key = line.split()[-1]
            base = f"http://127.0.0.1:{port}"
            async with httpx.AsyncClient(
                base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=5
            ) as client:
                await wait_until_ready(client)
                assert (await client.get("/readyz")).json() == {"status": "ok"}
                account = (await client.post("/v1/accounts", json={"name": "Globex"})).json()
                contract = (
                    await client.post(
                        "/v1/contracts",
                        json={
                            "account_id": account["id"],
                            "start_date": "2030-01-15",
                            "end_date": "2031-01-15",
                            "arr": "48000",
                        },
                    )
                ).json()
                plan: list[object] = []
                for _ in range(300):
                    response = await client.get(f"/v1/contracts/{contract['id']}/checkpoints")
                    plan = response.json()["items"]
                    if len(plan) >= PLAN_OF_THE_CONTRACT:
                        break
                    await asyncio.sleep(0.1)
                assert len(plan) == PLAN_OF_THE_CONTRACT
            process.send_signal(signal.SIGTERM)
            assert await asyncio.to_thread(process.wait, 30) == 0
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
