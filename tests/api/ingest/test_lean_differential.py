"""`/v1/events` writes what applying each event through its domain service writes.

Usage events are written together with statements built once (`usage_rows`); the
reference applies the same requests event by event through `apply_event`, which calls
`report_usage` (the ORM path of `POST /v1/contracts/{id}/usage`), recording each key
with the ORM, on a copy of the same database. The requests mix usage events named by
id and by external ids, repeats within and across requests, an event of another type
between usage events, and refused requests (an unknown contract by id and by external
ids, `as_of` too far ahead, a malformed `data`). The answers must be the same (status,
and the fields and messages of a refusal), and so must every table written: usage
reports, the outbox (in order), the event log (in order), the inbox and the accounts.

Left out, because the two paths draw them apart: generated ids (a report is named by
its place in id order, in the outbox's `subject` and `data.id` too), the outbox's and
event log's serial ids, and wall-clock times (`created_at`, `updated_at`,
`processed_at`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from shared.db import Database
from shared.domain.context import Context
from shared.domain.errors import DomainError, InputErrors, field_name
from shared.domain.ingest import service
from shared.models import (
    Account,
    ApiKey,
    EventLogEntry,
    ExternalRef,
    InboxKey,
    OutboxEvent,
    UsageReport,
)
from tests.support.api import Harness, open_harness
from tests.support.databases import database_copy
from tests.support.factories import make_account, make_contract

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
UNKNOWN = "00000000-0000-7000-8000-000000000000"


def _usage(
    event_id: str,
    contract: str | dict[str, str],
    users: int,
    envelope: dict[str, str] | None = None,
    **data: Any,
) -> Any:
    named = (
        {"contract_id": contract}
        if isinstance(contract, str)
        else {"contract_external_ids": contract}
    )
    return {
        "specversion": "1.0",
        "id": event_id,
        "source": "urn:crm:test",
        "type": "usage.reported",
        "time": NOW.isoformat(),
        "data": named | {"active_users": users, "seats": 100, "as_of": "2026-11-01"} | data,
    } | (envelope or {})


def _requests(first: str, second: str, account: str) -> list[Any]:
    """Bodies in the order sent: an object is one event, an array a batch."""
    by_crm = {"crm": "C-2"}
    renamed = {
        "specversion": "1.0",
        "id": "rename",
        "source": "urn:crm:test",
        "type": "account.updated",
        "time": NOW.isoformat(),
        "data": {"id": account, "name": "Renamed Corp"},
    }
    return [
        [_usage("a", first, 10), _usage("b", by_crm, 20), _usage("a", first, 11)],
        _usage("a", first, 12),
        _usage("c", by_crm, 30),
        [_usage("d", first, 40), _usage("e", UNKNOWN, 41)],
        [_usage("d", first, 42), _usage("f", second, 43, as_of="2026-12-25")],
        [_usage("g", {"crm": "nobody"}, 50)],
        _usage("h", first, 60, seats=-1),
        [_usage("d", first, 70), renamed, _usage("i", second, 71), _usage("b", second, 72)],
        [_usage("j", first, 80, {"time": "2026-11-02T23:30:00-05:00"}, as_of="2026-11-03")],
        _usage("a", second, 90, {"source": "urn:crm:other"}),
    ]


async def _reference(db: Database, actor: str, currency: str, body: Any) -> tuple[int, Any]:
    """The request applied event by event through the domain services."""
    try:
        events, batch = service.parse(body)
        async with db.transaction() as session:
            checked = [
                service.check_event(event, (index,) if batch else ())
                for index, event in enumerate(events)
            ]
            items = []
            seen: set[tuple[str, str]] = set()
            for event, shaped in zip(events, checked, strict=True):
                key = (event.source, event.id)
                duplicate = key in seen or await service.already_received(
                    session, service.INBOX_CONSUMER, *key
                )
                if not duplicate:
                    seen.add(key)
                    session.add(
                        InboxKey(consumer=service.INBOX_CONSUMER, source=key[0], event_id=key[1])
                    )
                    await service.apply_event(session, Context(actor, currency, NOW), shaped)
                items.append({"id": event.id, "duplicate": duplicate})
    except InputErrors as exc:
        return exc.status, [
            {"field": field_name(tuple(err["loc"])), "message": err["msg"]} for err in exc.errors
        ]
    except DomainError as exc:
        return exc.status, [{"field": exc.field, "message": exc.detail}]
    if not batch:
        return 202, items[0]
    accepted = sum(not item["duplicate"] for item in items)
    return 202, {"accepted": accepted, "duplicates": len(items) - accepted, "items": items}


async def _sent(api: Harness, body: Any) -> tuple[int, Any]:
    path = "/v1/events/batch" if isinstance(body, list) else "/v1/events"
    response = await api.client.post(path, json=body)
    answer = response.json()
    return response.status_code, answer if response.status_code == 202 else answer["errors"]


async def _written(db: Database) -> dict[str, Any]:
    async with db.read() as session:
        reports = list(await session.scalars(select(UsageReport).order_by(UsageReport.id)))
        place = {str(report.id): f"report {n}" for n, report in enumerate(reports)}

        def named(data: dict[str, Any]) -> dict[str, Any]:
            data = {k: v for k, v in data.items() if k not in {"created_at", "updated_at"}}
            return data | ({"id": place[data["id"]]} if data.get("id") in place else {})

        outbox = [
            (
                row.stream,
                row.source,
                row.type,
                place.get(row.subject or "", row.subject),
                row.partition_key,
                {k: v for k, v in row.event.items() if k not in {"id", "subject", "data"}},
                named(row.event["data"]),
                row.event["id"] == row.event_id,
            )
            for row in await session.scalars(select(OutboxEvent).order_by(OutboxEvent.id))
        ]
        log = [
            (
                row.type,
                row.time,
                row.actor,
                row.account_id,
                row.contract_id,
                place.get(row.subject, row.subject),
                named(row.data),
            )
            for row in await session.scalars(select(EventLogEntry).order_by(EventLogEntry.id))
        ]
        inbox = sorted(
            (key.consumer, key.source, key.event_id)
            for key in await session.scalars(select(InboxKey))
        )
        accounts = sorted(
            (account.id, account.name, account.owner, account.external_ids)
            for account in await session.scalars(select(Account))
        )
    return {
        "usage": [
            (r.contract_id, r.active_users, r.seats, r.as_of, r.created_at is not None)
            for r in reports
        ],
        "outbox": outbox,
        "log": log,
        "inbox": inbox,
        "accounts": accounts,
    }


async def _seed(db: Database) -> tuple[str, str, str]:
    """Two contracts, the second also known as `crm: C-2`, and the first one's account."""
    account = await make_account(db)
    first = await make_contract(db, account)
    second = await make_contract(db, await make_account(db, name="Globex"))
    async with db.transaction() as session:
        session.add(
            ExternalRef(entity_type="contract", system="crm", value="C-2", entity_id=second.id)
        )
    return str(first.id), str(second.id), str(account.id)


