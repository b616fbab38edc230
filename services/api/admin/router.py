from __future__ import annotations

from fastapi import APIRouter

from services.api.deps import Admin, SessionDep
from shared.domain.dead_letters import service
from shared.domain.dead_letters.schemas import DeadLetterPage, DeadLetterRead
from shared.domain.schemas import Cursor, Limit

router = APIRouter(prefix="/v1/admin", tags=["admin"])


@router.get("/dead-letters", response_model=DeadLetterPage)
async def list_dead_letters(
    _principal: Admin,
    session: SessionDep,
    type: str | None = None,
    replayed: bool | None = None,
    limit: Limit = 50,
    cursor: Cursor | None = None,
) -> DeadLetterPage:
    """Events the worker could not apply (unparseable, invalid, or the engine raised),
    oldest first. Filter by event `type`, or `replayed=false` for those still pending."""
    rows, next_cursor = await service.list_dead_letters(
        session, type=type, replayed=replayed, limit=limit, cursor=cursor
    )
    return DeadLetterPage(
        items=[DeadLetterRead.model_validate(row) for row in rows], next_cursor=next_cursor
    )
