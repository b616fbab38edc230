"""`usage.reported` events received in bulk, written with statements built once.

Clients send usage at volume. Through `report_usage` every report cost three ORM objects
(the report, its outbox event, its event-log row) and a unit of work to flush them,
most of a batch's CPU. Here a run of new usage events is checked in order with the
same rules and the same errors as `report_usage`, and written at once: on Postgres one
statement for the three tables, `INSERT … SELECT FROM unnest(…)` sent as the driver's
SQL (no compilation, no bind processing, one round trip; errors still come wrapped, so
a dropped connection is a 503 as anywhere else); on SQLite a multi-row Core INSERT per
table. The rows are the ones `report_usage` writes
(`tests/api/ingest/test_lean_differential.py` compares them).
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
from shared.domain.context import Context
from shared.domain.errors import DomainError, NotFound, field_name
from shared.domain.external_ids import resolve
from shared.domain.usage.schemas import UsageCreate
from shared.domain.usage.service import check_as_of
from shared.events.outbox import (
    OUTBOX_CHANNEL,
    Prepared,
    insert_prepared,
    note_outbox_write,
    prepare,
)
from shared.events.types import EventType, dataschema
from shared.ids import new_ids
from shared.models import Contract, UsageReport

USAGE_SCHEMA = dataschema("usage")

_CONTRACTS = Contract.__table__.c
_ACCOUNTS_OF = select(_CONTRACTS.id, _CONTRACTS.account_id).where(
    _CONTRACTS.id.in_(bindparam("contract_ids", expanding=True))
)
_USAGE = cast(Table, UsageReport.__table__)
_INSERT_USAGE = insert(_USAGE)

_PG_ACCOUNTS_OF = "SELECT id, account_id FROM contracts WHERE id = any($1::uuid[])"
_PG_INSERT_ROWS = """
WITH usage AS (
  INSERT INTO usage_reports (id, contract_id, active_users, seats, as_of, created_at)
  SELECT id, contract_id, active_users, seats, as_of, $6
  FROM unnest($1::uuid[], $2::uuid[], $3::int4[], $4::int4[], $5::date[])
    AS row (id, contract_id, active_users, seats, as_of)
), outbox AS (
  INSERT INTO outbox (stream, event_id, source, type, subject, partition_key, event, created_at)
  SELECT $16, event_id, $7, $17, subject, partition_key, event, $6
  FROM unnest($8::text[], $9::text[], $10::text[], $11::jsonb[]) WITH ORDINALITY
    AS row (event_id, subject, partition_key, event, position)
  ORDER BY position
), log AS (
  INSERT INTO event_log (event_id, type, time, actor, account_id, contract_id, subject, data)
  SELECT event_id, $17, time, $12, account_id, contract_id, subject, data
  FROM unnest($8::text[], $13::timestamptz[], $14::uuid[], $2::uuid[], $9::text[],
              $15::jsonb[])
    AS row (event_id, time, account_id, contract_id, subject, data)
)
SELECT pg_notify($18, '')
"""
"""One statement and one round trip for the three tables, whatever the count; asyncpg
keeps it prepared. Every usage event is on the lifecycle stream, so each has its
event-log row, of the report's contract ($2). The outbox rows are inserted in order, so
their ids follow the events as the ORM's inserts would. The statement also wakes the
relay (`pg_notify`), which saves the commit's NOTIFY its round trip."""


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
    session: AsyncSession, postgres: bool, contract_ids: set[uuid.UUID]
) -> dict[uuid.UUID, uuid.UUID]:
    if postgres:
        connection = await session.connection()
        rows = await connection.exec_driver_sql(_PG_ACCOUNTS_OF, (list(contract_ids),))
        return dict(cast(list[tuple[uuid.UUID, uuid.UUID]], rows.all()))
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
    postgres = session.get_bind().dialect.name == "postgresql"
    contract_ids = await _contracts(session, events)
    accounts = await _accounts(session, postgres, {id_ for id_ in contract_ids if id_})
    now = utcnow()
    created_at = _json_time(now)
    reports: list[dict[str, Any]] = []
    prepared: list[Prepared] = []
    ids = new_ids(2 * len(events))
    for index, (event, contract_id) in enumerate(zip(events, contract_ids, strict=True)):
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
        report_id, event_id = ids[index], ids[len(events) + index]
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
                event_id=str(event_id),
            )
        )
    if not postgres:
        await session.execute(_INSERT_USAGE, reports)
        await insert_prepared(session, prepared)
        return
    await _write_postgres(session, ctx, reports, prepared, now)
    note_outbox_write(session, notified=True)


async def _write_postgres(
    session: AsyncSession,
    ctx: Context,
    reports: list[dict[str, Any]],
    prepared: list[Prepared],
    now: datetime,
) -> None:
    outbox = [item.outbox for item in prepared]
    logs = [item.log for item in prepared if item.log is not None]
    parameters = (
        *(
            [report[column] for report in reports]
            for column in ("id", "contract_id", "active_users", "seats", "as_of")
        ),
        now,
        ctx.source,
        *([row[column] for row in outbox] for column in ("event_id", "subject", "partition_key")),
        [dumps(row["event"]).decode() for row in outbox],
        ctx.actor,
        [row["time"] for row in logs],
        [row["account_id"] for row in logs],
        [dumps(row["data"]).decode() for row in logs],
        outbox[0]["stream"],
        outbox[0]["type"],
        OUTBOX_CHANNEL,
    )
    connection = await session.connection()
    await connection.exec_driver_sql(_PG_INSERT_ROWS, parameters)
