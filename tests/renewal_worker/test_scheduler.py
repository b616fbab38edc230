from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from services.renewal_worker.scheduler import sweep
from services.renewal_worker.term_ends import next_term_end
from shared.db import Database
from shared.models import Checkpoint, Contract
from tests.renewal_worker.helpers import add_checkpoint, outbox
from tests.support.factories import make_account, make_contract

AS_OF = date(2026, 6, 1)
TIME = datetime(2026, 6, 1, tzinfo=UTC)


async def _statuses(db: Database) -> dict[str, str]:
    async with db.read() as session:
        rows = await session.scalars(select(Checkpoint))
        return {row.kind: row.status for row in rows}


async def _contract(db: Database, contract_id: object) -> Contract:
    async with db.read() as session:
        contract = await session.scalar(
            select(Contract).where(Contract.id == contract_id).options(selectinload(Contract.terms))
        )
        assert contract is not None
        return contract


async def test_the_sweep_opens_exactly_the_due_checkpoints_once(database: Database) -> None:
    account = await make_account(database)
    contract = await make_contract(database, account)
    kickoff = await add_checkpoint(
        database, contract, "kickoff", date(2026, 3, 11), due_date=date(2026, 3, 18)
    )
    check = await add_checkpoint(
        database, contract, "implementation_check", AS_OF, due_date=date(2026, 6, 8)
    )
    await add_checkpoint(database, contract, "mid_term_review", date(2026, 9, 6))
    await add_checkpoint(database, contract, "adoption_review", date(2026, 5, 1), status="skipped")

    result = await sweep(database, AS_OF, time=TIME, currency="USD")

    assert result.checkpoints_opened == 2
    assert (result.renewals, result.churns) == (0, 0)
    assert await _statuses(database) == {
        "kickoff": "opened",
        "implementation_check": "opened",
        "mid_term_review": "planned",
        "adoption_review": "skipped",
    }
    rows = await outbox(database)
    assert [row.type for row in rows] == ["checkpoint.due", "checkpoint.due"]
    assert [row.event_id for row in rows] == result.event_ids
    event = rows[0].event
    assert rows[0].partition_key == str(account.id)
    assert rows[0].source == "urn:renewals:scheduler"
    assert {k: event[k] for k in ("source", "subject", "actor", "dataschema", "time")} == {
        "source": "urn:renewals:scheduler",
        "subject": str(kickoff.id),
        "actor": "scheduler",
        "dataschema": "urn:renewals:checkpoint:1",
        "time": TIME.isoformat(),
    }
    assert event["data"] == {
        "id": str(kickoff.id),
        "contract_id": str(contract.id),
        "account_id": str(account.id),
        "term": 1,
        "kind": "kickoff",
        "ordinal": 0,
        "due_date": "2026-03-18",
        "opens_on": "2026-03-11",
        "status": "opened",
    }
    assert rows[1].subject == str(check.id)

    again = await sweep(database, AS_OF, time=TIME, currency="USD")
    assert again.checkpoints_opened == 0
    assert again.event_ids == []
    assert len(await outbox(database)) == 2


async def test_the_sweep_works_through_more_due_checkpoints_than_one_batch(
    database: Database,
) -> None:
    account = await make_account(database)
    contract = await make_contract(database, account)
    for n in range(7):
        await add_checkpoint(database, contract, f"kind_{n}", date(2026, 5, n + 1))
    result = await sweep(database, AS_OF, time=TIME, batch_size=3, currency="USD")
    assert result.checkpoints_opened == 7
    assert len(set(result.event_ids)) == 7
    assert set((await _statuses(database)).values()) == {"opened"}


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (date(2026, 3, 15), date(2027, 3, 15), date(2028, 3, 15)),  # a year
        (date(2026, 1, 15), date(2026, 4, 15), date(2026, 7, 15)),  # a quarter
        (date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31)),  # month ends stay month ends
        (date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30)),
        (date(2026, 1, 30), date(2026, 2, 28), date(2026, 3, 30)),  # the 30th, clamped once
        (date(2028, 2, 29), date(2029, 2, 28), date(2030, 2, 28)),
        (date(2026, 1, 15), date(2026, 4, 10), date(2026, 7, 4)),  # 85 days
        (date(2026, 1, 1), date(2026, 1, 15), date(2026, 1, 29)),  # 14 days
    ],
)
def test_a_renewed_term_has_the_same_length(start: date, end: date, expected: date) -> None:
    assert next_term_end(start, end) == expected


