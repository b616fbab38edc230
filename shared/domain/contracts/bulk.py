"""Renewals and churns of many contracts at once, for the scheduler's sweep: the same
`renew` and `churn` as the contract service, applied to contracts read with plain Core
queries and never added to the session, their rows written with a few statements per
batch instead of about ten round trips per contract. What they write is what the
service writes for each contract: the term rows, the contract's columns, the refreshed
forecasts and the lifecycle event with the contract's snapshot."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Row, Table, bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.domain.context import Context
from shared.domain.contracts.service import event_data
from shared.domain.forecast.service import refresh_forecasts
from shared.events.outbox import Emission, emit_many
from shared.events.types import EventType, dataschema
from shared.models import Contract, ContractTerm

CONTRACTS = cast(Table, Contract.__table__)
TERMS = cast(Table, ContractTerm.__table__)
RENEWED = ("end_date", "arr_minor", "seats", "cancellation_notice_on", "cancellation_reason",
            "cancellation_notice_late")  # fmt: skip
CHURNED = ("status", "churned_on", "churn_reason")


def _update(columns: Sequence[str]) -> Any:
    return (
        update(CONTRACTS)
        .where(CONTRACTS.c.id == bindparam("b_id"))
        .values({name: bindparam(name) for name in (*columns, "updated_at")})
    )


_RENEW_UPDATE = _update(RENEWED)
_CHURN_UPDATE = _update(CHURNED)
_TERM_INSERT = insert(TERMS)


@dataclass(frozen=True, slots=True)
class Changed:
    """One change of one contract: its columns right after the change and the data of
    its event, both taken at once, as the contract may change again in the same sweep."""

    contract: Contract
    values: dict[str, Any]
    data: dict[str, Any]
    term: dict[str, Any] | None = None


async def detached(session: AsyncSession, rows: Sequence[Row[Any]]) -> list[Contract]:
    """Contracts built from their rows (every column), with their terms read in one
    query, in the order of `rows`. Not added to the session: `renew` and `churn` change
    them in memory and the caller writes the rows."""
    ids = [row.id for row in rows]
    terms: dict[uuid.UUID, list[ContractTerm]] = {id_: [] for id_ in ids}
    if ids:
        query = select(*TERMS.c).where(TERMS.c.contract_id.in_(ids)).order_by(TERMS.c.number)
        for term in await session.execute(query):
            terms[term.contract_id].append(ContractTerm(**term._mapping))
    return [Contract(**row._mapping, terms=terms[row.id]) for row in rows]


def changed(
    contract: Contract,
    ctx: Context,
    now: datetime,
    columns: Sequence[str],
    term: ContractTerm | None = None,
) -> Changed:
    """The change just made to `contract` (by `renew`, which answers the new `term`, or
    `churn`), as its rows and event will show it; `now` is the contract's `updated_at`,
    as a flush would set it."""
    contract.updated_at = now
    values = {name: getattr(contract, name) for name in (*columns, "updated_at")}
    term_row = None
    if term is not None:
        term_row = {
            "contract_id": contract.id,
            "number": term.number,
            "start_date": term.start_date,
            "end_date": term.end_date,
            "arr_minor": term.arr_minor,
        }
    return Changed(contract, values, event_data(contract, ctx), term_row)


async def write_renewals(
    session: AsyncSession, ctx: Context, renewals: Sequence[Sequence[Changed]]
) -> list[str]:
    """Writes each contract's renewals (`renewals[n]`, in order) and emits their
    `contract.renewed` events, in contract order then renewal order, as renewing one
    contract after the other would. A contract renewed twice refreshes its forecasts after
    each renewal, as the service does, so the term in between is settled too: the rows
    are written in rounds, the n-th renewal of every contract in round n. Answers the
    events' ids."""
    rounds = max((len(items) for items in renewals), default=0)
    for n in range(rounds):
        batch = [items[n] for items in renewals if len(items) > n]
        await session.execute(_TERM_INSERT, [item.term for item in batch if item.term])
        await _write(session, ctx, _RENEW_UPDATE, batch)
    return await _emit(
        session, ctx, EventType.CONTRACT_RENEWED, [item for items in renewals for item in items]
    )


async def write_churns(session: AsyncSession, ctx: Context, churns: Sequence[Changed]) -> list[str]:
    """Writes the churned contracts and emits their `contract.churned` events."""
    if churns:
        await _write(session, ctx, _CHURN_UPDATE, churns)
    return await _emit(session, ctx, EventType.CONTRACT_CHURNED, churns)


async def _write(
    session: AsyncSession, ctx: Context, statement: Any, batch: Sequence[Changed]
) -> None:
    """One UPDATE by id for the batch, then its forecasts refreshed as the service does
    after each change. The refresh loads the contracts into the session; they are let go
    after it, so the next round reads what this one wrote."""
    await session.execute(statement, [{"b_id": item.contract.id, **item.values} for item in batch])
    await refresh_forecasts(session, ctx, [item.contract.id for item in batch])
    session.expunge_all()


async def _emit(
    session: AsyncSession, ctx: Context, type: EventType, changes: Sequence[Changed]
) -> list[str]:
    events = await emit_many(
        session,
        [
            Emission(str(item.contract.id), str(item.contract.account_id), item.data)
            for item in changes
        ],
        type=type,
        source=ctx.source,
        dataschema=dataschema("contract"),
        actor=ctx.actor,
        time=ctx.time,
    )
    return [event["id"] for event in events]
