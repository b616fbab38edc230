"""`Idempotency-Key` on every POST (DESIGN §5, IETF httpapi draft).

Checked before routing and validation, once the body-limit middleware has found the
caller; a request without one (a signed webhook delivery) is not tracked. The first
request inserts an in-flight row; its response is stored before its first byte is sent,
and replayed to retries for 24 h. The same key with another body is 422; a retry while
the first is still running is 409, and one after it has run longer than
`RENEWALS_IDEMPOTENCY_IN_FLIGHT_SECONDS` takes the key over. Keys are scoped to the API
key that sent them. A 5xx answer frees the key so the client may retry.

An answer sent with `Cache-Control: no-store` (one that carries a secret) is not kept:
only that the request completed is, and a retry gets 409 `idempotency-answer-not-kept`
rather than a second secret or a copy of the first.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import DBAPIError, IntegrityError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.api.middleware import header, replay
from services.api.problems import (
    IdempotencyAnswerNotKept,
    IdempotencyInFlight,
    IdempotencyMismatch,
    database_unavailable,
    domain_problem,
    unavailable_problem,
)
from shared.clock import utcnow
from shared.db import Database
from shared.domain.auth.service import Principal
from shared.domain.errors import InvalidInput
from shared.models import IdempotencyKey

_NOT_STORED = frozenset({b"x-request-id", b"date", b"server"})
NO_STORE = "no-store"
"""The `Cache-Control` of answers that carry a secret: neither caches nor this
middleware keep them."""
_NOT_KEPT = [["cache-control", NO_STORE]]


def fingerprint(scope: Scope, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (scope["method"], scope["path"], scope.get("query_string", b"").decode()):
        digest.update(part.encode())
        digest.update(b"\0")
    digest.update(body)
    return digest.hexdigest()


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp, *, ttl: timedelta, in_flight_limit: timedelta) -> None:
        self.app = app
        self.ttl = ttl
        self.in_flight_limit = in_flight_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = header(scope, b"idempotency-key") if scope["type"] == "http" else None
        if key is None or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        if not 1 <= len(key) <= 255:
            error = InvalidInput("must be 1 to 255 characters", field="Idempotency-Key")
            await domain_problem(error)(scope, receive, send)
            return
        principal: Principal | None = scope.get("state", {}).get("principal")
        if principal is None:
            await self.app(scope, receive, send)
            return
        db: Database = scope["app"].state.db
        body: bytes = scope.get("state", {}).get("raw_body", b"")
        request_print = fingerprint(scope, body)
        try:
            row = await self._claim(db, principal.key_id, key, request_print)
        except DBAPIError as exc:
            if not database_unavailable(exc):
                raise
            await unavailable_problem()(scope, receive, send)
            return
        if row is not None:
            await self._answer_existing(row, request_print, scope, receive, send)
            return
        await self._run_and_store(db, principal.key_id, key, scope, replay(body, receive), send)

    async def _claim(
        self, db: Database, api_key_id: Any, key: str, request_print: str
    ) -> IdempotencyKey | None:
        """Inserts the in-flight row and returns None, or returns the row already there."""
        now = utcnow()
        try:
            async with db.transaction() as session:
                existing = await session.scalar(
                    select(IdempotencyKey).where(
                        IdempotencyKey.api_key_id == api_key_id, IdempotencyKey.key == key
                    )
                )
                if existing is not None and not self._reusable(existing, now):
                    return existing
                if existing is not None:
                    await session.delete(existing)
                    await session.flush()
                session.add(
                    IdempotencyKey(
                        api_key_id=api_key_id,
                        key=key,
                        fingerprint=request_print,
                        expires_at=now + self.ttl,
                    )
                )
        except IntegrityError:
            async with db.read() as session:
                return await session.scalar(
                    select(IdempotencyKey).where(
                        IdempotencyKey.api_key_id == api_key_id, IdempotencyKey.key == key
                    )
                )
        return None

    def _reusable(self, row: IdempotencyKey, now: datetime) -> bool:
        """Expired, or in flight for longer than a request may run: the process that
        claimed it died before storing an answer, and must not hold the key until it
        expires."""
        stale = row.response_status is None and row.created_at <= now - self.in_flight_limit
        return stale or row.expires_at <= now

    async def _answer_existing(
        self, row: IdempotencyKey, request_print: str, scope: Scope, receive: Receive, send: Send
    ) -> None:
        if row.fingerprint != request_print:
            mismatch = IdempotencyMismatch(
                "this Idempotency-Key was first used with another request",
                field="Idempotency-Key",
            )
            await domain_problem(mismatch)(scope, receive, send)
            return
        if row.response_status is None:
            in_flight = IdempotencyInFlight("retry once the first request has completed")
            await domain_problem(in_flight)(scope, receive, send)
            return
        if row.response_headers == _NOT_KEPT:
            not_kept = IdempotencyAnswerNotKept(
                f"the first request answered {row.response_status}; its answer carried a "
                "secret, so it is not kept to replay: read the resource it created or "
                "changed instead (the secret itself is shown only once)"
            )
            await domain_problem(not_kept)(scope, receive, send)
            return
        headers = [
            (k.encode("latin-1"), v.encode("latin-1")) for k, v in row.response_headers or []
        ]
        headers.append((b"idempotent-replayed", b"true"))
        await send(
            {"type": "http.response.start", "status": row.response_status, "headers": headers}
        )
        await send({"type": "http.response.body", "body": row.response_body or b""})

    async def _run_and_store(
        self, db: Database, api_key_id: Any, key: str, scope: Scope, receive: Receive, send: Send
    ) -> None:
        """Holds the answer back until it is stored: a client that retries the moment it
        has the answer must find it replayable, never still in flight."""
        start: Message | None = None
        chunks: list[bytes] = []
        stored = False

        async def store_then_send(message: Message) -> None:
            nonlocal start, stored
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            headers = [
                [bytes(k).decode("latin-1"), bytes(v).decode("latin-1")]
                for k, v in start.get("headers", [])
                if bytes(k).lower() not in _NOT_STORED
            ]
            body = b"".join(chunks)
            if _no_store(headers):
                await self._store_retrying(db, api_key_id, key, start["status"], _NOT_KEPT, b"")
            else:
                await self._store_retrying(db, api_key_id, key, start["status"], headers, body)
            stored = True
            await send(start)
            await send({"type": "http.response.body", "body": body})

        try:
            await self.app(scope, receive, store_then_send)
        finally:
            if not stored:
                await self._store_retrying(db, api_key_id, key, 500, [], b"")

    async def _store_retrying(
        self,
        db: Database,
        api_key_id: Any,
        key: str,
        status: int,
        headers: list[list[str]],
        body: bytes,
    ) -> None:
        try:
            await self._store(db, api_key_id, key, status, headers, body)
        except DBAPIError as exc:
            if not database_unavailable(exc):
                raise
            await self._store(db, api_key_id, key, status, headers, body)

    async def _store(
        self,
        db: Database,
        api_key_id: Any,
        key: str,
        status: int,
        headers: list[list[str]],
        body: bytes,
    ) -> None:
        """Records the answer, or frees the key after a 5xx. Retried once on a lost
        connection: the pool is not pinged, and the first statement after a database
        restart fails (the pool then reconnects), which must not leave the key in flight
        for its whole lifetime."""
        async with db.transaction() as session:
            where = (IdempotencyKey.api_key_id == api_key_id, IdempotencyKey.key == key)
            if status >= 500:
                await session.execute(delete(IdempotencyKey).where(*where))
            else:
                row = await session.scalar(select(IdempotencyKey).where(*where))
                if row is not None:
                    row.response_status = status
                    row.response_headers = headers
                    row.response_body = body


def _no_store(headers: list[list[str]]) -> bool:
    return any(
        name.lower() == "cache-control" and NO_STORE in value.lower() for name, value in headers
    )
