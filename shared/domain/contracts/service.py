"""Contract operations. Each validates, changes state, and emits its lifecycle event in
the caller's transaction, so `POST /v1/events` can apply a CloudEvent through the very
function its REST route uses."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from shared.clock import today
from shared.domain.accounts.service import get_account
from shared.domain.amounts import to_minor_or_422
from shared.domain.context import Context
from shared.domain.contracts.derived import (
    ContractDates,
    channel_for,
    contract_stage,
    current_term,
    date_problems,
    first_term,
)
from shared.domain.contracts.schemas import (
    CancellationNotice,
    CancellationNoticeRead,
    CancellationWithdrawal,
    ContractChurn,
    ContractCreate,
    ContractRead,
    ContractRenewal,
    ContractUpdate,
    HealthRead,
    HealthSignalRead,
    TermRead,
)
from shared.domain.errors import Conflict, InvalidInput, NotFound
from shared.domain.external_ids import claim
from shared.domain.forecast.service import refresh_forecasts
from shared.domain.pagination import fetch_page
from shared.domain.partners.service import get_partner
from shared.enums import ChurnReason, ContractStatus, HealthBand
from shared.events.outbox import emit
from shared.events.types import EventType, dataschema
from shared.models import Account, Contract, ContractTerm
from shared.money import format_minor
from shared.rules.calendar import notice_is_late


async def get_contract(
    session: AsyncSession, contract_id: uuid.UUID, *, field: str = "id", lock: bool = False
) -> Contract:
    """The contract with its terms. `lock` takes the row lock on Postgres so concurrent
    renewals queue instead of both adding term n+1 (SQLite serialises writers anyway)."""
    query = select(Contract).where(Contract.id == contract_id).options(selectinload(Contract.terms))
    contract = await session.scalar(query.with_for_update(of=Contract) if lock else query)
    if contract is None:
        raise NotFound(f"contract {contract_id} does not exist", field=field)
    return contract


def _render(contract: Contract, currency: str, as_of: date) -> ContractRead:
    notice = (
        CancellationNoticeRead(
            received_on=contract.cancellation_notice_on,
            reason=ChurnReason(contract.cancellation_reason or ChurnReason.OTHER),
            late=contract.cancellation_notice_late,
        )
        if contract.cancellation_notice_on is not None
        else None
    )
    return ContractRead(
        id=contract.id,
        account_id=contract.account_id,
        partner_id=contract.partner_id,
        channel=channel_for(contract.partner_id),
        start_date=contract.start_date,
        end_date=contract.end_date,
        pilot_start=contract.pilot_start,
        pilot_end=contract.pilot_end,
        trial_end=contract.trial_end,
        arr=format_minor(contract.arr_minor, currency),
        seats=contract.seats,
        auto_renew=contract.auto_renew,
        notice_period_days=contract.notice_period_days,
        status=ContractStatus(contract.status),
        churned_on=contract.churned_on,
        churn_reason=ChurnReason(contract.churn_reason) if contract.churn_reason else None,
        cancellation_notice=notice,
        stage=contract_stage(contract, as_of),
        term=current_term(contract.terms).number,
        terms=[_render_term(term, currency) for term in contract.terms],
        health=_render_health(contract),
        external_ids=contract.external_ids,
        created_at=contract.created_at,
        updated_at=contract.updated_at,
    )


def _render_term(term: ContractTerm, currency: str) -> TermRead:
    return TermRead(
        number=term.number,
        start=term.start_date,
        end=term.end_date,
        arr=format_minor(term.arr_minor, currency),
    )


def _render_health(contract: Contract) -> HealthRead:
    """The worker's last computation, stored on the row; reads never recompute it."""
    return HealthRead(
        score=contract.health_score,
        band=HealthBand(contract.health_band),
        signals=[
            HealthSignalRead(signal=str(item["signal"]), points=int(item["points"]))
            for item in contract.health_signals
        ],
    )


async def contract_read(
    session: AsyncSession, contract: Contract, currency: str, *, as_of: date | None = None
) -> ContractRead:
    """The contract as reads and events show it, its stage as of `as_of` (default today).
    Loads the terms when the caller did not."""
    if "terms" in inspect(contract).unloaded:
        await session.refresh(contract, ["terms"])
    return _render(contract, currency, as_of or today())


def event_data(contract: Contract, ctx: Context) -> dict[str, Any]:
    """The contract, loaded with its terms, as its events carry it: its stage as of the
    change's own date."""
    return _render(contract, ctx.currency, ctx.time.date()).model_dump(mode="json")