@pytest.fixture
async def twins(
    db_url: str, request: pytest.FixtureRequest
) -> AsyncIterator[tuple[Harness, Database, list[Any]]]:
    """The API on the seeded database, a copy of it for the reference, and the requests."""
    seeded = Database(db_url)
    try:
        ids = await _seed(seeded)
    finally:
        await seeded.dispose()
    async with database_copy(request, db_url) as copy_url:
        reference = Database(copy_url)
        try:
            async with open_harness(db_url) as api:
                yield api, reference, _requests(*ids)
        finally:
            await reference.dispose()


async def test_usage_events_write_what_their_domain_service_writes(
    twins: tuple[Harness, Database, list[Any]],
) -> None:
    api, reference, requests = twins
    async with api.db.read() as session:
        actor = str(await session.scalar(select(ApiKey.id)))

    lean = [await _sent(api, body) for body in requests]
    by_event = [
        await _reference(reference, actor, api.settings.currency, body) for body in requests
    ]

    assert lean == by_event
    assert [status for status, _ in lean] == [202, 202, 202, 404, 422, 404, 422, 202, 202, 202]
    written = await _written(api.db)
    assert written == await _written(reference)
    assert len(written["usage"]) == 7
    assert [entry[0] for entry in written["log"]].count("account.updated") == 1
