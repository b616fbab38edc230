"""The image's entry commands without Docker, on a fresh Postgres database: `renewals
migrate` builds the schema, `renewals api` and `renewals worker` answer `/livez` and
`/readyz`, do the work (and their metrics show it), log JSON lines without the
secrets they were given, and stop on SIGTERM with exit code 0 losing nothing."""

from __future__ import annotations

import asyncio
import json
import subprocess
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from standardwebhooks import Webhook

from shared.clock import today
from shared.db import Database
from shared.domain.auth.service import create_key, parse_scopes
from shared.events.types import ENGINE_CONSUMER
from shared.models import Account, DeadLetter, InboxKey, OutboxEvent, Task
from tests.ops.processes import (
    PLANTED_INBOUND_SECRET,
    Process,
    image_env,
    planted_secrets,
    running,
    scrape,
    start,
    value,
)
from tests.support.cli import RENEWALS

pytestmark = pytest.mark.postgres

CONTRACTS = 3
BURST = 20


async def admin_key(db: Database) -> str:
    async with db.transaction() as session:
        _, plain = await create_key(session, name="ops", scopes=parse_scopes(["admin"]))
    return plain


async def count(db: Database, query: Any) -> int:
    async with db.read() as session:
        return int(await session.scalar(query) or 0)


async def wait_for(db: Database, query: Any, expected: int, timeout: float = 20) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (found := await count(db, query)) < expected:
        assert loop.time() < deadline, f"{found} of {expected} after {timeout} s"
        await asyncio.sleep(0.1)


def lifecycle_events() -> Any:
    return select(func.count()).select_from(OutboxEvent).where(OutboxEvent.stream == "lifecycle")


def applied_events() -> Any:
    return select(func.count()).select_from(InboxKey).where(InboxKey.consumer == ENGINE_CONSUMER)


async def create_contracts(client: httpx.AsyncClient) -> list[str]:
    """Contracts starting today: the engine plans them, the next sweep opens kickoff."""
    start_date = today()
    ids = []
    for i in range(CONTRACTS):
        account = await client.post("/v1/accounts", json={"name": f"Globex {i}"})
        assert account.status_code == 201, account.text
        contract = await client.post(
            "/v1/contracts",
            json={
                "account_id": account.json()["id"],
                "start_date": start_date.isoformat(),
                "end_date": (start_date + timedelta(days=365)).isoformat(),
                "arr": "24000",
            },
        )
        assert contract.status_code == 201, contract.text
        ids.append(contract.json()["id"])
    return ids


async def burst_then_sigterm(client: httpx.AsyncClient, api: Process) -> tuple[set[str], int]:
    """BURST account creations at once, SIGTERM to the API while they are in flight:
    the names answered 201, and the API's exit code."""
    names = [f"burst-{uuid.uuid4().hex[:8]}" for _ in range(BURST)]
    requests = [
        asyncio.create_task(client.post("/v1/accounts", json={"name": name})) for name in names
    ]
    await asyncio.sleep(0.05)
    stopping = asyncio.create_task(api.stop())
    answers = await asyncio.gather(*requests, return_exceptions=True)
    created = set()
    for name, answer in zip(names, answers, strict=True):
        if isinstance(answer, httpx.Response):
            assert answer.status_code == 201, answer.text  # never a 5xx while draining
            created.add(name)
        else:
            assert isinstance(answer, httpx.TransportError), answer  # refused: not accepted
    return created, await stopping


async def signed_webhook(client: httpx.AsyncClient) -> str:
    """A CRM's signed delivery (inbound generic webhook); its signature, which must not
    be logged any more than the secret."""
    body = json.dumps(
        {
            "specversion": "1.0",
            "id": uuid.uuid4().hex,
            "source": "urn:crm",
            "type": "partner.created",
            "time": datetime.now(UTC).isoformat(),
            "data": {"name": "Signed Partners"},
        }
    )
    msg_id, at = f"msg_{uuid.uuid4().hex}", datetime.now(UTC)
    signature = Webhook(PLANTED_INBOUND_SECRET).sign(msg_id, at, body)
    headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/json",
    }
    response = await client.post("/v1/webhooks/generic", content=body, headers=headers)
    assert response.status_code == 202, response.text
    return signature.removeprefix("v1,")


