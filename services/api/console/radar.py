"""`/console/radar`: the next 12 months of renewals by forecast category, from the same
report as `GET /v1/reports/forecast`, and each month's contracts."""

from __future__ import annotations

import re
from datetime import date

from fastapi import Request, Response

from services.api.console.charts import CATEGORY_COLOURS, radar_chart
from services.api.console.filters import radar_filters
from services.api.console.pages import render
from services.api.console.routing import console_router
from services.api.console.session import Console, Refused
from services.api.console.words import CATEGORY_LABELS
from services.api.deps import SessionDep, get_settings
from shared.clock import today
from shared.domain.accounts.service import account_owners
from shared.domain.partners.service import partner_names
from shared.domain.reports.forecast import forecast_contracts, forecast_report, window_end
from shared.rules.types import Segment

router = console_router()

MONTHS = 12
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@router.get("/radar")
async def radar(request: Request, signed: Console, session: SessionDep) -> Response:
    settings = get_settings(request)
    filters = radar_filters(request)
    report = await forecast_report(
        session,
        today(),
        MONTHS,
        settings.currency,
        owner=filters.owner,
        partner_id=filters.partner_id,
        segment=filters.segment,
    )
    query = filters.query()
    return render(
        request,
        "radar.html",
        signed,
        section="radar",
        report=report,
        filters=filters,
        query=query,
        chart=radar_chart(report.items, report.currency, lambda m: f"/console/radar/{m}{query}"),
        categories=CATEGORY_LABELS,
        colours=CATEGORY_COLOURS,
        owners=await account_owners(session),
        partners=await partner_names(session),
        segments=list(Segment),
    )


def _month(text: str, as_of: date) -> date:
    """The first day of a month of the radar's window; any other is not found."""
    match = _MONTH.match(text)
    try:
        first = date(int(match[1]), int(match[2]), 1) if match else None
    except ValueError:
        first = None
    if first is None or not as_of.replace(day=1) <= first < window_end(as_of, MONTHS):
        raise Refused(404, "Not found", f"{text} is not a month of the radar's window")
    return first


@router.get("/radar/{month}")
async def radar_month(
    request: Request, signed: Console, session: SessionDep, month: str
) -> Response:
    settings = get_settings(request)
    filters = radar_filters(request)
    as_of = today()
    first = _month(month, as_of)
    contracts = await forecast_contracts(session, as_of, first, settings.currency, filters.forecast)
    return render(
        request,
        "radar_month.html",
        signed,
        section="radar",
        month=month,
        filters=filters,
        query=filters.query(),
        currency=settings.currency,
        contracts=contracts,
        categories=CATEGORY_LABELS,
    )
