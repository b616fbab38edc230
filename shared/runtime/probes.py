"""Readiness, as the API's `/readyz` and the ops port's `/readyz` both answer it: not while
draining, then the database, then (on the Kafka bus) a broker."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import struct
from typing import Any

from sqlalchemy import text

from shared.db import Database
from shared.problem_details import problem_body

BROKER_CHECK_TIMEOUT_SECONDS = 1.0
_API_VERSIONS = 18
_CORRELATION_ID = 0x5EAD1
_CLIENT_ID = b"renewals-readyz"


async def _broker_answers(address: str, context: ssl.SSLContext | None) -> None:
    """Sends a Kafka ApiVersions (v0) request and waits for its answer: a paused or hung
    broker still accepts TCP connections, so a bare connect would not notice it. Over TLS
    when the clients use it (a TLS listener drops plaintext); SASL brokers answer
    ApiVersions before authentication, so no credentials are sent."""
    host, _, port = address.strip().rpartition(":")
    host = host.strip("[]")
    reader, writer = await asyncio.open_connection(
        host, int(port), ssl=context, server_hostname=host if context else None
    )
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


async def broker_reachable(
    bootstrap_servers: str, timeout: float, context: ssl.SSLContext | None = None
) -> str | None:
    """None when one of the bootstrap servers answers within `timeout`, else the reason."""
    reason = "no bootstrap servers"
    for address in filter(None, (a.strip() for a in bootstrap_servers.split(","))):
        try:
            await asyncio.wait_for(_broker_answers(address, context), timeout)
            return None
        except TimeoutError:
            reason = f"{address}: no answer within {timeout:g} s"
        except (OSError, ValueError, asyncio.IncompleteReadError) as exc:
            reason = f"{address}: {type(exc).__name__}"
    return reason


def _not_ready(detail: str) -> tuple[int, dict[str, Any]]:
    return 503, problem_body(503, "not-ready", "Not ready", detail)


async def readiness(
    db: Database,
    *,
    draining: bool,
    bootstrap_servers: str | None,
    broker_ssl: ssl.SSLContext | None = None,
) -> tuple[int, dict[str, Any]]:
    """(200, what was checked) or (503, a problem body naming what failed);
    `bootstrap_servers` None when the process does not use Kafka, `broker_ssl` the TLS
    context of its Kafka clients."""
    if draining:
        return _not_ready("the process is shutting down")
    try:
        async with db.read() as session:
            await session.execute(text("SELECT 1"))
    except Exception as exc:
        return _not_ready(f"database: {type(exc).__name__}")
    body = {"status": "ready", "database": "ok"}
    if bootstrap_servers is not None:
        reason = await broker_reachable(bootstrap_servers, BROKER_CHECK_TIMEOUT_SECONDS, broker_ssl)
        if reason is not None:
            return _not_ready(f"broker: {reason}")
        body["broker"] = "ok"
    return 200, body