def check_logs(process: Process, secrets: list[str]) -> list[dict[str, Any]]:
    text = process.log.read_text()
    for secret in secrets:
        assert secret not in text, f"{process.command} logged a secret"
    events = process.log_events()  # every line is JSON
    assert events, f"{process.command} logged nothing"
    for event in events:
        assert {"timestamp", "level", "event"} <= event.keys(), event
    return events


async def test_migrate_api_and_worker_serve_probes_work_and_stop_on_sigterm_losing_nothing(
    empty_postgres_url: str, tmp_path: Path
) -> None:
    env = image_env(empty_postgres_url)
    migrate = await asyncio.to_thread(
        subprocess.run, [RENEWALS, "migrate"], env=env, capture_output=True, text=True, timeout=60
    )
    assert migrate.returncode == 0, migrate.stderr
    assert "database is at the latest migration" in migrate.stdout

    db = Database(empty_postgres_url)
    key = await admin_key(db)
    worker_env = env | {
        "RENEWALS_SCHEDULER_INTERVAL_SECONDS": "0.3",
        "RENEWALS_WORKER_POLL_SECONDS": "0.05",
    }
    api = start("api", env, tmp_path, port_setting="API_PORT")
    worker = start("worker", worker_env, tmp_path, port_setting="WORKER_METRICS_PORT")
    async with (
        running(api, worker),
        httpx.AsyncClient(
            base_url=api.url, headers={"Authorization": f"Bearer {key}"}, timeout=10
        ) as client,
    ):
        await asyncio.gather(api.wait_ready(), worker.wait_ready())

        # Work flows: events applied, checkpoints swept, kickoff tasks created.
        signature = await signed_webhook(client)
        contracts = await create_contracts(client)
        assert (await client.get(f"/v1/contracts/{contracts[0]}")).status_code == 200
        kickoffs = select(func.count()).select_from(Task).where(Task.kind == "kickoff")
        await wait_for(db, kickoffs, CONTRACTS)
        metrics = await scrape(worker.url)
        assert value(metrics, "renewals_events_processed_total", type="contract.created",
                     outcome="applied") == CONTRACTS  # fmt: skip
        assert value(metrics, "renewals_events_processed_total", type="checkpoint.due",
                     outcome="applied") >= CONTRACTS  # fmt: skip
        assert value(metrics, "renewals_tasks_created_total", kind="kickoff") == CONTRACTS
        assert value(metrics, "renewals_scheduler_sweep_seconds_count") >= 1
        assert value(metrics, "renewals_dead_letters_total") == 0
        api_metrics = await scrape(api.url)
        assert value(api_metrics, "http_requests_total", method="POST", route="/v1/contracts",
                     status="201") == CONTRACTS  # fmt: skip
        assert value(api_metrics, "http_request_duration_seconds_count", method="POST",
                     route="/v1/contracts", status="201") == CONTRACTS  # fmt: skip

        # SIGTERM to both while work is in flight: exit 0, nothing half-done.
        created, api_exit = await burst_then_sigterm(client, api)
        assert api_exit == 0
        assert await worker.stop() == 0
        burst = select(Account.name).where(Account.name.startswith("burst-"))
        async with db.read() as session:
            assert set((await session.scalars(burst)).all()) == created
        assert any(e["event"] == "lease_released" for e in worker.log_events())

    # A new worker applies whatever was left: every event exactly once, none dead.
    again = start("worker", worker_env, tmp_path, port_setting="WORKER_METRICS_PORT")
    async with running(again):
        await again.wait_ready()
        await wait_for(db, applied_events(), await count(db, lifecycle_events()))
        assert await again.stop() == 0
    assert await count(db, applied_events()) == await count(db, lifecycle_events())
    assert await count(db, select(func.count()).select_from(DeadLetter)) == 0
    await db.dispose()

    secrets = [*planted_secrets(), key, signature]
    requests = [e for e in check_logs(api, secrets) if e["event"] == "request"]
    assert all(len(e["request_id"]) == 32 for e in requests)
    assert {
        e.get("contract_id") for e in requests if e["route"] == "/v1/contracts/{contract_id}"
    } == {contracts[0]}
    applied = [e for e in check_logs(worker, secrets) if e["event"] == "event_applied"]
    assert {e["contract_id"] for e in applied if e["type"] == "contract.created"} == set(contracts)
    assert all("event_id" in e for e in applied)
    check_logs(again, secrets)
    for line in migrate.stderr.splitlines():
        assert not any(secret in line for secret in secrets)
