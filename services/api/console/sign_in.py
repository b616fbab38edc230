"""`/console`: the sign-in form, signing in with an API key and signing out."""

from __future__ import annotations

from fastapi import Request, Response
from fastapi.responses import RedirectResponse

from services.api.console.forms import Posted, read_form
from services.api.console.pages import render
from services.api.console.routing import console_router
from services.api.console.session import (
    COOKIE,
    Refused,
    SignInRequired,
    clear_cookie,
    seal,
    set_cookie,
    signed_in,
)
from services.api.deps import SessionDep, get_settings
from shared.domain.auth.service import authenticate
from shared.enums import Scope

router = console_router()

HOME = "/console/radar"
_CROSS_SITE = frozenset({"cross-site", "same-site"})


@router.get("")
async def sign_in_form(request: Request, session: SessionDep) -> Response:
    if request.cookies.get(COOKIE):
        try:
            await signed_in(request, session)
        except SignInRequired:
            response = render(request, "sign_in.html", None, error=None)
            clear_cookie(response, request)
            return response
        return RedirectResponse(HOME, status_code=303)
    return render(request, "sign_in.html", None, error=None)


@router.post("/sign-in")
async def sign_in(request: Request, session: SessionDep) -> Response:
    """There is no session yet to take a CSRF token from, so a sign-in is refused when
    the browser says another site sent it: nobody can sign a visitor in with a key of
    theirs."""
    if request.headers.get("sec-fetch-site") in _CROSS_SITE:
        raise Refused(403, "Not allowed", "sign in from the console's own page")
    form = await read_form(request)
    plain = form.get("api_key") or ""
    principal = await authenticate(session, plain) if plain else None
    if principal is None:
        return render(
            request,
            "sign_in.html",
            None,
            status=401,
            error="That API key is unknown, revoked or expired.",
        )
    if not principal.allows(Scope.READ):
        return render(
            request,
            "sign_in.html",
            None,
            status=403,
            error="That API key has no 'read' scope, which the console needs.",
        )
    settings = get_settings(request)
    response = RedirectResponse(HOME, status_code=303)
    set_cookie(response, request, seal(settings, principal.key_id), settings)
    return response


@router.post("/sign-out")
async def sign_out(request: Request, _posted: Posted) -> Response:
    response = RedirectResponse("/console", status_code=303)
    clear_cookie(response, request)
    return response
