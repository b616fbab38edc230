"""Pages of a report's rows: `limit` rows after the row a cursor names.

The summary of a report (counts, totals, rates) is always computed over every row; only
the `items` list is paged. A report's rows are ordered by a sort key that ends with the
row's id, so the order is total and a page continues exactly after the last row of the
one before. The cursor is that row's id, encoded like every list endpoint's cursor; the
next page looks the row's sort key up and continues after it. A row whose sort key
changes between two pages (a contract renewed meanwhile) moves in the order, as it would
between two unpaged reads.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.domain.errors import InvalidInput
from shared.domain.schemas import decode_cursor, encode_cursor


@dataclass(frozen=True)
class Page:
    """At most `limit` rows, starting after the row `cursor` names (from the start when
    None). A report given no page returns every row (the CLI, CSV exports)."""

    limit: int
    cursor: str | None = None


async def cursor_key(
    session: AsyncSession, page: Page | None, id_column: Any, *sort_columns: Any
) -> tuple[Any, ...] | None:
    """The sort key (`sort_columns` then the id) of the row the page's cursor names; None
    without a cursor. One query, on the row's primary key."""
    if page is None or page.cursor is None:
        return None
    row_id = decode_cursor(page.cursor)
    found = (await session.execute(select(*sort_columns).where(id_column == row_id))).first()
    if found is None:
        raise InvalidInput("the cursor's row no longer exists; start again", field="cursor")
    return (*found, row_id)


def after(columns: Sequence[Any], key: Sequence[Any]) -> ColumnElement[bool]:
    """`columns > key` in lexicographic order, spelled with AND and OR: both dialects
    plan it, and it reads the same whatever the column types."""
    first, *rest = columns
    value, *rest_key = key
    if not rest:
        return first > value  # type: ignore[no-any-return]
    return or_(first > value, and_(first == value, after(rest, rest_key)))


def page_of(rows: Sequence[Any], page: Page | None, id_of: Any) -> tuple[Sequence[Any], str | None]:
    """The rows to return and the next page's cursor (None on the last page). `rows` were
    fetched with `limit + 1`: the extra row only says that another page follows."""
    if page is None or len(rows) <= page.limit:
        return rows, None
    shown = rows[: page.limit]
    return shown, encode_cursor(uuid.UUID(str(id_of(shown[-1]))))


def limit_of(page: Page | None) -> int | None:
    """The LIMIT of a page's query: one row more than shown, None for every row."""
    return None if page is None else page.limit + 1
