"""`GET /v1/contracts/{id}/checkpoints` and `GET /v1/contracts/{id}/timeline`."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from services.api.deps import Reader, SessionDep
from shared.domain.contracts.history import (
    MAX_TERM,
    CheckpointPage,
    CheckpointRead,
    TimelineCursor,
    TimelineLimit,
    TimelinePage,
    list_checkpoints,
    timeline,
)
from shared.enums import CheckpointStatus

router = APIRouter(prefix="/v1/contracts", tags=["contracts"])


@router.get("/{contract_id}/checkpoints", response_model=CheckpointPage)
async def get_checkpoints(
    _principal: Reader,
    session: SessionDep,
    contract_id: uuid.UUID,
    term: Annotated[
        int | None, Query(ge=1, le=MAX_TERM, description="Only this term's checkpoints")
    ] = None,
    status: CheckpointStatus | None = None,
) -> CheckpointPage:
    """The contract's checkpoint plan, ordered by (term, due_date, kind, ordinal).

    A plan has at most a few dozen checkpoints per term, so the whole of it comes in one
    page: `next_cursor` is always null and there is no `limit`."""
    rows = await list_checkpoints(session, contract_id, term=term, status=status)
    return CheckpointPage(items=[CheckpointRead.model_validate(row) for row in rows])


@router.get("/{contract_id}/timeline", response_model=TimelinePage)
async def get_timeline(
    _principal: Reader,
    session: SessionDep,
    contract_id: uuid.UUID,
    since: Annotated[
        AwareDatetime | None, Query(description="Items at or after this time (with offset)")
    ] = None,
    until: Annotated[
        AwareDatetime | None, Query(description="Items strictly before this time (with offset)")
    ] = None,
    limit: TimelineLimit = 200,
    cursor: TimelineCursor | None = None,
) -> TimelinePage:
    """The contract's history, oldest first (newest last).

    Items: its lifecycle events (from the event log, which outlives the outbox), its
    account's account-level events (account and stakeholder changes, which name no
    contract), and one item when each of its tasks was created and one when it was
    closed. Items at the same time list events first, then task openings, then closings.
    More than `limit` items in the window give a `next_cursor` that continues after the
    last item returned. `until` may not be before `since` (422 naming `until`)."""
    items, next_cursor = await timeline(
        session, contract_id, since=since, until=until, limit=limit, cursor=cursor
    )
    return TimelinePage(items=items, next_cursor=next_cursor)
