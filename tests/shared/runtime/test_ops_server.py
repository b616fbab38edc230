"""The worker's and the relay's health/metrics port (`shared.runtime.ops_server`): liveness
never checks dependencies, readiness checks the database (and the broker when the
process uses Kafka) and fails while draining, metrics parse with prometheus-client."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from shared.config import Settings
from shared.db import Database
from shared.runtime.ops_server import ops_app, serving
from tests.support.broker import free_port


def client_for(
    db: Database, settings: Settings, draining: asyncio.Event, broker: bool
) -> httpx.AsyncClient:
    app = ops_app(db, settings, draining=draining, check_broker=broker)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ops")


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    """A SQLite database (readiness runs only `SELECT 1`: no schema needed)."""
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'ops.db'}")
    yield db
    await db.dispose()


async def test_ready_when_the_database_answers_and_not_while_draining(database: Database) -> None:
    draining = asyncio.Event()
    async with client_for(database, Settings(), draining, broker=False) as client:
        assert (await client.get("/livez")).json() == {"status": "ok"}
        assert (await client.get("/readyz")).json() == {"status": "ready", "database": "ok"}
        draining.set()
        response = await client.get("/readyz")
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"
        assert "shutting down" in response.json()["detail"]
        assert (await client.get("/livez")).status_code == 200


async def test_not_ready_without_the_database_yet_alive(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'missing' / 'nowhere.db'}")
    try:
        async with client_for(db, Settings(), asyncio.Event(), broker=False) as client:
            response = await client.get("/readyz")
            assert response.status_code == 503
            assert response.json()["detail"].startswith("database:")
            assert (await client.get("/livez")).status_code == 200
    finally:
        await db.dispose()


async def test_not_ready_when_the_broker_does_not_answer(database: Database) -> None:
    settings = Settings(kafka_bootstrap_servers=f"127.0.0.1:{free_port()}")
    async with client_for(database, settings, asyncio.Event(), broker=True) as client:
        response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["detail"].startswith("broker:")


async def test_metrics_parse_with_prometheus_clients_parser(database: Database) -> None:
    async with client_for(database, Settings(), asyncio.Event(), broker=False) as client:
        response = await client.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain")
    names = {family.name for family in text_string_to_metric_families(response.text)}
    assert {
        "renewals_events_processed",
        "renewals_tasks_created",
        "renewals_dead_letters",
        "renewals_scheduler_sweep_seconds",
        "renewals_outbox_backlog",
        "renewals_outbox_oldest_age_seconds",
    } <= names


async def test_serving_listens_for_the_block_only_and_port_0_is_off(database: Database) -> None:
    port = free_port()
    settings = Settings(api_host="127.0.0.1")
    async with (
        serving(database, settings, port=port, draining=asyncio.Event(), check_broker=False),
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client,
    ):
        assert (await client.get("/livez")).status_code == 200
        assert (await client.get("/nope")).status_code == 404
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        with pytest.raises(httpx.ConnectError):
            await client.get("/livez")
    async with serving(database, settings, port=0, draining=asyncio.Event(), check_broker=False):
        pass


async def test_a_taken_port_ends_the_process_before_any_work(database: Database) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        settings = Settings(api_host="127.0.0.1")
        with pytest.raises(SystemExit) as exited:
            async with serving(
                database, settings, port=port, draining=asyncio.Event(), check_broker=False
            ):
                pytest.fail("the block must not run")
    assert exited.value.code == 1
