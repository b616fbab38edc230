"""The sweep's time-driven steps: tasks passing 14 days overdue are noted once, each with a
`task.overdue` event; renewal markers are counted apart from the checkpoints that open
tasks; a late cancellation notice neither churns the contract at R nor stops its
auto-renewal."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select, text
from sqlalchemy.orm import selectinload

from services.renewal_worker.scheduler import newly_overdue_tasks, sweep
from shared.db import Database
from shared.models import Contract, Task
from tests.renewal_worker.helpers import add_checkpoint, outbox
from tests.support.factories import make_account, make_contract, make_task

AS_OF = date(2026, 6, 1)
TIME = datetime(2026, 6, 1, tzinfo=UTC)


async def _noted(db: Database) -> dict[str, date | None]:
    async with db.read() as session:
        return {t.kind: t.overdue_noted_on for t in await session.scalars(select(Task))}


async def test_the_sweep_notes_each_task_passing_14_days_overdue_once(database: Database) -> None:
    account = await make_account(database)
    contract = await make_contract(database, account)
    overdue = await make_task(database, contract, kind="fifteen_days", due_date=date(2026, 5, 17))
    await make_task(database, contract, kind="fourteen_days", due_date=date(2026, 5, 18))
    await make_task(database, contract, kind="done", due_date=date(2026, 4, 1), status="done")
    await make_task(
        database,
        contract,
        kind="noted_before",
        due_date=date(2026, 4, 1),
        overdue_noted_on=date(2026, 4, 16),
    )

    result = await sweep(database, AS_OF, time=TIME, currency="USD")

    assert (result.overdue_tasks_noted, result.checkpoints_opened) == (1, 0)
    assert await _noted(database) == {
        "fifteen_days": AS_OF,
        "fourteen_days": None,
        "done": None,
        "noted_before": date(2026, 4, 16),
    }
    (row,) = await outbox(database)
    assert row.type == "task.overdue"
    assert row.partition_key == str(account.id)
    assert [row.event_id] == result.event_ids
    event = row.event
    assert {k: event[k] for k in ("source", "subject", "actor", "dataschema", "time")} == {
        "source": "urn:renewals:scheduler",
        "subject": str(overdue.id),
        "actor": "scheduler",
        "dataschema": "urn:renewals:task_overdue:1",
        "time": TIME.isoformat(),
    }
    assert event["data"] == {
        "id": str(overdue.id),
        "contract_id": str(contract.id),
        "account_id": str(account.id),
        "due_date": "2026-05-17",
    }
    assert await outbox(database, "notifications") == []  # for the engine, not listeners

    again = await sweep(database, AS_OF, time=TIME, currency="USD")
    assert (again.overdue_tasks_noted, again.event_ids) == (0, [])


async def test_the_sweep_notes_more_overdue_tasks_than_one_batch(database: Database) -> None:
    account = await make_account(database)
    contract = await make_contract(database, account)
    for n in range(5):
        await make_task(database, contract, kind=f"kind_{n}", due_date=date(2026, 4, n + 1))
    result = await sweep(database, AS_OF, time=TIME, batch_size=2, currency="USD")
    assert result.overdue_tasks_noted == len(set(result.event_ids)) == 5
    assert set((await _noted(database)).values()) == {AS_OF}


async def test_renewal_markers_are_counted_apart_from_checkpoints(database: Database) -> None:
    account = await make_account(database)
    contract = await make_contract(database, account)
    await add_checkpoint(database, contract, "renewal_window", date(2026, 5, 30))
    await add_checkpoint(database, contract, "renewal_near", date(2026, 6, 1))
    await add_checkpoint(database, contract, "kickoff", date(2026, 5, 1))
    result = await sweep(database, AS_OF, time=TIME, currency="USD")
    assert (result.checkpoints_opened, result.markers_reached) == (1, 2)
    assert [row.type for row in await outbox(database)] == ["checkpoint.due"] * 3


async def _contract(db: Database, contract_id: object) -> Contract:
    async with db.read() as session:
        contract = await session.scalar(
            select(Contract).where(Contract.id == contract_id).options(selectinload(Contract.terms))
        )
        assert contract is not None
        return contract


async def test_a_late_notice_neither_churns_at_r_nor_stops_the_auto_renewal(
    database: Database,
) -> None:
    account = await make_account(database)
    late = {
        "start_date": date(2025, 5, 20),
        "end_date": date(2026, 5, 20),
        "notice_period_days": 30,
        "cancellation_notice_on": date(2026, 5, 1),
        "cancellation_reason": "price",
        "cancellation_notice_late": True,
    }
    renews = await make_contract(database, account, auto_renew=True, **late)
    by_hand = await make_contract(database, account, **late)
    in_time = await make_contract(database, account, **(late | {"cancellation_notice_late": False}))

    result = await sweep(database, AS_OF, time=TIME, currency="USD")

    assert (result.renewals, result.churns) == (1, 1)
    renewed = await _contract(database, renews.id)
    assert (renewed.status, renewed.end_date, len(renewed.terms)) == (
        "active",
        date(2027, 5, 20),
        2,
    )
    assert (renewed.cancellation_notice_on, renewed.cancellation_notice_late) == (None, False)
    untouched = await _contract(database, by_hand.id)
    assert (untouched.status, untouched.end_date, untouched.cancellation_notice_late) == (
        "active",
        date(2026, 5, 20),
        True,
    )
    churned = await _contract(database, in_time.id)
    assert (churned.status, churned.churned_on) == ("churned", date(2026, 5, 20))


async def test_newly_overdue_tasks_are_read_through_the_partial_index(database: Database) -> None:
    """The sweep reads the tasks it notes, not every open task: the partial index holds
    only open, unnoted tasks, in due date order. The status is a literal in the SQL
    itself, so a generic prepared plan can match the index's predicate too."""
    query = newly_overdue_tasks(AS_OF, 500, sqlite=database.is_sqlite)
    dialect = database.engine.dialect
    sql = str(query.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    assert "'open'" in str(query.compile(dialect=dialect))
    async with database.read() as session:
        if database.is_sqlite:
            rows = await session.execute(text(f"EXPLAIN QUERY PLAN {sql}"))
            plan = "\n".join(str(row[-1]) for row in rows)
        else:
            await session.execute(text("SET LOCAL enable_seqscan = off"))
            plan = "\n".join((await session.execute(text(f"EXPLAIN {sql}"))).scalars())
    assert "ix_tasks_overdue_unnoted_due_date" in plan
    assert "Sort" not in plan
    assert "TEMP B-TREE" not in plan
