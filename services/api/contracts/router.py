from __future__ import annotations

import uuid

from fastapi import APIRouter, Query

from services.api.deps import Reader, SessionDep, SettingsDep, Writer
from services.api.openapi import DUPLICATE, REFERENCE, problems
from shared.domain.context import Context
from shared.domain.contracts import service
from shared.domain.contracts.schemas import (
    CancellationNotice,
    CancellationWithdrawal,
    ContractChurn,
    ContractCreate,
    ContractPage,
    ContractRead,
    ContractRenewal,
    ContractUpdate,
)
from shared.domain.schemas import Cursor, Day, Limit
from shared.enums import ContractStatus, HealthBand

router = APIRouter(prefix="/v1/contracts", tags=["contracts"])

CHURNED = "the contract has churned"


@router.post(
    "",
    status_code=201,
    response_model=ContractRead,
    responses=problems(404, 409, r404=REFERENCE, r409=DUPLICATE),
)
async def create_contract(
    principal: Writer, session: SessionDep, settings: SettingsDep, body: ContractCreate
) -> ContractRead:
    """Creates the contract with its first term; the worker plans its checkpoints.

    Rules between fields, which the schema cannot state (422 naming the field to fix):
    `end_date` after `start_date`; `pilot_start` and `pilot_end` together, `pilot_end`
    after `pilot_start`; `trial_end` before `end_date`. `arr` has at most as many
    decimals as the deployment's currency."""
    ctx = Context.now(principal.actor, settings.currency)
    contract = await service.create_contract(session, ctx, body)
    return await service.contract_read(session, contract, ctx.currency)


@router.get("", response_model=ContractPage)
async def list_contracts(
    _principal: Reader,
    session: SessionDep,
    settings: SettingsDep,
    account_id: uuid.UUID | None = None,
    partner_id: uuid.UUID | None = None,
    status: ContractStatus | None = None,
    health: HealthBand | None = Query(default=None, description="The health band"),
    renews_before: Day | None = Query(default=None, description="R strictly before this date"),
    renews_after: Day | None = Query(default=None, description="R strictly after this date"),
    limit: Limit = 50,
    cursor: Cursor | None = None,
) -> ContractPage:
    rows, next_cursor = await service.list_contracts(
        session,
        account_id=account_id,
        partner_id=partner_id,
        status=status,
        health=health,
        renews_before=renews_before,
        renews_after=renews_after,
        limit=limit,
        cursor=cursor,
    )
    items = [await service.contract_read(session, row, settings.currency) for row in rows]
    return ContractPage(items=items, next_cursor=next_cursor)


@router.get("/{contract_id}", response_model=ContractRead)
async def get_contract(
    _principal: Reader, session: SessionDep, settings: SettingsDep, contract_id: uuid.UUID
) -> ContractRead:
    contract = await service.get_contract(session, contract_id)
    return await service.contract_read(session, contract, settings.currency)


@router.patch(
    "/{contract_id}", response_model=ContractRead, responses=problems(409, r409=DUPLICATE)
)
async def update_contract(
    principal: Writer,
    session: SessionDep,
    settings: SettingsDep,
    contract_id: uuid.UUID,
    body: ContractUpdate,
) -> ContractRead:
    """Changes the fields sent; the plan moves with the dates.

    The dates are checked together with the stored ones (422 naming the field sent):
    the current term's end after its start, the first term's start before its end,
    the pilot's dates together and in order, `trial_end` before the first term's end.
    `arr` has at most as many decimals as the deployment's currency."""
    ctx = Context.now(principal.actor, settings.currency)
    contract = await service.update_contract(session, ctx, contract_id, body)
    return await service.contract_read(session, contract, ctx.currency)


@router.post(
    "/{contract_id}/renew", response_model=ContractRead, responses=problems(409, r409=CHURNED)
)
async def renew_contract(
    principal: Writer,
    session: SessionDep,
    settings: SettingsDep,
    contract_id: uuid.UUID,
    body: ContractRenewal,
) -> ContractRead:
    """Starts the next term at the current renewal date, whenever it is recorded.

    `end_date` must be after the current renewal date (422 naming it); `arr` has at most
    as many decimals as the deployment's currency."""
    ctx = Context.now(principal.actor, settings.currency)
    contract = await service.renew_contract(session, ctx, contract_id, body)
    return await service.contract_read(session, contract, ctx.currency)


@router.post(
    "/{contract_id}/churn",
    response_model=ContractRead,
    responses=problems(409, r409="the contract has already churned"),
)
async def churn_contract(
    principal: Writer,
    session: SessionDep,
    settings: SettingsDep,
    contract_id: uuid.UUID,
    body: ContractChurn,
) -> ContractRead:
    ctx = Context.now(principal.actor, settings.currency)
    contract = await service.churn_contract(session, ctx, contract_id, body)
    return await service.contract_read(session, contract, ctx.currency)


@router.post(
    "/{contract_id}/cancellation-notice",
    response_model=ContractRead,
    responses=problems(409, r409=CHURNED),
)
async def notice_cancellation(
    principal: Writer,
    session: SessionDep,
    settings: SettingsDep,
    contract_id: uuid.UUID,
    body: CancellationNotice,
) -> ContractRead:
    ctx = Context.now(principal.actor, settings.currency)
    contract = await service.notice_cancellation(session, ctx, contract_id, body)
    return await service.contract_read(session, contract, ctx.currency)


@router.delete(
    "/{contract_id}/cancellation-notice",
    response_model=ContractRead,
    responses=problems(409, r409="the contract has no pending cancellation notice"),
)
async def withdraw_cancellation(
    principal: Writer, session: SessionDep, settings: SettingsDep, contract_id: uuid.UUID
) -> ContractRead:
    ctx = Context.now(principal.actor, settings.currency)
    contract = await service.withdraw_cancellation(
        session, ctx, contract_id, CancellationWithdrawal()
    )
    return await service.contract_read(session, contract, ctx.currency)
