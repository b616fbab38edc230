"""Contracts whose renewal date R has come, in a sweep: auto-renewals for the same
length and ARR, and churns at R for pending cancellation notices given in time. Both use
the contract service's own rules (`renew`, `churn`) on a batch of contracts at once and
write its rows in bulk (`shared.domain.contracts.bulk`), so the term rows, forecasts and
events are exactly those of `POST /renew` and `/churn`, one contract after the other."""

from __future__ import annotations

import calendar
import uuid
from datetime import date, datetime
from typing import TYPE_CHECKING, TypeVar

import structlog
from pydantic import ValidationError
from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.clock import utcnow
from shared.db import Database
from shared.domain.amounts import to_minor_or_422
from shared.domain.context import Context
from shared.domain.contracts.bulk import (
    CHURNED,
    CONTRACTS,
    RENEWED,
    Changed,
    changed,
    detached,
    write_churns,
    write_renewals,
)
from shared.domain.contracts.derived import current_term
from shared.domain.contracts.schemas import ContractChurn, ContractRenewal
from shared.domain.contracts.service import churn, renew
from shared.domain.errors import DomainError
from shared.enums import ChurnReason, ContractStatus
from shared.models import Contract
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


def _renews(contract: Contract, as_of: date) -> bool:
    """Whether the contract's R has come and it auto-renews: not churned, and no notice
    given in time."""
    notice, late = contract.cancellation_notice_on, contract.cancellation_notice_late
    return (
        contract.status != ContractStatus.CHURNED
        and contract.auto_renew
        and (notice is None or late)
        and contract.end_date <= as_of
    )


def _renewals(contract: Contract, ctx: Context, as_of: date, now: datetime) -> list[Changed]:
    """The contract renewed for the same length and ARR until R passes `as_of`."""
    renewals: list[Changed] = []
    while _renews(contract, as_of):
        term = current_term(contract.terms)
        body = ContractRenewal(
            end_date=next_term_end(term.start_date, term.end_date),
            arr=from_minor(contract.arr_minor, ctx.currency),
        )
        new = renew(contract, body, to_minor_or_422(body.arr, ctx.currency))
        renewals.append(changed(contract, ctx, now, RENEWED, new))
    return renewals


def _churn(contract: Contract, ctx: Context, now: datetime) -> Changed:
    """The contract churned at R with its notice's reason."""
    reason = (
        ChurnReason(contract.cancellation_reason)
        if contract.cancellation_reason in set(ChurnReason)
        else ChurnReason.OTHER
    )
    churn(contract, ContractChurn(reason=reason, churned_on=contract.end_date), ctx.time.date())
    return changed(contract, ctx, now, CHURNED)


async def _apply(
    session: AsyncSession,
    ctx: Context,
    contracts: list[Contract],
    as_of: date,
    result: SweepResult,
    *,
    noticed: bool,
) -> None:
    """Renews or churns the batch in memory, then writes it in bulk. A contract the rules
    refuse is logged and left as it was, with none of its renewals written."""
    now = utcnow()
    changes: list[list[Changed]] = []
    for contract in contracts:
        try:
            changes.append(
                [_churn(contract, ctx, now)] if noticed else _renewals(contract, ctx, as_of, now)
            )
        except (DomainError, ValidationError) as exc:
            _log.error(
                "contract_not_changed_at_renewal",
                contract_id=str(contract.id),
                action="churn" if noticed else "renew",
                error=str(exc),
            )
    if noticed:
        churns = [item for items in changes for item in items]
        result.event_ids += await write_churns(session, ctx, churns)
        result.churns += len(churns)
    else:
        result.event_ids += await write_renewals(session, ctx, changes)
        result.renewals += sum(len(items) for items in changes)


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
    contract whose R has come, a batch per transaction: its contracts claimed in id order
    with one query and their terms with another, renewed or churned in memory by the
    contract service's own rules, and written with a few statements per table."""
    notice, late = CONTRACTS.c.cancellation_notice_on, CONTRACTS.c.cancellation_notice_late
    after: uuid.UUID | None = None
    while True:
        async with db.transaction() as session:
            query = select(*CONTRACTS.c).where(
                CONTRACTS.c.status != ContractStatus.CHURNED,
                CONTRACTS.c.end_date <= as_of,
                (
                    notice.is_not(None) & late.is_(False)
                    if noticed
                    else or_(notice.is_(None), late.is_(True))
                ),
            )
            if not noticed:
                query = query.where(CONTRACTS.c.auto_renew.is_(True))
            if after is not None:
                query = query.where(CONTRACTS.c.id > after)
            query = _claim(db, query.order_by(CONTRACTS.c.id).limit(batch_size))
            rows = (await session.execute(query)).all()
            contracts = await detached(session, rows)
            await _apply(session, ctx, contracts, as_of, result, noticed=noticed)
        if len(rows) < batch_size:
            return
        after = rows[-1].id
