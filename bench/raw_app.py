"""The second baseline of figure a, the limit of this stack: `POST /v1/events` for a
`usage.reported` event written by hand with raw asyncpg on FastAPI, served by uvicorn
exactly like `renewals api` (one process, no access log).

It does the durable work the engine's endpoint does, with nothing between the request and
the driver: the key is checked with one query (its hash, not revoked, not expired, with
the write scope), then one transaction records the inbox key (`INSERT … ON CONFLICT DO
NOTHING RETURNING`: a repeated (`source`, `id`) answers `duplicate` and writes nothing
else), reads the contract's account, writes the usage report, its outbox event and its
event-log row, and wakes the relay with `NOTIFY`, as the engine's commit does. What it
skips is what the figure measures: the ORM, pydantic models and middlewares.

`RENEWALS_DATABASE_URL=… python -m bench.raw_app PORT`
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.engine import make_url

from shared.domain.ingest.service import INBOX_CONSUMER
from shared.domain.usage.service import MAX_DAYS_AHEAD
from shared.events.outbox import OUTBOX_CHANNEL, build_event
from shared.events.types import SOURCE_API, EventType, Stream, dataschema
from shared.ids import new_id

POOL_SIZE = 30
"""As many connections as the engine's API pool may open (10, plus 20 overflow)."""

AUTHENTICATE = """
SELECT id FROM api_keys
WHERE key_hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)
  AND scopes ?| array['write', 'admin']
"""
RECORD_KEY = """
INSERT INTO inbox (consumer, source, event_id, processed_at) VALUES ($1, $2, $3, $4)
ON CONFLICT DO NOTHING RETURNING event_id
"""
ACCOUNT_OF = "SELECT account_id FROM contracts WHERE id = $1"
INSERT_USAGE = """
INSERT INTO usage_reports (id, contract_id, active_users, seats, as_of, created_at)
VALUES ($1, $2, $3, $4, $5, $6)
"""
INSERT_OUTBOX = """
INSERT INTO outbox (stream, event_id, source, type, subject, partition_key, event, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
"""
INSERT_LOG = """
INSERT INTO event_log (event_id, type, time, actor, account_id, contract_id, subject, data)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
"""
NOTIFY = f"NOTIFY {OUTBOX_CHANNEL}"
USAGE_SCHEMA = dataschema("usage")


class Refused(Exception):
    """An answer other than 202; raised inside the transaction, so nothing is written."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


class Usage:
    """The fields of a `usage.reported` CloudEvent, read without a model."""

    def __init__(self, event: dict[str, Any]) -> None:
        try:
            if event["type"] != EventType.USAGE_REPORTED:
                raise Refused(422, "this endpoint takes usage.reported events only")
            self.id = str(event["id"])
            self.source = str(event["source"])
            self.time = datetime.fromisoformat(event["time"])
            data = event["data"]
            self.contract_id = uuid.UUID(data["contract_id"])
            self.active_users = int(data["active_users"])
            self.seats = int(data["seats"])
            self.as_of = date.fromisoformat(data["as_of"])
        except (KeyError, TypeError, ValueError) as exc:
            raise Refused(422, f"not a usage.reported event: {exc!r}") from None
        if self.time.tzinfo is None:
            raise Refused(422, "time needs an offset")
        if self.as_of > self.time.date() + timedelta(days=MAX_DAYS_AHEAD):
            raise Refused(422, "as_of is too far ahead")


def _key_hash(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Refused(401, "send an API key")
    return hashlib.sha256(token.strip().encode()).hexdigest()


async def _write(connection: asyncpg.Connection, actor: str, usage: Usage) -> bool:
    """The rows of one event in the caller's transaction; False for a repeated event."""
    now = datetime.now(UTC)
    new = await connection.fetchval(RECORD_KEY, INBOX_CONSUMER, usage.source, usage.id, now)
    if new is None:
        return False
    account_id = await connection.fetchval(ACCOUNT_OF, usage.contract_id)
    if account_id is None:
        raise Refused(404, f"contract {usage.contract_id} does not exist")
    report_id = new_id()
    await connection.execute(
        INSERT_USAGE,
        report_id,
        usage.contract_id,
        usage.active_users,
        usage.seats,
        usage.as_of,
        now,
    )
    data = {
        "id": str(report_id),
        "contract_id": str(usage.contract_id),
        "account_id": str(account_id),
        "active_users": usage.active_users,
        "seats": usage.seats,
        "as_of": usage.as_of.isoformat(),
        "created_at": now.isoformat(),
    }
    event = build_event(
        type=EventType.USAGE_REPORTED,
        source=SOURCE_API,
        subject=str(report_id),
        data=data,
        dataschema=USAGE_SCHEMA,
        actor=actor,
        time=usage.time,
    )
    await connection.execute(
        INSERT_OUTBOX,
        str(Stream.LIFECYCLE),
        event["id"],
        SOURCE_API,
        event["type"],
        event["subject"],
        str(account_id),
        json.dumps(event),
        now,
    )
    await connection.execute(
        INSERT_LOG,
        event["id"],
        event["type"],
        usage.time,
        actor,
        account_id,
        usage.contract_id,
        event["subject"],
        json.dumps(data),
    )
    await connection.execute(NOTIFY)
    return True


def create_app(dsn: str) -> FastAPI:
    """The app on a pool to `dsn` (an asyncpg DSN), opened and closed by its lifespan."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.pool = await asyncpg.create_pool(dsn, min_size=1, max_size=POOL_SIZE)
        try:
            yield
        finally:
            await app.state.pool.close()

    app = FastAPI(lifespan=lifespan)

    @app.post("/v1/events", status_code=202)
    async def accept(request: Request, event: dict[str, Any]) -> JSONResponse:
        pool: asyncpg.Pool = request.app.state.pool
        try:
            key_hash = _key_hash(request)
            usage = Usage(event)
            async with pool.acquire() as connection:
                key_id = await connection.fetchval(AUTHENTICATE, key_hash, datetime.now(UTC))
                if key_id is None:
                    raise Refused(401, "the API key is unknown, revoked or cannot write")
                async with connection.transaction():
                    new = await _write(connection, str(key_id), usage)
        except Refused as refused:
            return JSONResponse({"detail": refused.detail}, status_code=refused.status)
        return JSONResponse({"id": usage.id, "duplicate": not new}, status_code=202)

    return app


def dsn_from_environment() -> str:
    """`RENEWALS_DATABASE_URL`, the setting `renewals api` reads, as an asyncpg DSN."""
    url = make_url(os.environ["RENEWALS_DATABASE_URL"]).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


if __name__ == "__main__":
    uvicorn.run(
        create_app(dsn_from_environment()),
        host="127.0.0.1",
        port=int(sys.argv[1]),
        log_config=None,
        access_log=False,
    )
