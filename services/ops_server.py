"""The health and metrics port of `renewals worker` and `renewals relay`.

The API answers `/livez`, `/readyz` and `/metrics` on its own port; the worker and the
relay have no HTTP API, yet Kubernetes probes them and Prometheus scrapes them. This
serves the same three routes on `RENEWALS_WORKER_METRICS_PORT` /
`RENEWALS_RELAY_METRICS_PORT` (0 = off), in the process's event loop, with the same
meaning as the API's:

- `/livez`: the process is alive; no dependency is checked, so a database outage never
  makes Kubernetes restart every pod at once;
- `/readyz`: the database answers and, when the process talks to Kafka, a broker does;
  503 while draining (after SIGTERM), so a rollout waits for the replacement;
- `/metrics`: the process's Prometheus registry.

The server starts before the work and stops after it: while the batch in flight
finishes, liveness still answers and readiness says draining.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Iterator

import structlog
import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from services.api.errors import problem
from services.api.health.router import BROKER_CHECK_TIMEOUT_SECONDS, broker_reachable
from shared.config import Settings
from shared.db import Database

ROUTES = ("/livez", "/readyz", "/metrics")
_log = structlog.get_logger("renewals.ops")


class _Server(uvicorn.Server):
    """Leaves SIGTERM/SIGINT to the process: its handler sets the stop event, and this
    server is stopped only once the work has drained."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def ops_app(
    db: Database, settings: Settings, *, draining: asyncio.Event, check_broker: bool
) -> Starlette:
    """The three routes; `draining` is the process's stop event."""

    async def livez(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> Response:
        if draining.is_set():
            return problem(503, "not-ready", "Not ready", "the process is shutting down")
        try:
            async with db.read() as session:
                await session.execute(text("SELECT 1"))
        except Exception as exc:
            return problem(503, "not-ready", "Not ready", f"database: {type(exc).__name__}")
        body = {"status": "ready", "database": "ok"}
        if check_broker:
            reason = await broker_reachable(
                settings.kafka_bootstrap_servers, BROKER_CHECK_TIMEOUT_SECONDS
            )
            if reason is not None:
                return problem(503, "not-ready", "Not ready", f"broker: {reason}")
            body["broker"] = "ok"
        return JSONResponse(body)

    async def metrics(_: Request) -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    handlers = {"/livez": livez, "/readyz": readyz, "/metrics": metrics}
    return Starlette(routes=[Route(path, handlers[path]) for path in ROUTES])


@contextlib.asynccontextmanager
async def serving(
    db: Database,
    settings: Settings,
    *,
    port: int,
    draining: asyncio.Event,
    check_broker: bool,
) -> AsyncIterator[None]:
    """Serves the routes on `port` (nothing when 0) for the duration of the block; the
    block runs once the port is listening. The port is bound here, before any work
    starts, so a port already taken ends the process at once: one JSON log line, exit 1."""
    if port == 0:
        yield
        return
    host = settings.api_host
    try:
        listener = socket.create_server(
            (host, port), family=socket.AF_INET6 if ":" in host else socket.AF_INET
        )
    except OSError as exc:
        _log.error("ops_port_unavailable", host=host, port=port, error=str(exc))
        raise SystemExit(1) from exc
    server = _Server(
        uvicorn.Config(
            ops_app(db, settings, draining=draining, check_broker=check_broker),
            lifespan="off",
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=2,
        )
    )
    serve = asyncio.create_task(server.serve(sockets=[listener]))
    while not server.started and not serve.done():
        await asyncio.sleep(0.01)
    try:
        yield
    finally:
        server.should_exit = True
        await serve
