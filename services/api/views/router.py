"""Routes of the account manager's views: thin, as everywhere."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, Security
from fastapi.security import APIKeyQuery, HTTPAuthorizationCredentials
from pydantic import JsonValue

from services.api.deps import API_KEY, Reader, SessionDep, SettingsDep, get_db
from shared.clock import today, utcnow
from shared.domain.auth.service import authenticate
from shared.domain.calendar_tokens import service as calendar_tokens
from shared.domain.errors import Forbidden, Unauthorized
from shared.domain.schemas import Day
from shared.domain.views import agenda as agenda_service
from shared.domain.views import brief as brief_service
from shared.domain.views import calendar as calendar_service
from shared.domain.views.schemas import Agenda, Brief
from shared.enums import Scope

router = APIRouter(prefix="/v1", tags=["views"])

MARKDOWN_MEDIA_TYPE = "text/markdown; charset=utf-8"
WEEK_TEXT = r"^[0-9]{4}-([Ww][0-9]{2}|[0-9]{2}-[0-9]{2})$"
_YEAR = "(000[1-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-9][0-9]{3})"
WEEK_FORMS: list[JsonValue] = [
    {"type": "string", "pattern": f"^{_YEAR}-[Ww](0[1-9]|[1-4][0-9]|5[0-3])$"},
    {"type": "string", "pattern": f"^{_YEAR}-[0-9]{{2}}-[0-9]{{2}}$", "format": "date"},
]
"""What `week_monday` reads, as far as JSON Schema can say it: a week 01-53 or a real
date, of a year from 0001. Week 53 of a year that has only 52 is refused as well, which
depends on the calendar, not on the text."""
Owner = Annotated[
    str,
    Query(
        min_length=1,
        max_length=320,
        pattern=r"^[^\x00-\x1f\x7f]+$",
        description="Account manager e-mail (no control characters)",
    ),
]


CALENDAR_KEY = APIKeyQuery(
    name="key",
    scheme_name="calendarToken",
    description="A calendar token (`POST /v1/calendar-tokens`), for calendar apps that "
    "cannot send headers; API keys are refused here",
    auto_error=False,
)


async def calendar_reader(
    request: Request,
    key: Annotated[str | None, Security(CALENDAR_KEY)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(API_KEY)],
) -> None:
    """This route only: a calendar token as `?key=`, because Outlook and Google Calendar
    subscribe to a bare URL that ends up in sync logs and shared calendars — so the URL
    opens one owner's feed and nothing else; or an API key with the read scope as
    `Authorization: Bearer`, as everywhere else. The owner is read raw, so a key is
    judged (401/403) before the query is validated, as on every other route."""
    if key:
        async with get_db(request).read() as session:
            token_owner = await calendar_tokens.feed_owner(session, key)
        if token_owner is None:
            raise Unauthorized(
                "'?key=' takes a calendar token (POST /v1/calendar-tokens), and this one is "
                "unknown or revoked; API keys are not accepted in URLs"
            )
        if token_owner != request.query_params.get("owner"):
            raise Forbidden("this calendar token opens another owner's feed")
        return
    if credentials is None:
        raise Unauthorized(
            "send a calendar token as '?key=<token>' or an API key as 'Authorization: Bearer <key>'"
        )
    async with get_db(request).read() as session:
        principal = await authenticate(session, credentials.credentials.strip())
    if principal is None:
        raise Unauthorized("the API key is unknown or revoked")
    if not principal.allows(Scope.READ):
        raise Forbidden(f"this route needs the '{Scope.READ}' scope")
    request.state.principal = principal


@router.get(
    "/contracts/{contract_id}/brief",
    response_model=Brief,
    responses={200: {"content": {"text/markdown": {"schema": {"type": "string"}}}}},
    tags=["contracts"],
)
async def get_brief(
    _principal: Reader,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    contract_id: uuid.UUID,
    as_of: Annotated[Day | None, Query(description="YYYY-MM-DD; today (UTC) when omitted")] = None,
) -> Any:
    """One page for the renewal meeting: account and contract, goals, usage trend,
    stakeholders and their changes, ARR per term, health, budget, notice and renewal
    dates, open tasks, and the current term's done tasks with their outcomes (most
    recently closed first). Markdown with `Accept: text/markdown`."""
    brief = await brief_service.build_brief(
        session, contract_id, settings.currency, as_of or today()
    )
    if "text/markdown" in request.headers.get("accept", ""):
        return Response(brief_service.to_markdown(brief), media_type=MARKDOWN_MEDIA_TYPE)
    return brief


@router.get("/agenda", response_model=Agenda)
async def get_agenda(
    _principal: Reader,
    session: SessionDep,
    settings: SettingsDep,
    owner: Owner,
    week: Annotated[
        str | None,
        Query(
            pattern=WEEK_TEXT,
            json_schema_extra={"anyOf": WEEK_FORMS},
            description="ISO week (2026-W49; W53 only in a year that has one) or any date "
            "in it; this week when omitted",
        ),
    ] = None,
) -> Agenda:
    """The owner's open tasks due in the week by day (Monday to Sunday), most urgent
    first, with the contract's ARR; open tasks due before the week come first as `overdue`."""
    monday = agenda_service.week_monday(week, today())
    return await agenda_service.build_agenda(session, owner, monday, settings.currency)


@router.get(
    "/calendar.ics",
    response_class=Response,
    responses={200: {"content": {"text/calendar": {"schema": {"type": "string"}}}}},
)
async def get_calendar(
    _access: Annotated[None, Depends(calendar_reader)],
    session: SessionDep,
    owner: Owner,
) -> Response:
    """An iCalendar feed of the owner's open tasks and, per active contract, the budget,
    notice and renewal dates, as all-day events."""
    body = await calendar_service.build_calendar(session, owner, today(), utcnow())
    return Response(body, media_type=calendar_service.MEDIA_TYPE)
