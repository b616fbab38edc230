"""Contracts whose renewal date R has come, in a sweep: auto-renewals for the same
length and ARR, and churns at R for pending cancellation notices given in time. Both go
through the contract service (`renew_contract`, `churn_contract`), so the term rows and
events are exactly those of `POST /renew` and `/churn`."""

from __future__ import annotations

import calendar
import uuid
from datetime import date
from typing import TYPE_CHECKING, TypeVar

import structlog
from pydantic import ValidationError
from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import Database
from shared.domain.context import Context
from shared.domain.contracts.derived import current_term
from shared.domain.contracts.schemas import ContractChurn, ContractRenewal
from shared.domain.contracts.service import churn_contract, get_contract, renew_contract
from shared.domain.errors import DomainError
from shared.enums import ChurnReason, ContractStatus
from shared.models import Contract, OutboxEvent
from shared.money import from_minor
from shared.rules.calendar import add_months

if TYPE_CHECKING:
    from services.renewal_worker.scheduler import SweepResult

_T = TypeVar("_T")
_log = structlog.get_logger("renewals.scheduler")


def _claim(db: Database, query: Select[_T]) -> Select[_T]:
    """Rows another sweeper is working on are skipped on Postgres; SQLite has one writer."""
    return query.with_for_update(skip_locked=True) if not db.is_sqlite else query


def _anchor_days(day: date) -> range:
    """The days of the month that land on `day` once clamped to the month's length: a
    month's last day stands for every later day too (the 28th of February for the 31st)."""
    last = calendar.monthrange(day.year, day.month)[1]
    return range(day.day, 32) if day.day == last else range(day.day, day.day + 1)


def next_term_end(start: date, end: date) -> date:
    """The end of a term as long as [start, end) that starts at `end`.

    A term of whole calendar months (the same day of the month at both ends, allowing
    for month-end clamping) is extended by as many months, keeping its day: a term
    anchored on the 31st ends on each month's last day, not on a day that drifted to
    the 28th. Any other term is extended by its length in days.
    """
    months = (end.year - start.year) * 12 + end.month - start.month
    common = set(_anchor_days(start)) & set(_anchor_days(end)) if months > 0 else set()
    if not common:
        return end + (end - start)
    first = add_months(end.replace(day=1), months)
    return first.replace(day=min(max(common), calendar.monthrange(first.year, first.month)[1]))


def _new_events(session: AsyncSession, before: set[OutboxEvent]) -> list[str]:
    """Ids of the outbox events added to the session since `before` was taken (services
    add an event after their last flush, so it is still pending here)."""
    return [obj.event_id for obj in _pending_events(session) - before]


def _pending_events(session: AsyncSession) -> set[OutboxEvent]:
    return {obj for obj in session.new if isinstance(obj, OutboxEvent)}


async def _auto_renew(
    session: AsyncSession, ctx: Context, contract_id: uuid.UUID, as_of: date, result: SweepResult
) -> None:
    contract = await get_contract(session, contract_id, lock=True)
    while (
        contract.status != ContractStatus.CHURNED
        and contract.auto_renew
        and (contract.cancellation_notice_on is None or contract.cancellation_notice_late)
        and contract.end_date <= as_of
    ):
        term = current_term(contract.terms)
        body = ContractRenewal(
            end_date=next_term_end(term.start_date, term.end_date),
            arr=from_minor(contract.arr_minor, ctx.currency),
        )
        before = _pending_events(session)
        contract = await renew_contract(session, ctx, contract.id, body)
        result.event_ids += _new_events(session, before)
        result.renewals += 1


async def _churn_at_renewal(
    session: AsyncSession, ctx: Context, contract_id: uuid.UUID, as_of: date, result: SweepResult
) -> None:
    contract = await get_contract(session, contract_id, lock=True)
    if (
        contract.status == ContractStatus.CHURNED
        or contract.cancellation_notice_on is None
        or contract.cancellation_notice_late
        or contract.end_date > as_of
    ):
        return
    reason = (
        ChurnReason(contract.cancellation_reason)
        if contract.cancellation_reason in set(ChurnReason)
        else ChurnReason.OTHER
    )
    before = _pending_events(session)
    await churn_contract(
        session, ctx, contract.id, ContractChurn(reason=reason, churned_on=contract.end_date)
    )
    result.event_ids += _new_events(session, before)
    result.churns += 1


async def contracts_at_renewal(
    db: Database,
    ctx: Context,
    as_of: date,
    batch_size: int,
    result: SweepResult,
    *,
    noticed: bool,
) -> None:
    """Renews (`noticed=False`) or churns (`noticed=True`, a notice given in time) every
    contract whose R has come, walking ids in order so a contract the service refuses is
    logged once per sweep."""
    notice, late = Contract.cancellation_notice_on, Contract.cancellation_notice_late
    after: uuid.UUID | None = None
    while True:
        async with db.transaction() as session:
            query = select(Contract).where(
                Contract.status != ContractStatus.CHURNED,
                Contract.end_date <= as_of,
                (
                    notice.is_not(None) & late.is_(False)
                    if noticed
                    else or_(notice.is_(None), late.is_(True))
                ),
            )
            if not noticed:
                query = query.where(Contract.auto_renew.is_(True))
            if after is not None:
                query = query.where(Contract.id > after)
            query = _claim(db, query.order_by(Contract.id).limit(batch_size))
            contracts = list((await session.scalars(query)).all())
            for contract in contracts:
                try:
                    async with session.begin_nested():
                        if noticed:
                            await _churn_at_renewal(session, ctx, contract.id, as_of, result)
                        else:
                            await _auto_renew(session, ctx, contract.id, as_of, result)
                except (DomainError, ValidationError) as exc:
                    _log.error(
                        "contract_not_changed_at_renewal",
                        contract_id=str(contract.id),
                        action="churn" if noticed else "renew",
                        error=str(exc),
                    )
        if len(contracts) < batch_size:
            return
        after = contracts[-1].id
