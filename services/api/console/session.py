"""The console's sign-in: a cookie sealed with the deployment's secret box
(RENEWALS_SECRET_KEY), holding the API key's id and the session's CSRF token.

Fernet tokens carry the time they were sealed, so a session expires by a TTL check on
opening (RENEWALS_CONSOLE_SESSION_HOURS) without any server-side state. The key itself
is never kept: it is read by id on every request, so revoking it, or its expiry, ends
every session opened with it.
"""

from __future__ import annotations

import json
import secrets
import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from starlette.responses import Response

from services.api.deps import SessionDep, get_settings
from shared.config import Settings
from shared.domain.auth.service import Principal, active_principal
from shared.enums import Scope
from shared.secret_box import UnreadableSecret

COOKIE = "renewals_console"
COOKIE_PATH = "/console"


class SignInRequired(Exception):
    """No usable session: the page answers with a redirect to the sign-in form."""


class Refused(Exception):
    """A request the session may not make: rendered as an error page with `status`."""

    def __init__(self, status: int, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail


@dataclass(frozen=True, slots=True)
class ConsoleSession:
    principal: Principal
    csrf: str

    @property
    def can_write(self) -> bool:
        return self.principal.allows(Scope.WRITE)

    @property
    def is_admin(self) -> bool:
        return Scope.ADMIN in self.principal.scopes


def seal(settings: Settings, key_id: uuid.UUID) -> str:
    payload = {"key": str(key_id), "csrf": secrets.token_urlsafe(32)}
    return settings.secret_box().seal(json.dumps(payload, separators=(",", ":")))


def _opened(settings: Settings, cookie: str) -> tuple[uuid.UUID, str] | None:
    try:
        payload = json.loads(
            settings.secret_box().open(cookie, ttl=settings.console_session_hours * 3600)
        )
        return uuid.UUID(payload["key"]), str(payload["csrf"])
    except (UnreadableSecret, ValueError, KeyError, TypeError):
        return None


def set_cookie(response: Response, request: Request, value: str, settings: Settings) -> None:
    response.set_cookie(
        COOKIE,
        value,
        max_age=settings.console_session_hours * 3600,
        path=COOKIE_PATH,
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )


def clear_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(
        COOKIE,
        path=COOKIE_PATH,
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )


async def signed_in(request: Request, session: SessionDep) -> ConsoleSession:
    """The session of the request, read in the page's own transaction; the principal is
    left on the request state so the key's use is noted as for API calls."""
    cookie = request.cookies.get(COOKIE)
    opened = _opened(get_settings(request), cookie) if cookie else None
    if opened is None:
        raise SignInRequired
    key_id, csrf = opened
    principal = await active_principal(session, key_id)
    if principal is None or not principal.allows(Scope.READ):
        raise SignInRequired
    signed = ConsoleSession(principal=principal, csrf=csrf)
    request.state.principal = principal
    request.state.console = signed
    return signed


def require(signed: ConsoleSession, scope: Scope) -> None:
    if not signed.principal.allows(scope):
        raise Refused(403, "Not allowed", f"this action needs an API key with the '{scope}' scope")


Console = Annotated[ConsoleSession, Depends(signed_in)]
