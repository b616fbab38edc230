"""`/v1/contracts/{id}/forecast`: the renewal forecast of the contract's current term,
and a person's override of it."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from services.api.deps import Reader, SessionDep, SettingsDep, Writer
from shared.domain.context import Context
from shared.domain.forecast import service
from shared.domain.forecast.schemas import ForecastOverride, ForecastRead

router = APIRouter(prefix="/v1/contracts", tags=["contracts"])


@router.get("/{contract_id}/forecast", response_model=ForecastRead)
async def get_forecast(
    _principal: Reader, session: SessionDep, settings: SettingsDep, contract_id: uuid.UUID
) -> ForecastRead:
    """The current term's forecast: the engine's proposal (renewed, lost on a pending
    cancellation notice or a churn, then by health and the renewal outreach) or a
    person's override."""
    return await service.get_forecast(session, contract_id, settings.currency)


@router.put("/{contract_id}/forecast", response_model=ForecastRead)
async def override_forecast(
    principal: Writer,
    session: SessionDep,
    settings: SettingsDep,
    contract_id: uuid.UUID,
    body: ForecastOverride,
) -> ForecastRead:
    """Overrides the current term's forecast, `set_by` the key's name; the engine leaves
    it alone until it is cleared or the term is renewed. Emits
    `contract.forecast_changed` when the category or expected ARR changes. `expected_arr`
    has at most as many decimals as the deployment's currency."""
    ctx = Context.now(principal.actor, settings.currency)
    return await service.override_forecast(session, ctx, contract_id, body, set_by=principal.name)


@router.delete("/{contract_id}/forecast", response_model=ForecastRead)
async def clear_override(
    principal: Writer, session: SessionDep, settings: SettingsDep, contract_id: uuid.UUID
) -> ForecastRead:
    """Clears the override: the engine's proposal applies at once (and emits
    `contract.forecast_changed` when it differs). Without an override nothing changes."""
    ctx = Context.now(principal.actor, settings.currency)
    return await service.clear_override(session, ctx, contract_id)
