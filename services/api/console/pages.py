"""Rendering: one Jinja2 environment with autoescape on, and the headers every page
carries."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from services.api.console.forms import CSRF_FIELD
from services.api.console.session import ConsoleSession

HERE = Path(__file__).parent
STATIC_PATH = "/console/static"

_env = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.globals["csrf_field"] = CSRF_FIELD


def _utc(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


_env.filters["utc"] = _utc

SECURITY_HEADERS = {
    # The inline style is pygal's <style> inside each chart's SVG; no script runs inline.
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'",
    "Cache-Control": "no-store",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def render(
    request: Request,
    template: str,
    signed: ConsoleSession | None,
    *,
    status: int = 200,
    section: str | None = None,
    **context: Any,
) -> HTMLResponse:
    body = _env.get_template(template).render(
        request=request,
        signed=signed,
        section=section,
        static=STATIC_PATH,
        **context,
    )
    return HTMLResponse(body, status_code=status, headers=SECURITY_HEADERS)
