"""The app under test, called in-process through httpx's ASGI transport."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from services.api.app import create_app
from shared.config import Settings
from shared.db import Database
from shared.db.base import Base
from shared.domain.auth.service import create_key, parse_scopes
from shared.models import OutboxEvent
from shared.runtime.ops_server import ops_app
from tests.ops.processes import Process, image_env, running, start


@dataclass
class Harness:
    app: FastAPI
    client: httpx.AsyncClient
    settings: Settings

    @property
    def db(self) -> Database:
        db: Database = self.app.state.db
        return db

    async def new_key(self, scopes: str, name: str = "test") -> str:
        async with self.db.transaction() as session:
            _, plain = await create_key(session, name=name, scopes=parse_scopes(scopes.split(",")))
        return plain

    def as_key(self, key: str | None) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://test", headers=headers
        )

    async def count(self, model: type[Base]) -> int:
        async with self.db.read() as session:
            return int(await session.scalar(select(func.count()).select_from(model)) or 0)

    async def events(self, type_prefix: str = "") -> list[dict[str, Any]]:
        async with self.db.read() as session:
            rows = await session.scalars(
                select(OutboxEvent)
                .where(OutboxEvent.type.startswith(type_prefix))
                .order_by(OutboxEvent.id)
            )
            return [row.event for row in rows]


def ops_client(api: Harness) -> httpx.AsyncClient:
    """The ops port `renewals api` serves beside the app (`RENEWALS_API_METRICS_PORT`),
    in-process, on the harness's database and settings."""
    app = ops_app(
        api.db,
        api.settings,
        draining=asyncio.Event(),
        check_broker=api.settings.event_bus == "kafka",
    )
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ops")


def test_settings(db_url: str, **overrides: Any) -> Settings:
    return Settings(database_url=db_url, **overrides)


@asynccontextmanager
async def open_harness(db_url: str, **overrides: Any) -> AsyncIterator[Harness]:
    settings = test_settings(db_url, **overrides)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        async with app.state.db.transaction() as session:
            _, plain = await create_key(session, name="admin", scopes=parse_scopes(["admin"]))
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://test",
            headers={"Authorization": f"Bearer {plain}"},
        ) as client:
            yield Harness(app=app, client=client, settings=settings)


async def wait_until_ready(client: httpx.AsyncClient, timeout: float = 10.0) -> None:
    """Polls `/readyz` of a served API (a `renewals` process) until it answers 200."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if (await client.get("/readyz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"/readyz did not answer 200 within {timeout} s"
        await asyncio.sleep(0.1)


@dataclass
class Served:
    """A real `renewals api` process on the loopback and an admin key for it."""

    process: Process
    key: str

    @property
    def url(self) -> str:
        return self.process.url

    def client(self, key: str | None = None, **options: Any) -> httpx.AsyncClient:
        token = self.key if key is None else key
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.AsyncClient(base_url=self.url, headers=headers, **options)


@asynccontextmanager
async def serve_api(db_url: str, logs: Path) -> AsyncIterator[Served]:
    """`renewals api` over real sockets, for what the in-process transport hides: it hands
    the client the answer only once the whole app has returned."""
    db = Database(db_url)
    try:
        async with db.transaction() as session:
            _, plain = await create_key(session, name="admin", scopes=parse_scopes(["admin"]))
    finally:
        await db.dispose()
    process = start("api", image_env(db_url), logs, port_setting="API_PORT")
    async with running(process):
        await process.wait_ready()
        yield Served(process, plain)
        await process.stop()
