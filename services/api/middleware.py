"""ASGI middlewares: request ids, access logs and metrics; body size limits."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterable
from typing import Any

import structlog
from sqlalchemy.exc import DBAPIError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.api.problems import (
    PayloadTooLarge,
    database_unavailable,
    domain_problem,
    unavailable_problem,
)
from shared.clock import utcnow
from shared.db import Database
from shared.domain.auth.service import Principal, authenticate_alone, bearer_token, note_use
from shared.domain.errors import DomainError, Unauthorized
from shared.enums import Scope as ApiScope
from shared.metrics import HTTP_DURATION, HTTP_REQUESTS

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_log = structlog.get_logger("renewals.api")


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


class RequestContextMiddleware:
    """Takes `X-Request-ID` (or makes one), echoes it, logs one line and records metrics
    per request labelled by route template, never by raw path. Every answer carries
    `X-Content-Type-Options: nosniff`, so a browser never runs a JSON or text body it
    guesses is HTML or script. Once the answer is sent, the API key that made the
    request gets its `last_used_at` written if it is a minute old."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = header(scope, b"x-request-id")
        request_id = given if given and _REQUEST_ID.match(given) else uuid.uuid4().hex
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                headers.append((b"x-content-type-options", b"nosniff"))
                message = {**message, "headers": headers}
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                elapsed = time.perf_counter() - started
                route = scope.get("route")
                template = getattr(route, "path", None) or "unmatched"
                labels = (scope["method"], template, str(status))
                HTTP_REQUESTS.labels(*labels).inc()
                HTTP_DURATION.labels(*labels).observe(elapsed)
                contract_id = scope.get("path_params", {}).get("contract_id")
                _log.info(
                    "request",
                    method=scope["method"],
                    route=template,
                    status=status,
                    duration_ms=round(elapsed * 1000, 2),
                    **({"contract_id": str(contract_id)} if contract_id else {}),
                )
                await _note_key_use(scope)


class BodyLimitMiddleware:
    """Checks the API key, then reads the whole body up to the route's limit (413 past
    it, before any handler runs) and replays it downstream, so later layers can hash it.

    The key comes first so that a client without one costs no body read: it gets 401
    before a byte of the body is taken, and only a key with the `write` scope gets the
    large limit. Webhook deliveries carry no key (their signature is over the body,
    checked by their route) and keep the default limit."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        default_limit: int,
        large_limit: int,
        large_paths: Iterable[str],
        unkeyed_paths: Iterable[str],
    ) -> None:
        self.app = app
        self.default_limit = default_limit
        self.large_limit = large_limit
        self.large_paths = tuple(large_paths)
        self.unkeyed_paths = tuple(unkeyed_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in {"GET", "HEAD", "OPTIONS"}:
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        limit = self.default_limit
        if not path.startswith(self.unkeyed_paths):
            try:
                principal = await _principal(scope)
            except DomainError as error:
                await domain_problem(error)(scope, receive, send)
                return
            except DBAPIError as exc:
                if not database_unavailable(exc):
                    raise
                await unavailable_problem()(scope, receive, send)
                return
            scope.setdefault("state", {})["principal"] = principal
            if path.startswith(self.large_paths) and principal.allows(ApiScope.WRITE):
                limit = self.large_limit
        too_large = PayloadTooLarge(f"the body exceeds {limit} bytes")
        declared = header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await domain_problem(too_large)(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await domain_problem(too_large)(scope, receive, send)
                return
            chunks.append(chunk)
            more = bool(message.get("more_body", False))
        body = b"".join(chunks)
        scope.setdefault("state", {})["raw_body"] = body
        await self.app(scope, replay(body, receive), send)


async def _note_key_use(scope: Scope) -> None:
    """Best effort: a failure is logged, never turned into the request's failure."""
    principal: Principal | None = scope.get("state", {}).get("principal")
    now = utcnow()
    if principal is None or not principal.use_to_note(now):
        return
    db: Database = scope["app"].state.db
    try:
        async with db.transaction() as session:
            await note_use(session, principal.key_id, now)
    except DBAPIError as exc:
        _log.warning("api_key.use_not_noted", key_id=str(principal.key_id), error=str(exc))


async def _principal(scope: Scope) -> Principal:
    """The caller, or Unauthorized; the routes' `get_principal` then takes it from the
    request state instead of reading the key again."""
    token = bearer_token(header(scope, b"authorization"))
    if token is None:
        raise Unauthorized("send an API key as 'Authorization: Bearer <key>'")
    db: Database = scope["app"].state.db
    principal = await authenticate_alone(db, token)
    if principal is None:
        raise Unauthorized("the API key is unknown or revoked")
    return principal


def replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def receive_again() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        message: dict[str, Any] = dict(await receive())
        return message

    return receive_again
