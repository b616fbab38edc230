"""Calendar tokens: random, shown once, stored as SHA-256 like API keys, each bound to
one owner's feed and good for nothing else.

Any write key may issue one, for any owner: a write key can already read and change
every owner's tasks, so a read-only token for one feed gives it nothing new.
"""

from __future__ import annotations

import secrets
import uuid
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.clock import utcnow
from shared.domain.auth.service import hash_key
from shared.domain.calendar_tokens.schemas import (
    CalendarTokenCreate,
    CalendarTokenCreated,
    CalendarTokenRead,
)
from shared.domain.errors import NotFound
from shared.domain.pagination import fetch_page
from shared.models import CalendarToken

TOKEN_PREFIX = "rnc_"
FEED_PATH = "/v1/calendar.ics"


async def issue_token(
    session: AsyncSession, body: CalendarTokenCreate, *, created_by: str
) -> CalendarTokenCreated:
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = CalendarToken(
        owner=body.owner,
        prefix=plain[: len(TOKEN_PREFIX) + 6],
        token_hash=hash_key(plain),
        created_by=created_by,
    )
    session.add(row)
    await session.flush()
    return CalendarTokenCreated(
        **CalendarTokenRead.model_validate(row).model_dump(),
        token=plain,
        feed_path=f"{FEED_PATH}?{urlencode({'owner': row.owner, 'key': plain})}",
    )


async def list_tokens(
    session: AsyncSession, *, owner: str | None, limit: int, cursor: str | None
) -> tuple[list[CalendarTokenRead], str | None]:
    query = select(CalendarToken)
    if owner is not None:
        query = query.where(CalendarToken.owner == owner)
    rows, next_cursor = await fetch_page(
        session, query, CalendarToken.id, limit=limit, cursor=cursor
    )
    return [CalendarTokenRead.model_validate(row) for row in rows], next_cursor


async def revoke_token(session: AsyncSession, token_id: uuid.UUID) -> None:
    """Revoking twice is not an error: the token is revoked either way."""
    row = await session.get(CalendarToken, token_id)
    if row is None:
        raise NotFound(f"calendar token {token_id} does not exist", field="token_id")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        await session.flush()


async def feed_owner(session: AsyncSession, token: str) -> str | None:
    """The owner whose feed a live token opens, or None for anything else (an API key
    included: those never travel in a URL)."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    row = await session.scalar(
        select(CalendarToken).where(
            CalendarToken.token_hash == hash_key(token), CalendarToken.revoked_at.is_(None)
        )
    )
    return row.owner if row is not None else None
