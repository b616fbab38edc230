"""What `renewals tick` prints for the sweep's time-driven steps: renewal markers and
tasks passing 14 days overdue, each on its own line, only when there were some."""

from __future__ import annotations

from datetime import UTC, date, datetime

from services.renewal_worker.ticking import tick
from shared.db import Database
from tests.renewal_worker.helpers import add_checkpoint, fast_settings
from tests.support.factories import make_account, make_contract, make_task

AS_OF = date(2026, 6, 1)


async def _tick(db_url: str) -> list[str]:
    lines: list[str] = []
    done = await tick(
        fast_settings(db_url),
        AS_OF,
        datetime(2026, 6, 1, tzinfo=UTC),
        wait=False,
        timeout=10,
        echo=lines.append,
        warn=lines.append,
    )
    assert done, lines
    return lines


async def test_tick_prints_markers_and_overdue_tasks_apart_from_checkpoints(
    database: Database, db_url: str
) -> None:
    account = await make_account(database)
    contract = await make_contract(database, account)
    await add_checkpoint(database, contract, "kickoff", date(2026, 5, 1))
    await add_checkpoint(database, contract, "renewal_window", date(2026, 5, 20))
    await add_checkpoint(database, contract, "renewal_near", date(2026, 6, 1))
    await make_task(database, contract, due_date=date(2026, 5, 1))

    assert await _tick(db_url) == [
        "opened 1 checkpoint",
        "reached 2 renewal markers",
        "noted 1 task over 14 days overdue",
    ]
    assert await _tick(db_url) == ["opened 0 checkpoints"]
