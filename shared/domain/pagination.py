"""Cursor pagination over time-ordered ids: stable under concurrent inserts."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.domain.schemas import decode_cursor, encode_cursor

T = TypeVar("T")


async def fetch_page(
    session: AsyncSession,
    query: Select[T],
    id_column: Any,
    *,
    limit: int,
    cursor: str | None,
) -> tuple[Sequence[T], str | None]:
    if cursor is not None:
        query = query.where(id_column > decode_cursor(cursor))
    rows = (await session.scalars(query.order_by(id_column).limit(limit + 1))).all()
    if len(rows) <= limit:
        return rows, None
    last: uuid.UUID = rows[limit - 1].id  # type: ignore[attr-defined]
    return rows[:limit], encode_cursor(last)
