from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.domain.pagination import fetch_page
from shared.models import DeadLetter


async def list_dead_letters(
    session: AsyncSession,
    *,
    type: str | None = None,
    replayed: bool | None = None,
    limit: int,
    cursor: str | None,
) -> tuple[Sequence[DeadLetter], str | None]:
    """Oldest first (ids are time-ordered); `replayed=false` lists what still needs care."""
    query = select(DeadLetter)
    if type is not None:
        query = query.where(DeadLetter.type == type)
    if replayed is not None:
        query = query.where(
            DeadLetter.replayed_at.is_not(None) if replayed else DeadLetter.replayed_at.is_(None)
        )
    return await fetch_page(session, query, DeadLetter.id, limit=limit, cursor=cursor)
