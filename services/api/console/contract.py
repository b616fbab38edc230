"""`/console/contracts/{id}`: one contract on one page — its header and health, the
forecast and its override, the plan, goals, people, tasks and the first page of its
timeline."""

from __future__ import annotations

import uuid

from fastapi import Request, Response
from fastapi.responses import RedirectResponse

from services.api.console.forms import Posted
from services.api.console.pages import render
from services.api.console.routing import console_router
from services.api.console.session import Console, Refused, require
from services.api.console.words import BAND_LABELS, CATEGORY_LABELS, signal_words, words
from services.api.deps import SessionDep, get_settings
from shared.clock import today
from shared.domain.context import Context
from shared.domain.contracts.history import list_checkpoints, timeline
from shared.domain.forecast.schemas import ForecastOverride
from shared.domain.forecast.service import clear_override, get_forecast, override_forecast
from shared.domain.views.brief import build_brief
from shared.enums import Scope

router = console_router()

TIMELINE_PAGE = 50


@router.get("/contracts/{contract_id}")
async def contract_page(
    request: Request, signed: Console, session: SessionDep, contract_id: uuid.UUID
) -> Response:
    currency = get_settings(request).currency
    brief = await build_brief(session, contract_id, currency, today())
    checkpoints = await list_checkpoints(session, contract_id, term=brief.contract.term)
    history, more = await timeline(session, contract_id, limit=TIMELINE_PAGE)
    return render(
        request,
        "contract.html",
        signed,
        brief=brief,
        currency=currency,
        forecast=await get_forecast(session, contract_id, currency),
        checkpoints=checkpoints,
        timeline=history,
        more_history=more is not None,
        categories=CATEGORY_LABELS,
        bands=BAND_LABELS,
        signal_words=signal_words,
        words=words,
        back=request.url.path,
    )


@router.post("/contracts/{contract_id}/forecast")
async def forecast(
    request: Request, posted: Posted, session: SessionDep, contract_id: uuid.UUID
) -> Response:
    """`action=override` sets a person's forecast (as PUT /v1/contracts/{id}/forecast);
    `action=clear` hands the term back to the engine (as DELETE)."""
    signed, form = posted
    require(signed, Scope.WRITE)
    ctx = Context.now(signed.principal.actor, get_settings(request).currency)
    action = form.get("action")
    if action == "override":
        body = ForecastOverride.model_validate(
            {
                "category": form.get("category"),
                "expected_arr": form.text("expected_arr"),
                "note": form.text("note"),
            }
        )
        await override_forecast(session, ctx, contract_id, body, set_by=signed.principal.name)
    elif action == "clear":
        await clear_override(session, ctx, contract_id)
    else:
        raise Refused(422, "Invalid input", "action: must be override or clear")
    return RedirectResponse(f"/console/contracts/{contract_id}#forecast", status_code=303)
