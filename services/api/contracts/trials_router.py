"""`POST` and `GET /v1/contracts/{id}/trials`: add-on trials of more users or modules."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from services.api.deps import Reader, SessionDep, SettingsDep, Writer
from services.api.openapi import problems
from shared.domain.context import Context
from shared.domain.contracts import trials
from shared.domain.contracts.trials import TrialCreate, TrialPage, TrialRead
from shared.domain.schemas import Cursor, Limit

router = APIRouter(prefix="/v1/contracts", tags=["contracts"])


@router.post(
    "/{contract_id}/trials",
    status_code=201,
    response_model=TrialRead,
    responses=problems(409, r409="the contract has churned"),
)
async def start_trial(
    principal: Writer,
    session: SessionDep,
    settings: SettingsDep,
    contract_id: uuid.UUID,
    body: TrialCreate,
) -> TrialRead:
    """Records a trial on any term and emits `contract.trial_started`; the engine opens a
    `trial_ending` task naming it 14 days before `ends_on`, due 7 days before it.
    `ends_on` defaults to `started_on` + 30 days, and may not be before `started_on`
    (422 naming `ends_on`)."""
    ctx = Context.now(principal.actor, settings.currency)
    return await trials.start_trial(session, ctx, contract_id, body)


@router.get("/{contract_id}/trials", response_model=TrialPage)
async def list_trials(
    _principal: Reader,
    session: SessionDep,
    contract_id: uuid.UUID,
    limit: Limit = 50,
    cursor: Cursor | None = None,
) -> TrialPage:
    """In the order they were recorded."""
    items, next_cursor = await trials.list_trials(session, contract_id, limit=limit, cursor=cursor)
    return TrialPage(items=items, next_cursor=next_cursor)
