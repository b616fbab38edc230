"""Calendar tokens (write scope): the `?key=` of a calendar feed URL."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from services.api.deps import SessionDep, Writer
from services.api.idempotency import NO_STORE
from services.api.openapi import problems
from shared.domain.calendar_tokens import service
from shared.domain.calendar_tokens.schemas import (
    CalendarTokenCreate,
    CalendarTokenCreated,
    CalendarTokenPage,
)
from shared.domain.schemas import Cursor, Limit

OwnerFilter = Annotated[
    str | None,
    Query(max_length=320, pattern=r"^[^\x00-\x1f\x7f]+$", description="Only this owner's"),
]

router = APIRouter(prefix="/v1/calendar-tokens", tags=["views"])


@router.post("", status_code=201, response_model=CalendarTokenCreated)
async def issue_calendar_token(
    principal: Writer, session: SessionDep, body: CalendarTokenCreate, response: Response
) -> CalendarTokenCreated:
    """A read-only token for `owner`'s feed, usable only as `?key=` on
    `/v1/calendar.ics?owner=<owner>`. The token is shown only in this answer
    (`Cache-Control: no-store`; a retry with the same `Idempotency-Key` gets 409, not a
    replay)."""
    response.headers["Cache-Control"] = NO_STORE
    return await service.issue_token(session, body, created_by=principal.name)


@router.get("", response_model=CalendarTokenPage)
async def list_calendar_tokens(
    _principal: Writer,
    session: SessionDep,
    owner: OwnerFilter = None,
    limit: Limit = 50,
    cursor: Cursor | None = None,
) -> CalendarTokenPage:
    items, next_cursor = await service.list_tokens(session, owner=owner, limit=limit, cursor=cursor)
    return CalendarTokenPage(items=items, next_cursor=next_cursor)


@router.delete(
    "/{token_id}",
    status_code=204,
    responses=problems(404, r404="no such token"),
)
async def revoke_calendar_token(
    _principal: Writer, session: SessionDep, token_id: uuid.UUID
) -> None:
    """The feed answers 401 to the token from now on."""
    await service.revoke_token(session, token_id)