async def _emit(session: AsyncSession, ctx: Context, type: EventType, contract: Contract) -> None:
    """Keyed by account, so all events of one customer stay in order on one partition;
    the snapshot's stage is as of the change's own date. Every change here may change
    an input of the renewal forecast (ARR, a renewal, a notice, a churn), so the
    contract's forecast is refreshed in the same transaction, before the event is added:
    callers (the scheduler's sweep) find the event still pending in the session."""
    await session.flush()
    await refresh_forecasts(session, ctx, [contract.id])
    emit(
        session,
        type=type,
        source=ctx.source,
        subject=str(contract.id),
        partition_key=str(contract.account_id),
        data=event_data(contract, ctx),
        dataschema=dataschema("contract"),
        actor=ctx.actor,
        time=ctx.time,
    )


async def _partner_for_new_contract(
    session: AsyncSession, body: ContractCreate, account: Account
) -> uuid.UUID | None:
    """Omitted means the account's partner; an explicit null means a direct deal."""
    if "partner_id" not in body.model_fields_set:
        return account.partner_id
    if body.partner_id is not None:
        await get_partner(session, body.partner_id, field="partner_id")
    return body.partner_id


async def create_contract(session: AsyncSession, ctx: Context, body: ContractCreate) -> Contract:
    arr_minor = to_minor_or_422(body.arr, ctx.currency)
    account = await get_account(session, body.account_id, field="account_id")
    partner_id = await _partner_for_new_contract(session, body, account)
    contract = Contract(
        account_id=account.id,
        partner_id=partner_id,
        start_date=body.start_date,
        end_date=body.end_date,
        pilot_start=body.pilot_start,
        pilot_end=body.pilot_end,
        trial_end=body.trial_end,
        arr_minor=arr_minor,
        seats=body.seats,
        auto_renew=body.auto_renew,
        notice_period_days=body.notice_period_days,
        external_ids=body.external_ids,
        terms=[
            ContractTerm(
                number=1, start_date=body.start_date, end_date=body.end_date, arr_minor=arr_minor
            )
        ],
    )
    session.add(contract)
    await session.flush()
    await claim(session, "contract", contract.id, body.external_ids)
    await _emit(session, ctx, EventType.CONTRACT_CREATED, contract)
    return contract


def _check_dates(contract: Contract, changes: dict[str, Any]) -> None:
    """Validates the dates the contract would have after `changes`, naming a field the
    caller sent when one of a broken rule's two fields was sent."""
    first, current = first_term(contract.terms), current_term(contract.terms)
    start = changes.get("start_date", contract.start_date)
    end = changes.get("end_date", contract.end_date)
    in_first_term = first.number == current.number
    dates = ContractDates(
        start_date=start,
        end_date=end,
        first_end=end if in_first_term else first.end_date,
        current_start=start if in_first_term else current.start_date,
        pilot_start=changes.get("pilot_start", contract.pilot_start),
        pilot_end=changes.get("pilot_end", contract.pilot_end),
        trial_end=changes.get("trial_end", contract.trial_end),
    )
    problems = date_problems(dates)
    if problems:
        problem = problems[0]
        raise InvalidInput(problem.message, field=problem.field_in(changes))


async def update_contract(
    session: AsyncSession, ctx: Context, contract_id: uuid.UUID, body: ContractUpdate
) -> Contract:
    contract = await get_contract(session, contract_id, lock=True)
    changes = body.model_dump(exclude_unset=True)
    arr_minor = to_minor_or_422(changes.pop("arr"), ctx.currency) if "arr" in changes else None
    _check_dates(contract, changes)
    if changes.get("partner_id") is not None:
        await get_partner(session, changes["partner_id"], field="partner_id")
    if "external_ids" in changes:
        await claim(session, "contract", contract.id, changes["external_ids"])
    current = current_term(contract.terms)
    if "start_date" in changes:
        first_term(contract.terms).start_date = changes["start_date"]
    if "end_date" in changes:
        current.end_date = changes["end_date"]
    if arr_minor is not None:
        current.arr_minor = contract.arr_minor = arr_minor
    for field, value in changes.items():
        setattr(contract, field, value)
    await _emit(session, ctx, EventType.CONTRACT_UPDATED, contract)
    return contract


def _not_churned(contract: Contract, action: str) -> None:
    if contract.status == ContractStatus.CHURNED:
        raise Conflict(f"contract {contract.id} has churned and cannot be {action}")


def renew(contract: Contract, body: ContractRenewal, arr_minor: int) -> ContractTerm:
    """The renewal itself, on a contract loaded with its terms, writing nothing: the
    contract service applies it to one contract, the scheduler's sweep to a batch whose
    rows it writes in bulk. Term n+1 always starts at the old R, however late the renewal
    is recorded, so terms never overlap or leave gaps; a pending cancellation notice is
    void. Answers the new term."""
    _not_churned(contract, "renewed")
    renewal = contract.end_date
    if body.end_date <= renewal:
        raise InvalidInput(
            f"end_date ({body.end_date}) must be after the current renewal date ({renewal})",
            field="end_date",
        )
    term = ContractTerm(
        number=current_term(contract.terms).number + 1,
        start_date=renewal,
        end_date=body.end_date,
        arr_minor=arr_minor,
    )
    contract.terms.append(term)
    contract.end_date = body.end_date
    contract.arr_minor = arr_minor
    if body.seats is not None:
        contract.seats = body.seats
    contract.cancellation_notice_on = None
    contract.cancellation_reason = None
    contract.cancellation_notice_late = False
    return term


