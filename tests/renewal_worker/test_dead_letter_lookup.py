"""Each batch asks which of its events are pending dead letters; dead letters are kept
after their replay, so the question must be answered by the partial index, not by
reading every dead letter ever recorded."""

from __future__ import annotations

from sqlalchemy import text

from services.renewal_worker.sources.step import pending_dead_letters
from shared.db import Database


async def test_the_pending_dead_letter_lookup_uses_the_partial_index(
    postgres_database: Database,
) -> None:
    query = pending_dead_letters(["event-1", "event-2"])
    sql = query.compile(
        dialect=postgres_database.engine.dialect, compile_kwargs={"literal_binds": True}
    )
    async with postgres_database.read() as session:
        # An empty table would be scanned in full; what matters is that the index's
        # predicate matches the query's, so the planner can use it as the table grows.
        await session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join((await session.execute(text(f"EXPLAIN {sql}"))).scalars())
    assert "ix_dead_letters_pending_event_id" in plan
