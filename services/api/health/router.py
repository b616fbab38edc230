"""Open operational routes: liveness, readiness and metrics."""

from __future__ import annotations

import asyncio
import contextlib
import struct

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from services.api.deps import get_db, get_settings
from services.api.errors import problem
from services.api.openapi import problems

router = APIRouter(tags=["operations"])

BROKER_CHECK_TIMEOUT_SECONDS = 1.0
_API_VERSIONS = 18
_CORRELATION_ID = 0x5EAD1
_CLIENT_ID = b"renewals-readyz"


@router.get("/livez")
async def livez() -> dict[str, str]:
    """Alive: answers without touching any dependency."""
    return {"status": "ok"}


async def _broker_answers(address: str) -> None:
    """Sends a Kafka ApiVersions (v0) request and waits for its answer: a paused or hung
    broker still accepts TCP connections, so a bare connect would not notice it."""
    host, _, port = address.strip().rpartition(":")
    reader, writer = await asyncio.open_connection(host.strip("[]"), int(port))
    try:
        body = struct.pack(">hhih", _API_VERSIONS, 0, _CORRELATION_ID, len(_CLIENT_ID))
        body += _CLIENT_ID
        writer.write(struct.pack(">i", len(body)) + body)
        await writer.drain()
        size, correlation_id = struct.unpack(">ii", await reader.readexactly(8))
        if size < 4 or correlation_id != _CORRELATION_ID:
            raise ConnectionError("unexpected answer")
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def broker_reachable(bootstrap_servers: str, timeout: float) -> str | None:
    """None when one of the bootstrap servers answers within `timeout`, else the reason."""
    reason = "no bootstrap servers"
    for address in filter(None, (a.strip() for a in bootstrap_servers.split(","))):
        try:
            await asyncio.wait_for(_broker_answers(address), timeout)
            return None
        except TimeoutError:
            reason = f"{address}: no answer within {timeout:g} s"
        except (OSError, ValueError, asyncio.IncompleteReadError) as exc:
            reason = f"{address}: {type(exc).__name__}"
    return reason


@router.get("/readyz", response_model=None, responses=problems(503))
async def readyz(request: Request) -> dict[str, str] | Response:
    if getattr(request.app.state, "draining", False):
        return problem(503, "not-ready", "Not ready", "the process is shutting down")
    try:
        async with get_db(request).read() as session:
            await session.execute(text("SELECT 1"))
    except Exception as exc:
        return problem(503, "not-ready", "Not ready", f"database: {type(exc).__name__}")
    settings = get_settings(request)
    if settings.event_bus != "kafka":
        return {"status": "ready", "database": "ok"}
    reason = await broker_reachable(settings.kafka_bootstrap_servers, BROKER_CHECK_TIMEOUT_SECONDS)
    if reason is not None:
        return problem(503, "not-ready", "Not ready", f"broker: {reason}")
    return {"status": "ready", "database": "ok", "broker": "ok"}


@router.get("/metrics", include_in_schema=False)
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