async def renew_contract(
    session: AsyncSession, ctx: Context, contract_id: uuid.UUID, body: ContractRenewal
) -> Contract:
    contract = await get_contract(session, contract_id, lock=True)
    _not_churned(contract, "renewed")
    renew(contract, body, to_minor_or_422(body.arr, ctx.currency))
    await _emit(session, ctx, EventType.CONTRACT_RENEWED, contract)
    return contract


def churn(contract: Contract, body: ContractChurn, today: date) -> None:
    """The churn itself, writing nothing (see `renew`). `churned_on` defaults to `today`,
    the day of the change. A pending cancellation notice stays on record, with whether it
    came late: it explains the churn (after a late notice, the account manager accepted
    the cancellation)."""
    if contract.status == ContractStatus.CHURNED:
        raise Conflict(f"contract {contract.id} has already churned on {contract.churned_on}")
    contract.status = ContractStatus.CHURNED
    contract.churned_on = body.churned_on or today
    contract.churn_reason = body.reason


async def churn_contract(
    session: AsyncSession, ctx: Context, contract_id: uuid.UUID, body: ContractChurn
) -> Contract:
    """`churned_on` defaults to the day of the change (the event's time, for events)."""
    contract = await get_contract(session, contract_id, lock=True)
    churn(contract, body, ctx.time.date())
    await _emit(session, ctx, EventType.CONTRACT_CHURNED, contract)
    return contract


async def notice_cancellation(
    session: AsyncSession, ctx: Context, contract_id: uuid.UUID, body: CancellationNotice
) -> Contract:
    """Records the customer's notice; the engine opens a save attempt and the scheduler
    churns the contract at R unless the notice is withdrawn or the contract renewed. A
    notice received after R - notice_period_days is recorded as late: it does not stop
    the renewal, so the contract is not churned at R (it renews by its terms) unless
    someone records the churn. Lateness is judged once, against the R and the notice
    period of the day it is recorded."""
    contract = await get_contract(session, contract_id, lock=True)
    _not_churned(contract, "given notice")
    if contract.cancellation_notice_on is not None:
        raise Conflict(
            f"contract {contract.id} already has a cancellation notice from "
            f"{contract.cancellation_notice_on}; withdraw it first"
        )
    contract.cancellation_notice_on = body.received_on
    contract.cancellation_reason = body.reason
    contract.cancellation_notice_late = notice_is_late(
        body.received_on, contract.end_date, contract.notice_period_days
    )
    await _emit(session, ctx, EventType.CONTRACT_CANCELLATION_NOTICED, contract)
    return contract


async def withdraw_cancellation(
    session: AsyncSession,
    ctx: Context,
    contract_id: uuid.UUID,
    body: CancellationWithdrawal,  # noqa: ARG001 - uniform (ids, body) signature
) -> Contract:
    """Withdrawing after the churn would not un-churn the contract, so it is refused."""
    contract = await get_contract(session, contract_id, lock=True)
    _not_churned(contract, "withdrawn from cancellation")
    if contract.cancellation_notice_on is None:
        raise Conflict(f"contract {contract.id} has no pending cancellation notice")
    contract.cancellation_notice_on = None
    contract.cancellation_reason = None
    contract.cancellation_notice_late = False
    await _emit(session, ctx, EventType.CONTRACT_CANCELLATION_WITHDRAWN, contract)
    return contract


async def list_contracts(
    session: AsyncSession,
    *,
    account_id: uuid.UUID | None = None,
    partner_id: uuid.UUID | None = None,
    status: ContractStatus | None = None,
    health: HealthBand | None = None,
    renews_before: date | None = None,
    renews_after: date | None = None,
    limit: int,
    cursor: str | None,
) -> tuple[Sequence[Contract], str | None]:
    """`renews_before` and `renews_after` bound R strictly, like every "before" and
    "after" of the API (task due dates, the plan): a quarter is
    `renews_after=2026-12-31&renews_before=2027-04-01`."""
    query = select(Contract).options(selectinload(Contract.terms))
    if account_id is not None:
        query = query.where(Contract.account_id == account_id)
    if partner_id is not None:
        query = query.where(Contract.partner_id == partner_id)
    if status is not None:
        query = query.where(Contract.status == status)
    if health is not None:
        query = query.where(Contract.health_band == health)
    if renews_before is not None:
        query = query.where(Contract.end_date < renews_before)
    if renews_after is not None:
        query = query.where(Contract.end_date > renews_after)
    return await fetch_page(session, query, Contract.id, limit=limit, cursor=cursor)
