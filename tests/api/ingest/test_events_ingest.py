"""`POST /v1/events` and `/v1/events/batch`: dedupe on (`source`, `id`), all-or-nothing
batches, and usage events that write what the REST call writes."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, select

from shared.domain.context import Context
from shared.domain.usage.schemas import UsageCreate
from shared.domain.usage.service import report_usage
from shared.ids import new_id
from shared.models import Contract, InboxKey, OutboxEvent, UsageReport
from tests.support.api import Harness
from tests.support.factories import make_account, make_contract

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def usage(event_id: str, contract_id: object, active_users: int = 40, **fields: Any) -> Any:
    return {
        "specversion": "1.0",
        "id": event_id,
        "source": "urn:crm:test",
        "type": "usage.reported",
        "time": NOW.isoformat(),
        "data": {
            "contract_id": str(contract_id),
            "active_users": active_users,
            "seats": 100,
            "as_of": "2026-11-01",
        },
    } | fields


async def _contract_id(api: Harness) -> str:
    return str((await make_contract(api.db, await make_account(api.db))).id)


async def _active_users(api: Harness) -> list[int]:
    async with api.db.read() as session:
        rows = await session.scalars(select(UsageReport.active_users).order_by(UsageReport.id))
        return list(rows.all())


async def test_a_repeated_event_is_accepted_and_ignored(api: Harness) -> None:
    contract_id = await _contract_id(api)
    first = await api.client.post("/v1/events", json=usage("e1", contract_id, 10))
    again = await api.client.post("/v1/events", json=usage("e1", contract_id, 20))
    other_source = await api.client.post(
        "/v1/events", json=usage("e1", contract_id, 30, source="urn:crm:other")
    )

    assert [r.status_code for r in (first, again, other_source)] == [202, 202, 202]
    assert [r.json() for r in (first, again, other_source)] == [
        {"id": "e1", "duplicate": False},
        {"id": "e1", "duplicate": True},
        {"id": "e1", "duplicate": False},
    ]
    assert await _active_users(api) == [10, 30]
    assert len(await api.events("usage.reported")) == 2


async def test_a_repeat_whose_data_breaks_its_types_schema_is_refused(api: Harness) -> None:
    """The document describes each type's `data`; a repeated key does not make data that
    breaks it acceptable, alone or in a batch, and nothing is written."""
    contract_id = await _contract_id(api)
    await api.client.post("/v1/events", json=usage("e1", contract_id, 10))
    bad = usage("e1", contract_id, 10)
    bad["data"]["seats"] = -1

    alone = await api.client.post("/v1/events", json=bad)
    batch = await api.client.post("/v1/events/batch", json=[usage("e2", contract_id, 20), bad])

    assert [alone.status_code, batch.status_code] == [422, 422], (alone.text, batch.text)
    assert [e["field"] for e in alone.json()["errors"]] == ["data.seats"]
    assert [e["field"] for e in batch.json()["errors"]] == ["[1].data.seats"]
    assert await _active_users(api) == [10]


async def test_the_first_of_repeated_keys_in_a_batch_wins(api: Harness) -> None:
    contract_id = await _contract_id(api)
    await api.client.post("/v1/events", json=usage("seen", contract_id, 1))
    batch = [
        usage("a", contract_id, 10),
        usage("a", contract_id, 20),
        usage("seen", contract_id, 30),
        usage("b", contract_id, 40),
    ]

    response = await api.client.post("/v1/events/batch", json=batch)

    assert response.status_code == 202
    assert response.json() == {
        "accepted": 2,
        "duplicates": 2,
        "items": [
            {"id": "a", "duplicate": False},
            {"id": "a", "duplicate": True},
            {"id": "seen", "duplicate": True},
            {"id": "b", "duplicate": False},
        ],
    }
    assert await _active_users(api) == [1, 10, 40]


async def test_a_batch_with_a_bad_event_writes_nothing_and_can_be_sent_again(
    api: Harness,
) -> None:
    contract_id = await _contract_id(api)
    unknown = "00000000-0000-7000-8000-000000000000"
    batch = [usage("ok", contract_id), usage("bad", unknown)]

    refused = await api.client.post("/v1/events/batch", json=batch)

    assert refused.status_code == 404
    assert refused.json()["errors"] == [
        {"field": "[1].data.contract_id", "message": f"contract {unknown} does not exist"}
    ]
    assert await api.count(UsageReport) == await api.count(InboxKey) == 0
    assert await api.count(OutboxEvent) == 0
    fixed = await api.client.post("/v1/events/batch", json=batch[:1])
    assert fixed.json()["accepted"] == 1


async def test_concurrent_repeats_apply_once(api: Harness) -> None:
    contract_id = await _contract_id(api)

    answers = await asyncio.gather(
        *(api.client.post("/v1/events", json=usage("same", contract_id, n)) for n in range(5))
    )

    assert [r.status_code for r in answers] == [202] * 5
    assert sorted(r.json()["duplicate"] for r in answers) == [False, True, True, True, True]
    assert len(await _active_users(api)) == 1


async def test_a_usage_event_writes_what_the_rest_call_answers(api: Harness) -> None:
    contract_id = await _contract_id(api)
    await api.client.post("/v1/events", json=usage("e1", contract_id, 42))

    (event,) = await api.events("usage.reported")
    read = await api.client.get(f"/v1/usage/{event['subject']}")

    assert read.status_code == 200
    assert event["data"] == read.json()
    assert event["time"] == NOW.isoformat()
    assert event["data"]["active_users"] == 42


async def test_usage_for_a_contract_not_yet_flushed_is_recorded(api: Harness) -> None:
    """The contract lookup skips the autoflush; a contract still pending in the same unit
    of work must be found anyway."""
    account = await make_account(api.db)
    async with api.db.transaction() as session:
        contract = Contract(
            id=new_id(),
            account_id=account.id,
            start_date=date(2026, 3, 15),
            end_date=date(2027, 3, 15),
            arr_minor=1_000_000,
        )
        session.add(contract)
        ctx = Context(actor="test", currency="EUR", time=NOW)
        body = UsageCreate(active_users=5, seats=10, as_of=date(2026, 11, 1))
        report = await report_usage(session, ctx, contract.id, body)
    assert report.contract_id == contract.id
    async with api.db.read() as session:
        stored = await session.scalar(
            select(func.count())
            .select_from(UsageReport)
            .where(UsageReport.contract_id == contract.id)
        )
        owner = await session.scalar(select(Contract.account_id).where(Contract.id == contract.id))
    assert stored == 1
    assert owner == account.id
