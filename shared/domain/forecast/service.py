"""The renewal forecast: the engine's proposal for each contract's current term, a
person's override, and `contract.forecast_changed` when either moves the numbers.

The rule is pure (`shared/rules/forecast.py`); here its facts are loaded and its
decisions stored. Whoever changes an input of the rule calls `refresh_forecasts` in the
same transaction: the contract service on every REST or CloudEvent change, the task
service when a person closes a task, the worker after applying a batch.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from shared.domain.amounts import to_minor_or_422
from shared.domain.context import Context
from shared.domain.errors import NotFound
from shared.domain.forecast.schemas import ForecastOverride, ForecastRead
from shared.enums import ContractStatus, TaskStatus
from shared.events.outbox import emit
from shared.events.types import EventType, Stream, dataschema
from shared.models import Contract, ContractForecast, ContractTerm, Task
from shared.money import format_minor
from shared.rules.forecast import (
    ENGINE,
    Forecast,
    ForecastCategory,
    Stored,
    TermFacts,
    propose,
    settle,
)

OUTREACH, EXPANSION = "renewal_outreach", "expansion_opportunity"


@dataclass(frozen=True, slots=True)
class _Term:
    """A term the forecast covers, with what the rule needs to know about it."""

    contract: Contract
    term: ContractTerm
    facts: TermFacts


async def _load_contracts(
    session: AsyncSession, contract_ids: Iterable[uuid.UUID], *, lock: bool = False
) -> Sequence[Contract]:
    """The contracts with their terms, in id order. `lock` takes their row locks on
    Postgres (in that order, so two writers never wait on each other crosswise): two
    transactions forecasting one term for the first time would otherwise both insert
    its row, and one would fail on the unique (contract, term)."""
    ids = sorted(set(contract_ids))
    if not ids:
        return []
    query = (
        select(Contract)
        .where(Contract.id.in_(ids))
        .options(selectinload(Contract.terms))
        .order_by(Contract.id)
    )
    return (await session.scalars(query.with_for_update(of=Contract) if lock else query)).all()


async def _done_tasks(
    session: AsyncSession, contract_ids: Sequence[uuid.UUID]
) -> tuple[set[tuple[uuid.UUID, int]], dict[tuple[uuid.UUID, int], int]]:
    """Terms whose renewal outreach is done, and the expansion ARR recorded last on each
    term (by closing time, then id)."""
    rows = await session.execute(
        select(Task.contract_id, Task.term, Task.kind, Task.expected_arr_minor)
        .where(
            Task.contract_id.in_(contract_ids),
            Task.status == TaskStatus.DONE,
            Task.kind.in_((OUTREACH, EXPANSION)),
        )
        .order_by(Task.closed_at, Task.id)
    )
    outreach: set[tuple[uuid.UUID, int]] = set()
    expansion: dict[tuple[uuid.UUID, int], int] = {}
    for contract_id, term, kind, expected in rows:
        if kind == OUTREACH:
            outreach.add((contract_id, term))
        elif expected is not None:
            expansion[contract_id, term] = expected
    return outreach, expansion


async def _terms(session: AsyncSession, contracts: Sequence[Contract]) -> list[_Term]:
    """Each contract's current term and, once renewed, the term before it: the renewal
    settles that one as `renewed`. Older terms were settled when they were renewed."""
    outreach, expansion = await _done_tasks(session, [c.id for c in contracts])
    terms: list[_Term] = []
    for contract in contracts:
        ordered = sorted(contract.terms, key=lambda t: t.number)
        current = ordered[-1]
        if len(ordered) > 1:
            previous = ordered[-2]
            terms.append(
                _Term(contract, previous, _facts(contract, previous, current, outreach, expansion))
            )
        terms.append(_Term(contract, current, _facts(contract, current, None, outreach, expansion)))
    return terms


def _facts(
    contract: Contract,
    term: ContractTerm,
    successor: ContractTerm | None,
    outreach: set[tuple[uuid.UUID, int]],
    expansion: dict[tuple[uuid.UUID, int], int],
) -> TermFacts:
    return TermFacts(
        arr_minor=term.arr_minor,
        health_band=contract.health_band,
        outreach_done=(contract.id, term.number) in outreach,
        cancellation_pending=contract.cancellation_notice_on is not None,
        churned=contract.status == ContractStatus.CHURNED,
        successor_arr_minor=successor.arr_minor if successor is not None else None,
        expansion_arr_minor=expansion.get((contract.id, term.number)),
    )


async def _stored(
    session: AsyncSession, contract_ids: Sequence[uuid.UUID]
) -> dict[tuple[uuid.UUID, int], ContractForecast]:
    rows = await session.scalars(
        select(ContractForecast).where(ContractForecast.contract_id.in_(contract_ids))
    )
    return {(row.contract_id, row.term): row for row in rows}


def _as_stored(row: ContractForecast) -> Stored:
    return Stored(
        Forecast(ForecastCategory(row.category), row.expected_arr_minor), overridden=row.overridden
    )


def forecast_read(row: ContractForecast, term: ContractTerm, currency: str) -> ForecastRead:
    return ForecastRead(
        contract_id=row.contract_id,
        term=row.term,
        renewal_date=term.end_date,
        arr=format_minor(term.arr_minor, currency),
        category=ForecastCategory(row.category),
        expected_arr=format_minor(row.expected_arr_minor, currency),
        set_by=row.set_by,
        note=row.note,
        overridden=row.overridden,
        updated_at=row.updated_at,
    )


def _emit_changed(
    session: AsyncSession,
    ctx: Context,
    contract: Contract,
    term: ContractTerm,
    row: ContractForecast,
    old: Forecast,
) -> None:
    """`contract.forecast_changed`, keyed by account like every event of a customer,
    with the partner so webhook subscriptions can filter on it."""
    data: dict[str, Any] = {
        "contract_id": str(contract.id),
        "account_id": str(contract.account_id),
        "partner_id": str(contract.partner_id) if contract.partner_id else None,
        "old": {
            "category": str(old.category),
            "expected_arr": format_minor(old.expected_arr_minor, ctx.currency),
        },
        "new": forecast_read(row, term, ctx.currency).model_dump(mode="json"),
    }
    emit(
        session,
        type=EventType.CONTRACT_FORECAST_CHANGED,
        source=ctx.source,
        subject=str(contract.id),
        partition_key=str(contract.account_id),
        data=data,
        dataschema=dataschema("forecast"),
        actor=ctx.actor,
        time=ctx.time,
        stream=Stream.NOTIFICATIONS,
    )


def _write(
    session: AsyncSession,
    ctx: Context,
    item: _Term,
    row: ContractForecast | None,
    forecast: Forecast,
    *,
    set_by: str = ENGINE,
    note: str | None = None,
    overridden: bool = False,
) -> ContractForecast:
    """Stores `forecast` for the term and emits the notification when its category or
    expected ARR differ from what was stored (a note alone is no change). A term's first
    forecast is no change: `contract.created` or `contract.renewed` announce the term."""
    old = _as_stored(row).forecast if row is not None else None
    if row is None:
        row = ContractForecast(contract_id=item.contract.id, term=item.term.number)
        session.add(row)
    row.category = forecast.category
    row.expected_arr_minor = forecast.expected_arr_minor
    row.set_by, row.note, row.overridden, row.updated_at = set_by, note, overridden, ctx.time
    if old is not None and old != forecast:
        _emit_changed(session, ctx, item.contract, item.term, row, old)
    return row


async def refresh_forecasts(
    session: AsyncSession,
    ctx: Context,
    contract_ids: Iterable[uuid.UUID],
    *,
    times: Mapping[uuid.UUID, datetime] | None = None,
) -> None:
    """Recomputes the engine's proposal for these contracts' current terms (and settles
    a just-renewed term as `renewed`), leaving overrides alone; writes only what changed,
    so refreshing twice emits nothing the second time. Unknown ids are skipped. `times`
    gives a contract's change its own time instead of `ctx.time` (the worker refreshes a
    batch's contracts at once, each as of the event that changed it)."""
    contracts = await _load_contracts(session, contract_ids, lock=True)
    if not contracts:
        return
    stored = await _stored(session, [c.id for c in contracts])
    for item in await _terms(session, contracts):
        row = stored.get((item.contract.id, item.term.number))
        decision = settle(_as_stored(row) if row is not None else None, item.facts)
        if decision is not None:
            at = (times or {}).get(item.contract.id)
            _write(session, ctx if at is None else replace(ctx, time=at), item, row, decision)
    await session.flush()


