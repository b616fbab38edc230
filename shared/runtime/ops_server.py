"""The health and metrics port of `renewals worker`, `renewals relay` and `renewals api`.

The worker and the relay have no HTTP API, yet Kubernetes probes them and Prometheus
scrapes them; the API's public port may hide its metrics and says only ok/not-ok on
`/readyz`. This serves the three routes on `RENEWALS_WORKER_METRICS_PORT` /
`RENEWALS_RELAY_METRICS_PORT` / `RENEWALS_API_METRICS_PORT` (0 = off), in the process's
event loop, for the operator's network only:

- `/livez`: the process is alive; no dependency is checked, so a database outage never
  makes Kubernetes restart every pod at once;
- `/readyz`: the database answers and, when the process talks to Kafka, a broker does;
  503 while draining (after SIGTERM), so a rollout waits for the replacement; the body
  names what was checked or what failed;
- `/metrics`: the process's Prometheus registry.

The server starts before the work and stops after it: while the batch in flight
finishes, liveness still answers and readiness says draining.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, MutableMapping
from typing import Any

import structlog
import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from shared.config import Settings
from shared.db import Database
from shared.problem_details import PROBLEM_JSON, problem_body
from shared.runtime.kafka import ssl_context
from shared.runtime.probes import readiness

ROUTES = ("/livez", "/readyz", "/metrics")
_log = structlog.get_logger("renewals.ops")

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
OpsApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class _Server(uvicorn.Server):
    """Leaves SIGTERM/SIGINT to the process: its handler sets the stop event, and this
    server is stopped only once the work has drained."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def _respond(send: Send, status: int, body: bytes, content_type: str) -> None:
    headers = [
        (b"content-type", content_type.encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def ops_app(
    db: Database, settings: Settings, *, draining: asyncio.Event, check_broker: bool
) -> OpsApp:
    """The three routes as a bare ASGI app (three GETs need no web framework);
    `draining` is the process's stop event."""
    bootstrap = settings.kafka_bootstrap_servers if check_broker else None
    broker_ssl = ssl_context(settings) if check_broker else None

    async def app(scope: Scope, _receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        path = scope["path"]
        if path == "/livez":
            await _respond(send, 200, b'{"status":"ok"}', "application/json")
        elif path == "/readyz":
            status, body = await readiness(
                db, draining=draining.is_set(), bootstrap_servers=bootstrap, broker_ssl=broker_ssl
            )
            media = "application/json" if status == 200 else PROBLEM_JSON
            await _respond(send, status, json.dumps(body).encode(), media)
        elif path == "/metrics":
            await _respond(send, 200, generate_latest(), CONTENT_TYPE_LATEST)
        else:
            body = problem_body(404, "not-found", "Not found", f"no route {path}")
            await _respond(send, 404, json.dumps(body).encode(), PROBLEM_JSON)

    return app


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
