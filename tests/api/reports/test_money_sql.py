"""The reports format money in SQL: the same text as `format_minor` on both databases."""

from __future__ import annotations

import pytest
from sqlalchemy import BigInteger, literal, select, union_all

from shared.db import Database
from shared.domain.reports.queries import format_minor_sql
from shared.money import format_minor

AMOUNTS = [
    0, 1, -1, 5, -5, 9, 10, 99, 100, 101, -100, 999, 1000, 1001, 123456, -123456,
    10**15 + 7, -(10**15) - 7, 2**62, -(2**62), 2**63 - 1,
]  # fmt: skip


@pytest.mark.parametrize("currency", ["USD", "JPY", "KWD"])
async def test_format_minor_sql_matches_format_minor(db_url: str, currency: str) -> None:
    db = Database(db_url)
    try:
        async with db.read() as session:
            rows = await session.execute(
                union_all(
                    *(
                        select(literal(n), format_minor_sql(literal(n, BigInteger), currency))
                        for n in AMOUNTS
                    )
                )
            )
            null = await session.scalar(
                select(format_minor_sql(literal(None, BigInteger), currency))
            )
    finally:
        await db.dispose()

    assert dict(rows.all()) == {n: format_minor(n, currency) for n in AMOUNTS}
    assert null is None