async def refresh_page(
    session: AsyncSession, ctx: Context, *, after: uuid.UUID | None, limit: int
) -> uuid.UUID | None:
    """Refreshes the forecasts of up to `limit` contracts following `after` in id order
    (a backfill, one transaction per page); returns the page's last id, None when no
    contract was left."""
    query = select(Contract.id).order_by(Contract.id).limit(limit)
    ids = list(await session.scalars(query.where(Contract.id > after) if after else query))
    await refresh_forecasts(session, ctx, ids)
    return ids[-1] if ids else None


async def _current(
    session: AsyncSession, ctx: Context, contract_id: uuid.UUID
) -> tuple[_Term, ContractForecast]:
    """The contract's current term and its stored forecast, refreshed first so a
    contract the engine has not forecast yet gets its proposal."""
    await refresh_forecasts(session, ctx, [contract_id])
    contracts = await _load_contracts(session, [contract_id])
    if not contracts:
        raise NotFound(f"contract {contract_id} does not exist", field="id")
    item = (await _terms(session, contracts))[-1]
    row = (await _stored(session, [contract_id]))[contract_id, item.term.number]
    return item, row


async def get_forecast(
    session: AsyncSession, contract_id: uuid.UUID, currency: str
) -> ForecastRead:
    """The current term's stored forecast. A contract the engine has not forecast yet
    (one from before forecasts, until it next changes) shows the engine's proposal,
    with no `updated_at`: reads never write."""
    contracts = await _load_contracts(session, [contract_id])
    if not contracts:
        raise NotFound(f"contract {contract_id} does not exist", field="id")
    item = (await _terms(session, contracts))[-1]
    row = (await _stored(session, [contract_id])).get((contract_id, item.term.number))
    if row is not None:
        return forecast_read(row, item.term, currency)
    proposal = propose(item.facts)
    return ForecastRead(
        contract_id=contract_id,
        term=item.term.number,
        renewal_date=item.term.end_date,
        arr=format_minor(item.term.arr_minor, currency),
        category=proposal.category,
        expected_arr=format_minor(proposal.expected_arr_minor, currency),
        set_by=ENGINE,
        note=None,
        overridden=False,
        updated_at=None,
    )


