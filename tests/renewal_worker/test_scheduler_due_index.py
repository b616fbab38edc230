"""The sweep's claim on due checkpoints must come from an index in the sweep's own order.

Found by the scale benchmark (bench/scheduler_scale.py): with an index on (status,
opens_on) alone, each batch of `ORDER BY opens_on, id LIMIT n` read, joined and sorted
all of the day's remaining due rows, so a day's sweep read the day once per batch.
"""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from sqlalchemy import text

from services.renewal_worker.scheduler import due_checkpoints
from shared.db import Database


@pytest.mark.parametrize(
    "after", [None, (date(2026, 5, 1), uuid.UUID(int=7))], ids=["first batch", "next batch"]
)
async def test_due_checkpoints_come_in_index_order_without_a_sort(
    postgres_database: Database, after: tuple[date, uuid.UUID] | None
) -> None:
    """A later batch starts the index scan where the previous batch ended (the row
    comparison is an index condition), rather than walking over the rows already opened."""
    query = due_checkpoints(date(2026, 6, 1), 500, skip_locked=True, after=after)
    sql = query.compile(
        dialect=postgres_database.engine.dialect, compile_kwargs={"literal_binds": True}
    )
    async with postgres_database.read() as session:
        # An empty table would be scanned in full; the question is which order the
        # index gives once the planner uses it, as it does at scale.
        await session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join((await session.execute(text(f"EXPLAIN {sql}"))).scalars())
    assert "Index Scan using ix_checkpoints_status_opens_on_id on checkpoints" in plan
    assert "Sort Key: checkpoints.opens_on" not in plan
    if after is not None:
        index_cond = next(line for line in plan.splitlines() if "Index Cond" in line)
        assert "ROW(opens_on, id) >" in index_cond
