"""`usage.reported` events received in bulk, written with statements built once.

Clients send usage at volume. Through `report_usage` every report cost three ORM objects
(the report, its outbox event, its event-log row) and a unit of work to flush them,
most of a batch's CPU. Here a run of new usage events is checked in order with the
same rules and the same errors as `report_usage`, and written with one statement per
table: on Postgres an `INSERT … SELECT FROM unnest(…)` on the session's own asyncpg
connection, inside its transaction; on SQLite a multi-row Core INSERT. The rows are the
ones `report_usage` writes (`tests/api/ingest/test_lean_differential.py` compares them).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from orjson import dumps
from sqlalchemy import Table, bindparam, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.clock import utcnow
from shared.db.raw import asyncpg_connection
from shared.domain.context import Context
from shared.domain.errors import DomainError, NotFound, field_name
from shared.domain.external_ids import resolve
from shared.domain.usage.schemas import UsageCreate
from shared.domain.usage.service import check_as_of
from shared.events.outbox import Prepared, insert_prepared, note_outbox_write, prepare
from shared.events.types import EventType, dataschema
from shared.ids import new_id
from shared.models import Contract, UsageReport

USAGE_SCHEMA = dataschema("usage")

_CONTRACTS = Contract.__table__.c
_ACCOUNTS_OF = select(_CONTRACTS.id, _CONTRACTS.account_id).where(
    _CONTRACTS.id.in_(bindparam("contract_ids", expanding=True))
)
_USAGE = cast(Table, UsageReport.__table__)
_INSERT_USAGE = insert(_USAGE)

_PG_ACCOUNTS_OF = "SELECT id, account_id FROM contracts WHERE id = any($1::uuid[])"
_PG_INSERT_USAGE = """
INSERT INTO usage_reports (id, contract_id, active_users, seats, as_of, created_at)
SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::int4[], $4::int4[], $5::date[],
                     $6::timestamptz[])
"""
_PG_INSERT_OUTBOX = """
INSERT INTO outbox (stream, event_id, source, type, subject, partition_key, event, created_at)
SELECT stream, event_id, source, type, subject, partition_key, event, $8
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
            $7::jsonb[]) WITH ORDINALITY
     AS row (stream, event_id, source, type, subject, partition_key, event, position)
ORDER BY position
"""
"""Ordered, so the outbox ids follow the events as the ORM's inserts would."""
_PG_INSERT_LOG = """
INSERT INTO event_log (event_id, type, time, actor, account_id, contract_id, subject, data)
SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[], $5::uuid[],
                     $6::uuid[], $7::text[], $8::jsonb[])
"""


class UsageEvent:
    """A new usage event as checked before its key was recorded: its contract, by id or
    by external ids, its body, and the location errors name it by (`[3].data`)."""

    __slots__ = ("body", "contract", "data_loc", "time")

    def __init__(
        self,
        contract: uuid.UUID | dict[str, Any],
        body: UsageCreate,
        time: datetime,
        data_loc: tuple[Any, ...],
    ) -> None:
        self.contract = contract
        self.body = body
        self.time = time
        self.data_loc = data_loc


def _located(error: DomainError, data_loc: tuple[Any, ...]) -> DomainError:
    error.field = field_name((*data_loc, *([error.field] if error.field else [])))
    return error


async def _contracts(session: AsyncSession, events: Sequence[UsageEvent]) -> list[uuid.UUID | None]:
    """Each event's contract id, external ids resolved as `apply_event` resolves them;
    None where they name no contract (the event's 404, raised in its turn)."""
    return [
        event.contract
        if isinstance(event.contract, uuid.UUID)
        else await resolve(session, "contract", event.contract)
        for event in events
    ]


async def _accounts(
    session: AsyncSession, driver: Any, contract_ids: set[uuid.UUID]
) -> dict[uuid.UUID, uuid.UUID]:
    if driver is not None:
        rows = await driver.fetch(_PG_ACCOUNTS_OF, list(contract_ids))
        return {row[0]: row[1] for row in rows}
    result = await session.execute(_ACCOUNTS_OF, {"contract_ids": list(contract_ids)})
    return {row.id: row.account_id for row in result}


def _json_time(value: datetime) -> str:
    """A UTC timestamp as pydantic writes it into JSON (`…Z`), as `UsageRead` is dumped."""
    return value.isoformat().removesuffix("+00:00") + "Z"


async def write_usage(session: AsyncSession, ctx: Context, events: Sequence[UsageEvent]) -> None:
    """Writes the events' reports, outbox events and event-log rows, in order, after
    anything the session holds pending (a contract created earlier in the same batch).
    The first event that `report_usage` would refuse raises its error, located."""
    if not events:
        return
    await session.flush()
    driver = await asyncpg_connection(session)
    contract_ids = await _contracts(session, events)
    accounts = await _accounts(session, driver, {id_ for id_ in contract_ids if id_})
    now = utcnow()
    created_at = _json_time(now)
    reports: list[dict[str, Any]] = []
    prepared: list[Prepared] = []
    for event, contract_id in zip(events, contract_ids, strict=True):
        body = event.body
        if contract_id is None:
            raise NotFound(
                f"no contract has the external ids {event.contract}",
                field=field_name((*event.data_loc, "contract_external_ids")),
            )
        try:
            check_as_of(event.time, body.as_of)
        except DomainError as exc:
            raise _located(exc, event.data_loc) from None
        account_id = accounts.get(contract_id)
        if account_id is None:
            error = NotFound(f"contract {contract_id} does not exist", field="contract_id")
            raise _located(error, event.data_loc)
        report_id = new_id()
        reports.append(
            {
                "id": report_id,
                "contract_id": contract_id,
                "active_users": body.active_users,
                "seats": body.seats,
                "as_of": body.as_of,
                "created_at": now,
            }
        )
        data = {
            "id": str(report_id),
            "contract_id": str(contract_id),
            "account_id": str(account_id),
            "active_users": body.active_users,
            "seats": body.seats,
            "as_of": body.as_of.isoformat(),
            "created_at": created_at,
        }
        prepared.append(
            prepare(
                type=EventType.USAGE_REPORTED,
                source=ctx.source,
                subject=str(report_id),
                partition_key=str(account_id),
                data=data,
                dataschema=USAGE_SCHEMA,
                actor=ctx.actor,
                time=event.time,
            )
        )
    if driver is None:
        await session.execute(_INSERT_USAGE, reports)
        await insert_prepared(session, prepared)
        return
    await _write_postgres(driver, reports, prepared, now)
    note_outbox_write(session)


async def _write_postgres(
    driver: Any, reports: list[dict[str, Any]], prepared: list[Prepared], now: datetime
) -> None:
    """Three statements whatever the count; asyncpg keeps each one prepared."""
    await driver.execute(
        _PG_INSERT_USAGE,
        *(
            [report[column] for report in reports]
            for column in ("id", "contract_id", "active_users", "seats", "as_of", "created_at")
        ),
    )
    outbox = [item.outbox for item in prepared]
    await driver.execute(
        _PG_INSERT_OUTBOX,
        *(
            [row[column] for row in outbox]
            for column in ("stream", "event_id", "source", "type", "subject", "partition_key")
        ),
        [dumps(row["event"]).decode() for row in outbox],
        now,
    )
    logs = [item.log for item in prepared if item.log is not None]
    await driver.execute(
        _PG_INSERT_LOG,
        *(
            [row[column] for row in logs]
            for column in ("event_id", "type", "time", "actor", "account_id", "contract_id")
        ),
        [row["subject"] for row in logs],
        [dumps(row["data"]).decode() for row in logs],
    )