async def test_auto_renewing_contracts_renew_at_r_until_r_passes_the_date(
    database: Database,
) -> None:
    account = await make_account(database)
    renewing = await make_contract(
        database,
        account,
        start_date=date(2025, 3, 15),
        end_date=date(2026, 3, 15),
        auto_renew=True,
        arr_minor=1_234_500,
    )
    due_today = await make_contract(
        database, account, start_date=date(2025, 6, 1), end_date=AS_OF, auto_renew=True
    )
    day_later = await make_contract(
        database, account, start_date=date(2025, 6, 2), end_date=date(2026, 6, 2), auto_renew=True
    )
    manual = await make_contract(
        database, account, start_date=date(2025, 3, 15), end_date=date(2026, 3, 15)
    )
    churned = await make_contract(
        database,
        account,
        start_date=date(2025, 3, 15),
        end_date=date(2026, 3, 15),
        auto_renew=True,
        status="churned",
        churned_on=date(2026, 1, 1),
        churn_reason="price",
    )

    result = await sweep(database, date(2028, 4, 1), time=TIME, currency="USD")

    renewed = await _contract(database, renewing.id)
    assert renewed.end_date == date(2029, 3, 15)
    assert [(t.number, t.start_date, t.end_date, t.arr_minor) for t in renewed.terms] == [
        (1, date(2025, 3, 15), date(2026, 3, 15), 1_234_500),
        (2, date(2026, 3, 15), date(2027, 3, 15), 1_234_500),
        (3, date(2027, 3, 15), date(2028, 3, 15), 1_234_500),
        (4, date(2028, 3, 15), date(2029, 3, 15), 1_234_500),
    ]
    assert (await _contract(database, due_today.id)).end_date == date(2028, 6, 1)
    assert (await _contract(database, day_later.id)).end_date == date(2028, 6, 2)
    assert (await _contract(database, manual.id)).end_date == date(2026, 3, 15)
    assert (await _contract(database, churned.id)).end_date == date(2026, 3, 15)
    rows = await outbox(database)
    assert result.renewals == len(rows) == 3 + 2 + 2
    assert {row.type for row in rows} == {"contract.renewed"}
    assert sorted(result.event_ids) == sorted(row.event_id for row in rows)
    mine = [row.event for row in rows if row.subject == str(renewing.id)]
    assert [event["data"]["term"] for event in mine] == [2, 3, 4]
    assert mine[-1]["data"]["arr"] == "12345.00"
    assert mine[-1]["source"] == "urn:renewals:scheduler"
    assert mine[-1]["actor"] == "scheduler"
    assert rows[0].partition_key == str(account.id)

    again = await sweep(database, date(2028, 4, 1), time=TIME, currency="USD")
    assert again.renewals == 0


async def test_a_pending_notice_churns_the_contract_at_r_instead_of_renewing(
    database: Database,
) -> None:
    account = await make_account(database)
    noticed = await make_contract(
        database,
        account,
        start_date=date(2025, 6, 1),
        end_date=date(2026, 5, 20),
        auto_renew=True,
        cancellation_notice_on=date(2026, 2, 1),
        cancellation_reason="competitor",
    )
    no_reason = await make_contract(
        database,
        account,
        start_date=date(2025, 6, 1),
        end_date=AS_OF,
        cancellation_notice_on=date(2026, 2, 1),
    )
    later = await make_contract(
        database,
        account,
        start_date=date(2025, 6, 1),
        end_date=date(2026, 7, 1),
        cancellation_notice_on=date(2026, 2, 1),
    )

    result = await sweep(database, AS_OF, time=TIME, currency="USD")

    assert (result.churns, result.renewals) == (2, 0)
    first = await _contract(database, noticed.id)
    assert (first.status, first.churned_on, first.churn_reason) == (
        "churned",
        date(2026, 5, 20),
        "competitor",
    )
    assert len(first.terms) == 1
    second = await _contract(database, no_reason.id)
    assert (second.status, second.churned_on, second.churn_reason) == ("churned", AS_OF, "other")
    assert (await _contract(database, later.id)).status == "active"
    rows = await outbox(database)
    assert [row.type for row in rows] == ["contract.churned", "contract.churned"]
    assert {row.subject for row in rows} == {str(noticed.id), str(no_reason.id)}
    assert rows[0].event["actor"] == "scheduler"

    assert (await sweep(database, AS_OF, time=TIME, currency="USD")).churns == 0


async def test_concurrent_sweeps_open_each_checkpoint_once(database: Database, db_url: str) -> None:
    account = await make_account(database)
    contract = await make_contract(database, account)
    for n in range(30):
        await add_checkpoint(database, contract, f"kind_{n}", date(2026, 5, 1))
    other = Database(db_url)
    try:
        results = await asyncio.gather(
            sweep(database, AS_OF, time=TIME, batch_size=4, currency="USD"),
            sweep(other, AS_OF, time=TIME, batch_size=4, currency="USD"),
        )
    finally:
        await other.dispose()
    assert sum(result.checkpoints_opened for result in results) == 30
    rows = await outbox(database)
    assert len(rows) == 30
    assert len({row.subject for row in rows}) == 30
