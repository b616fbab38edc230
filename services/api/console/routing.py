"""Console routes answer with pages: a missing session is a redirect to the sign-in
form, and every refusal or domain error an HTML error page with the same status the
API would give; a deployment without RENEWALS_SECRET_KEY, which seals the sessions, gets
a page saying so.

The page is built where the error is caught, then raised again inside `FailedPage`, so
the error still passes through the request's dependencies: the session dependency rolls
the transaction back, as it does for the API's errors, and the app's handler for
`FailedPage` sends the page."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute
from pydantic import ValidationError

from services.api.console.pages import render
from services.api.console.session import Refused, SignInRequired, clear_cookie
from shared.domain.errors import DomainError
from shared.secret_box import SecretKeyMissing

SIGN_IN_PATH = "/console"


def _problems(errors: list[Any]) -> str:
    return "; ".join(
        f"{'.'.join(str(part) for part in err.get('loc', ()) if part != 'body') or 'input'}: "
        f"{err.get('msg', '')}"
        for err in errors
    )


class FailedPage(Exception):
    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def error_page(request: Request, status: int, title: str, detail: str) -> Response:
    return render(
        request,
        "error.html",
        getattr(request.state, "console", None),
        status=status,
        title=title,
        detail=detail,
    )


class ConsoleRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInRequired:
                response: Response = RedirectResponse(SIGN_IN_PATH, status_code=303)
                if request.cookies:
                    clear_cookie(response, request)
            except Refused as refused:
                response = error_page(request, refused.status, refused.title, refused.detail)
            except DomainError as error:
                response = error_page(request, error.status, error.title, error.detail)
            except (RequestValidationError, ValidationError) as invalid:
                response = error_page(
                    request, 422, "Invalid input", _problems(list(invalid.errors()))
                )
            except SecretKeyMissing as missing:
                response = error_page(request, 503, "The console is not set up", str(missing))
            raise FailedPage(response)

        return handle


def console_router() -> APIRouter:
    """A page module's router: under /console, out of the OpenAPI document, its errors
    rendered as pages."""
    return APIRouter(prefix="/console", include_in_schema=False, route_class=ConsoleRoute)


async def _send_page(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, FailedPage)
    return exc.response


def install_failed_pages(app: FastAPI) -> None:
    app.add_exception_handler(FailedPage, _send_page)
