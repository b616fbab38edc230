"""Request dependencies: the unit of work, the caller, and the settings."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from shared.config import Settings
from shared.db import Database
from shared.domain.auth.service import Principal, authenticate
from shared.domain.errors import Forbidden, Unauthorized
from shared.enums import Scope

_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

API_KEY = HTTPBearer(
    scheme_name="apiKey",
    description="An API key (`renewals apikey create`) as `Authorization: Bearer <key>`",
    auto_error=False,
)
"""Declared as a security dependency so the OpenAPI document shows which operations need a
key; it does not fail by itself, so a missing key gets our 401 problem, not FastAPI's."""


def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def request_settings(request: Request) -> Settings:
    """`get_settings` as a dependency. Async on purpose: FastAPI runs a plain `def`
    dependency in the thread pool, a thread hand-off on every request for an attribute
    read."""
    return get_settings(request)


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request, committed before the response is sent (the
    dependency is function-scoped) so a failed commit can never answer 2xx."""
    db = get_db(request)
    factory = db.reader if request.method in _READ_METHODS else db.writer
    async with factory() as session, session.begin():
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


async def get_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(API_KEY)],
    session: SessionDep,
) -> Principal:
    """Looks the key up in the request's own transaction (the route's `SessionDep` is the
    same cached session), which saves a second transaction and connection checkout per
    request; the key is still read on every request, so a revocation holds at once."""
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    token = credentials.credentials.strip() if credentials is not None else None
    if not token:
        raise Unauthorized("send an API key as 'Authorization: Bearer <key>'")
    principal = await authenticate(session, token)
    if principal is None:
        raise Unauthorized("the API key is unknown or revoked")
    request.state.principal = principal
    return principal


def require(scope: Scope) -> Callable[[Principal], Awaitable[Principal]]:
    async def check(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        if not principal.allows(scope):
            raise Forbidden(f"this route needs the '{scope}' scope")
        return principal

    return check


SettingsDep = Annotated[Settings, Depends(request_settings)]
Reader = Annotated[Principal, Depends(require(Scope.READ))]
Writer = Annotated[Principal, Depends(require(Scope.WRITE))]
Admin = Annotated[Principal, Depends(require(Scope.ADMIN))]