def _expected(body: ForecastOverride, item: _Term, currency: str) -> int:
    """The override's expected ARR in minor units; omitted: 0 for `lost`, otherwise
    what the engine would expect for a term that is not lost."""
    if body.expected_arr is not None:
        return to_minor_or_422(body.expected_arr, currency, field="expected_arr")
    if body.category is ForecastCategory.LOST:
        return 0
    facts = item.facts
    return facts.expansion_arr_minor if facts.expansion_arr_minor is not None else facts.arr_minor


async def override_forecast(
    session: AsyncSession,
    ctx: Context,
    contract_id: uuid.UUID,
    body: ForecastOverride,
    *,
    set_by: str,
) -> ForecastRead:
    """Sets a person's forecast on the current term; the engine leaves it alone until
    it is cleared or the term is renewed."""
    item, row = await _current(session, ctx, contract_id)
    forecast = Forecast(body.category, _expected(body, item, ctx.currency))
    row = _write(session, ctx, item, row, forecast, set_by=set_by, note=body.note, overridden=True)
    await session.flush()
    return forecast_read(row, item.term, ctx.currency)


async def clear_override(
    session: AsyncSession, ctx: Context, contract_id: uuid.UUID
) -> ForecastRead:
    """Hands the current term back to the engine: its proposal applies at once (and is
    notified when it differs from the override). Clearing no override changes nothing."""
    item, row = await _current(session, ctx, contract_id)
    if row.overridden:
        row = _write(session, ctx, item, row, propose(item.facts))
        await session.flush()
    return forecast_read(row, item.term, ctx.currency)
