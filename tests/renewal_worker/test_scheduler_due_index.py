"""The sweep's claim on due checkpoints must come from an index in the sweep's own order.

Found by the scale benchmark (bench/scheduler_scale.py): with an index on (status,
opens_on) alone, each batch of `ORDER BY opens_on, id LIMIT n` read, joined and sorted
all of the day's remaining due rows, so a day's sweep read the day once per batch.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import text

from services.renewal_worker.scheduler import due_checkpoints
from shared.db import Database


async def test_due_checkpoints_come_in_index_order_without_a_sort(
    postgres_database: Database,
) -> None:
    query = due_checkpoints(date(2026, 6, 1), 500, skip_locked=True)
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
