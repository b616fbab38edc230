"""The query pieces every report uses: sums and counts in SQL, money and ids as text
computed by the database, and the row fetch that skips the ORM."""

from __future__ import annotations

import gc
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from decimal import ROUND_CEILING
from typing import Any, TypeVarTuple

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Row,
    Select,
    SQLColumnExpression,
    String,
    case,
    cast,
    func,
)
from sqlalchemy.ext.asyncio import AsyncSession

from shared.money import minor_digits
from shared.rules.segments import THRESHOLDS as SEGMENT_THRESHOLDS
from shared.rules.types import Segment

_Ts = TypeVarTuple("_Ts")

RATE_DIGITS = 4


def rate(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, RATE_DIGITS) if denominator else None


def sum_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def sum_minor(amount: SQLColumnExpression[Any]) -> ColumnElement[int]:
    """A sum of minor units as an integer: Postgres sums bigints as numeric, which would
    come back as Decimal."""
    return cast(func.coalesce(func.sum(amount), 0), BigInteger)


def format_minor_sql(minor: SQLColumnExpression[int], currency: str) -> ColumnElement[str]:
    """`format_minor` computed by the database, the same text on SQLite and Postgres (integer
    division and remainder of the magnitude, the sign in front; null stays null), so a
    report's rows arrive ready to show: formatting 200,000 amounts in Python took a
    quarter of a second."""
    digits = minor_digits(currency)
    if not digits:
        return cast(minor, String)
    scale = 10**digits
    magnitude = func.abs(minor)
    return (
        case((minor < 0, "-"), else_="")
        + cast(magnitude.op("/", return_type=BigInteger)(scale), String)
        + "."
        + func.substr(cast(magnitude % scale + scale, String), 2)
    )


def segment_sql(arr_minor: ColumnElement[int], currency: str) -> ColumnElement[str]:
    """`segment_for` as SQL on an ARR in minor units: each inclusive threshold in major
    units, scaled exactly to the smallest minor amount that reaches it."""
    digits = minor_digits(currency)
    return case(
        *(
            (arr_minor >= int(threshold.scaleb(digits).to_integral_value(ROUND_CEILING)), seg.value)
            for threshold, seg in SEGMENT_THRESHOLDS
        ),
        else_=Segment.SELF_SERVE.value,
    )


def text_id(column: SQLColumnExpression[uuid.UUID]) -> ColumnElement[str]:
    """An id as text for a report row: the item schema parses it natively, where turning
    tens of thousands of SQLite hex strings into `uuid.UUID` in Python costs a
    noticeable share of a report's time."""
    return cast(column, String)


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pauses the cyclic garbage collector while a report fetches its rows and turns them
    into items. Each row allocates a few containers, so tens of thousands of them set the
    collector off hundreds of times, each pass walking every object made so far; none of
    them is in a cycle (reference counting frees them all), yet at 100,000 contracts the
    passes took half of a report's CPU time. Other requests served during a fetch (well
    under a second) only have their cycles collected a little later. It resumes on exit
    unless it was already off."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


async def fetch_rows(session: AsyncSession, statement: Select[*_Ts]) -> Sequence[Row[*_Ts]]:
    """Runs a statement of plain columns on the session's connection: the ORM result layer
    adds about 40 % per row and has nothing to do for rows that are not entities."""
    connection = await session.connection()
    with collector_paused():
        return (await connection.execute(statement)).all()
