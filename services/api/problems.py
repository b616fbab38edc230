"""The one place that renders errors as RFC 9457 problem+json: domain errors
(shared/domain/errors.py), request validation, HTTP errors, database outages and
statements cancelled by the statement timeout.

Services raise domain errors; routers never build error responses by hand.
"""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from shared.domain.errors import DomainError, InputErrors, field_name
from shared.problem_details import PROBLEM_JSON, problem_body

_log = structlog.get_logger("renewals.api")


class PayloadTooLarge(DomainError):
    status = 413
    type = "payload-too-large"
    title = "Request body too large"


class RateLimited(DomainError):
    status = 429
    type = "rate-limited"
    title = "Too many requests"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class IdempotencyMismatch(DomainError):
    status = 422
    type = "idempotency-key-reused"
    title = "Idempotency-Key reused with a different request"


class IdempotencyInFlight(DomainError):
    status = 409
    type = "idempotency-key-in-flight"
    title = "A request with this Idempotency-Key is still being processed"


class IdempotencyAnswerNotKept(DomainError):
    status = 409
    type = "idempotency-answer-not-kept"
    title = "The request with this Idempotency-Key completed; its answer held a secret"


def problem(
    status: int,
    slug: str,
    title: str,
    detail: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = problem_body(status, slug, title, detail, errors)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def domain_problem(error: DomainError) -> JSONResponse:
    errors = [{"field": error.field, "message": error.detail}] if error.field else None
    headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else {}
    if isinstance(error, RateLimited):
        headers["Retry-After"] = str(error.retry_after)
    return problem(
        error.status, error.type, error.title, error.detail, errors=errors, headers=headers or None
    )


def validation_problem(errors: list[dict[str, Any]]) -> JSONResponse:
    items = [
        {"field": field_name(tuple(err.get("loc", ()))), "message": err.get("msg", "")}
        for err in errors
    ]
    detail = "; ".join(f"{item['field']}: {item['message']}" for item in items)
    return problem(422, "validation-error", "Invalid input", detail, errors=items)


_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def allowed_methods(request: Request) -> str:
    """Every method the path answers to, found by asking each route whether it would take
    the request with that method. Starlette's 405 names only the methods of the first
    route that matched the path, but a path often has several (GET and PATCH are two
    routes), and RFC 9110 wants all of them in `Allow`."""
    routes = request.app.router.routes
    return ", ".join(
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes
        )
    )


def database_unavailable(exc: BaseException) -> bool:
    """A locked SQLite file, a lost or refused Postgres connection (the API's pool does
    not ping before use, so a restart surfaces here once per open connection), an
    exhausted pool: nothing was committed (unless the loss hit the COMMIT itself) and the
    same request can succeed shortly; a retry is safe either way, since events dedupe on
    (`source`, `id`) and other POSTs on their Idempotency-Key."""
    if isinstance(exc, PoolTimeout):
        return True
    return isinstance(exc, DBAPIError) and (
        isinstance(exc, OperationalError) or exc.connection_invalidated
    )


QUERY_CANCELED = "57014"
"""Postgres's SQLSTATE for a statement cancelled, here by `statement_timeout`
(RENEWALS_DB_STATEMENT_TIMEOUT_MS)."""


def statement_timed_out(exc: BaseException) -> bool:
    return isinstance(exc, DBAPIError) and getattr(exc.orig, "sqlstate", None) == QUERY_CANCELED


def timeout_problem() -> JSONResponse:
    """503 as for an unavailable database, with its own type: the request's transaction
    is rolled back, so nothing was written, and a retry may succeed once the database is
    less loaded; a narrower request (a shorter period, a smaller page) is the surer fix.
    `Retry-After` is longer than for a lock, since the query just held the database for
    the whole timeout."""
    return problem(
        503,
        "statement-timeout",
        "Query took too long",
        "the database cancelled a query that ran past the statement timeout; nothing was"
        " written: narrow the request (a shorter period, a smaller page) or retry later",
        headers={"Retry-After": "10"},
    )


def unavailable_problem() -> JSONResponse:
    """503 + Retry-After rather than a 500: the client is told to retry, and the answer
    comes from a handler rather than the catch-all, so the connection stays open."""
    return problem(
        503,
        "database-unavailable",
        "Database unavailable",
        "the database is busy or unreachable; nothing was written, retry shortly",
        headers={"Retry-After": "1"},
    )


def install_error_handlers(app: FastAPI) -> None:
    async def on_domain_error(_request: Request, exc: Exception) -> JSONResponse:
        if isinstance(exc, InputErrors):
            return validation_problem(exc.errors)
        assert isinstance(exc, DomainError)
        return domain_problem(exc)

    async def on_validation_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return validation_problem(list(exc.errors()))

    async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        slug = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = allowed_methods(request)
        return problem(
            exc.status_code, slug, str(exc.detail), str(exc.detail), headers=headers or None
        )

    async def on_database_unavailable(request: Request, exc: Exception) -> JSONResponse:
        if statement_timed_out(exc):
            _log.warning("statement_timeout", path=request.url.path)
            return timeout_problem()
        if not database_unavailable(exc):
            return await on_unexpected(request, exc)
        _log.warning("database_unavailable", error=type(exc.__cause__ or exc).__name__)
        return unavailable_problem()

    async def on_unexpected(_request: Request, exc: Exception) -> JSONResponse:
        _log.exception("unhandled_error", error=type(exc).__name__)
        return problem(500, "internal-error", "Internal error", "The server failed unexpectedly")

    app.add_exception_handler(DomainError, on_domain_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(DBAPIError, on_database_unavailable)
    app.add_exception_handler(PoolTimeout, on_database_unavailable)
    app.add_exception_handler(Exception, on_unexpected)
