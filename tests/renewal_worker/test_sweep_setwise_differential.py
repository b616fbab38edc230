"""The sweep's set-wise renewals and churns at R write what renewing and churning one
contract after the other through the contract service writes.

The demo portfolio is loaded and its lifecycle events applied by the worker (which plans
every contract's checkpoints); some contracts at R get a cancellation notice in time
(auto-renewing ones: no renewal; the others: a churn at R), some a late one (they renew
anyway). The database is copied, and a sweep far enough ahead that some contracts renew
twice runs on both copies: on one, contracts at R go through `renew_contract` and
`churn_contract` one at a time, each in its savepoint (the sweep before it went
set-wise); on the other through `term_ends` as it is. Every table the sweep writes is
then compared row for row.

Left out, because the two paths cannot make them equal: generated ids (terms are
matched by (contract, number), forecasts by (contract, term), events by their place in
their stream), the contracts' `updated_at`, a wall-clock time, in the rows and in the
events' snapshots, and the order of notifications of different contracts: a contract
renewed twice in one sweep has its forecast refreshed after each renewal, which the
set-wise path does in rounds (every contract's first renewal, then the second ones), so
only each contract's own notifications keep their order. Lifecycle events keep the
order of one contract after the other.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.demo.generator import generate
from services.demo.load import context_on, load
from services.renewal_worker import scheduler
from services.renewal_worker.scheduler import SweepResult, sweep
from services.renewal_worker.sources import step
from services.renewal_worker.term_ends import next_term_end
from shared.db import Database
from shared.domain.context import Context
from shared.domain.contracts.derived import current_term
from shared.domain.contracts.schemas import CancellationNotice, ContractChurn, ContractRenewal
from shared.domain.contracts.service import (
    churn_contract,
    get_contract,
    notice_cancellation,
    renew_contract,
)
from shared.domain.errors import DomainError
from shared.enums import ChurnReason, ContractStatus
from shared.events.types import SOURCE_SCHEDULER, Stream
from shared.models import (
    Checkpoint,
    Contract,
    ContractForecast,
    ContractTerm,
    EventLogEntry,
    OutboxEvent,
)
from shared.money import from_minor
from tests.renewal_worker.helpers import take_lifecycle_events
from tests.support.databases import database_copy

ACCOUNTS = 40
SEED = 20_261_204
AS_OF = date(2026, 1, 5)
SWEEP_DAY = AS_OF + timedelta(days=420)
SWEEP_TIME = datetime(2027, 3, 1, 6, 0, tzinfo=UTC)
BATCH = 7
"""Small, so contracts at R span several batches."""
CURRENCY = "USD"
_SNAPSHOTS = {"contract.created", "contract.updated", "contract.renewed", "contract.churned",
              "contract.cancellation_noticed", "contract.cancellation_withdrawn"}  # fmt: skip


@pytest.fixture
async def two_copies(
    db_url: str, request: pytest.FixtureRequest
) -> AsyncIterator[tuple[Database, Database]]:
    seeded = Database(db_url)
    try:
        await _portfolio_with_notices(seeded)
    finally:
        await seeded.dispose()
    async with database_copy(request, db_url) as copy_url:
        one_by_one, setwise = Database(db_url), Database(copy_url)
        try:
            yield one_by_one, setwise
        finally:
            await one_by_one.dispose()
            await setwise.dispose()


async def _portfolio_with_notices(db: Database) -> None:
    portfolio = generate(ACCOUNTS, SEED, AS_OF)
    await load(db, portfolio, CURRENCY)
    events = await take_lifecycle_events(db)
    async with db.transaction() as session:
        await step.apply_batch(session, events, currency=CURRENCY)
    ctx = context_on(AS_OF, CURRENCY)
    async with db.transaction() as session:
        at_r = list(
            await session.scalars(
                select(Contract).where(Contract.end_date <= SWEEP_DAY).order_by(Contract.id)
            )
        )
        for n, contract in enumerate(at_r):
            if n % 3 == 2:
                continue
            lead = contract.notice_period_days + 5 if n % 3 == 0 else 0
            received = max(AS_OF, contract.end_date - timedelta(days=lead))
            reason = list(ChurnReason)[n % len(ChurnReason)]
            body = CancellationNotice(received_on=received, reason=reason)
            await notice_cancellation(session, ctx, contract.id, body)


# --- contract by contract, through the contract service -------------------------------


async def _renew_one(
    session: AsyncSession, ctx: Context, contract_id: uuid.UUID, result: SweepResult
) -> None:
    contract = await get_contract(session, contract_id, lock=True)
    while (
        contract.status != ContractStatus.CHURNED
        and contract.auto_renew
        and (contract.cancellation_notice_on is None or contract.cancellation_notice_late)
        and contract.end_date <= SWEEP_DAY
    ):
        term = current_term(contract.terms)
        body = ContractRenewal(
            end_date=next_term_end(term.start_date, term.end_date),
            arr=from_minor(contract.arr_minor, ctx.currency),
        )
        contract = await renew_contract(session, ctx, contract.id, body)
        result.renewals += 1


async def _churn_one(
    session: AsyncSession, ctx: Context, contract_id: uuid.UUID, result: SweepResult
) -> None:
    contract = await get_contract(session, contract_id, lock=True)
    reason = (
        ChurnReason(contract.cancellation_reason)
        if contract.cancellation_reason in set(ChurnReason)
        else ChurnReason.OTHER
    )
    body = ContractChurn(reason=reason, churned_on=contract.end_date)
    await churn_contract(session, ctx, contract.id, body)
    result.churns += 1


async def _one_by_one(
    db: Database,
    ctx: Context,
    as_of: date,
    batch_size: int,
    result: SweepResult,
    *,
    noticed: bool,
) -> None:
    """The contracts at R as the sweep changed them before it went set-wise."""
    notice, late = Contract.cancellation_notice_on, Contract.cancellation_notice_late
    query = select(Contract.id).where(
        Contract.status != ContractStatus.CHURNED,
        Contract.end_date <= as_of,
        notice.is_not(None) & late.is_(False)
        if noticed
        else (notice.is_(None) | late.is_(True)) & Contract.auto_renew.is_(True),
    )
    async with db.transaction() as session:
        for contract_id in list(await session.scalars(query.order_by(Contract.id))):
            try:
                async with session.begin_nested():
                    change = _churn_one if noticed else _renew_one
                    await change(session, ctx, contract_id, result)
            except (DomainError, ValidationError):
                continue


# --- what the sweep wrote -------------------------------------------------------------


def _columns(table: Any, row: Any, leave_out: set[str]) -> dict[str, Any]:
    return {
        name: getattr(row, name)
        for name in table.__table__.columns.keys()  # noqa: SIM118 (a ColumnCollection)
        if name not in leave_out
    }


def _data(type: str, data: dict[str, Any]) -> dict[str, Any]:
    """An event's data without the contract snapshot's wall-clock `updated_at`."""
    if type in _SNAPSHOTS:
        return {k: v for k, v in data.items() if k != "updated_at"}
    return data


def _event(event: dict[str, Any]) -> dict[str, Any]:
    """The event without its id."""
    others = {k: v for k, v in event.items() if k not in {"id", "data"}}
    return others | {"data": _data(event["type"], event["data"])}


async def _written(db: Database) -> dict[str, Any]:
    async with db.read() as session:
        contracts = sorted(
            (str(c.id), _columns(Contract, c, {"id", "updated_at"}))
            for c in await session.scalars(select(Contract))
        )
        terms = sorted(
            (str(t.contract_id), t.number, _columns(ContractTerm, t, {"id", "contract_id"}))
            for t in await session.scalars(select(ContractTerm))
        )
        forecasts = sorted(
            (str(f.contract_id), f.term, _columns(ContractForecast, f, {"id", "contract_id"}))
            for f in await session.scalars(select(ContractForecast))
        )
        checkpoints = sorted(
            (str(cp.contract_id), cp.term, cp.kind, cp.ordinal, cp.status)
            for cp in await session.scalars(select(Checkpoint))
        )
        outbox: dict[str, list[Any]] = {}
        for row in await session.scalars(select(OutboxEvent).order_by(OutboxEvent.id)):
            outbox.setdefault(row.stream, []).append(
                (row.type, row.source, row.subject, row.partition_key, _event(row.event))
            )
        log = [
            (e.type, e.time, e.actor, e.account_id, e.contract_id, e.subject, _data(e.type, e.data))
            for e in await session.scalars(select(EventLogEntry).order_by(EventLogEntry.id))
        ]
    notifications = outbox.pop(str(Stream.NOTIFICATIONS), [])
    return {
        "lifecycle": outbox.pop(str(Stream.LIFECYCLE)),
        "notifications": {
            subject: [row for row in notifications if row[2] == subject]
            for subject in sorted({row[2] for row in notifications})
        },
        "other_streams": outbox,
        "contracts": contracts,
        "terms": terms,
        "forecasts": forecasts,
        "checkpoints": checkpoints,
        "event_log": log,
    }


def _counts(result: SweepResult) -> tuple[int, ...]:
    return (
        result.checkpoints_opened,
        result.markers_reached,
        result.overdue_tasks_noted,
        result.renewals,
        result.churns,
    )


@pytest.mark.slow
async def test_setwise_renewals_and_churns_write_what_the_contract_service_writes(
    two_copies: tuple[Database, Database], monkeypatch: pytest.MonkeyPatch
) -> None:
    one_by_one, setwise = two_copies
    by_batch = await sweep(setwise, SWEEP_DAY, time=SWEEP_TIME, batch_size=BATCH, currency=CURRENCY)
    monkeypatch.setattr(scheduler, "contracts_at_renewal", _one_by_one)
    by_contract = await sweep(
        one_by_one, SWEEP_DAY, time=SWEEP_TIME, batch_size=BATCH, currency=CURRENCY
    )

    assert _counts(by_batch) == _counts(by_contract)
    assert by_batch.renewals > BATCH
    assert by_batch.churns > 1
    assert by_batch.checkpoints_opened > 0
    written = await _written(setwise)
    assert written == await _written(one_by_one)
    lifecycle = written["lifecycle"]
    swept = [row for row in lifecycle if row[1] == SOURCE_SCHEDULER]
    assert len(by_batch.event_ids) == len(swept), "the sweep answers every event's id"
    renewed = [row[2] for row in lifecycle if row[0] == "contract.renewed"]
    assert len(set(renewed)) < len(renewed), "some contract should renew twice in the sweep"
    types = {row[0] for row in lifecycle}
    assert {"checkpoint.due", "contract.renewed", "contract.churned"} <= types
