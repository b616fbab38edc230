"""Portfolio reports: JSON by default, the rows as CSV with `Accept: text/csv`.

The reports with one row per account, term or contract (revenue retention, renewal rate,
the renewal pipeline) page their JSON `items` with `limit` and `cursor`; their summary
covers every row. A CSV answer is an export: it holds every row of the report and takes
no `limit` or `cursor` (a spreadsheet has no next page to follow). Every route counts
against its API key's report rate (429 with `Retry-After`), and periods are at most five
years (422); the forecast covers at most 36 months."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel

from services.api.deps import Reader, SessionDep, SettingsDep
from services.api.openapi import problems
from services.api.rate_limit import report_quota
from shared.clock import today
from shared.domain.reports.capacity import capacity_report
from shared.domain.reports.csv import CSV_MEDIA_TYPE, to_csv
from shared.domain.reports.forecast import MAX_MONTHS, forecast_report
from shared.domain.reports.paging import Page
from shared.domain.reports.pipeline import pipeline_report
from shared.domain.reports.renewal_rate import renewal_rate_report
from shared.domain.reports.retention import retention_report
from shared.domain.reports.revenue_retention import revenue_retention_report
from shared.domain.reports.schemas import (
    CapacityItem,
    CapacityReport,
    ForecastMonth,
    ForecastReport,
    PipelineItem,
    PipelineReport,
    RenewalRateItem,
    RenewalRateReport,
    RetentionItem,
    RetentionReport,
    RevenueRetentionItem,
    RevenueRetentionReport,
)
from shared.domain.schemas import Cursor, Day, Limit
from shared.rules.types import Segment

router = APIRouter(
    prefix="/v1/reports",
    tags=["reports"],
    dependencies=[Depends(report_quota)],
    responses=problems(429),
)

_CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {"schema": {"type": "string"}}}}
}

AsOf = Annotated[Day | None, Query(description="YYYY-MM-DD; today (UTC) when omitted")]
Start = Annotated[Day, Query(description="YYYY-MM-DD, inclusive")]
End = Annotated[
    Day, Query(description="YYYY-MM-DD, exclusive; after start, at most five years after it")
]


def _wants_csv(request: Request) -> bool:
    return "text/csv" in request.headers.get("accept", "")


def _page(request: Request, limit: int, cursor: str | None) -> Page | None:
    """The JSON answer's page; None (every row) for a CSV export."""
    return None if _wants_csv(request) else Page(limit, cursor)


def _answer(
    request: Request, report: BaseModel, model: type[BaseModel], rows: Sequence[BaseModel]
) -> Any:
    if _wants_csv(request):
        return Response(to_csv(model, rows), media_type=CSV_MEDIA_TYPE)
    return report


@router.get("/retention", response_model=RetentionReport, responses=_CSV_RESPONSE)
async def retention(
    _principal: Reader,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    as_of: AsOf = None,
    group_by: Literal["partner"] = "partner",  # noqa: ARG001 (the only grouping; others 422)
) -> Any:
    """Partner retention (DESIGN §3.3): per partner and for the direct channel, active
    contracts on `as_of` against those churned or lapsed in the 12 months before, with
    the tier's target (silver 0.70, gold 0.80) and whether it is met."""
    report = await retention_report(session, as_of or today(), settings.retention_excluded_reasons)
    return _answer(request, report, RetentionItem, report.items)


@router.get("/revenue-retention", response_model=RevenueRetentionReport, responses=_CSV_RESPONSE)
async def revenue_retention(
    _principal: Reader,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    start: Start,
    end: End,
    limit: Limit = 50,
    cursor: Cursor | None = None,
) -> Any:
    """GRR and NRR of the accounts active on `start`, per account and in total; null
    with a `reason` when the cohort has no ARR. The accounts are paged by name."""
    report = await revenue_retention_report(
        session, start, end, settings.currency, _page(request, limit, cursor)
    )
    return _answer(request, report, RevenueRetentionItem, report.items)


@router.get("/renewal-rate", response_model=RenewalRateReport, responses=_CSV_RESPONSE)
async def renewal_rate(
    _principal: Reader,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    start: Start,
    end: End,
    as_of: AsOf = None,
    limit: Limit = 50,
    cursor: Cursor | None = None,
) -> Any:
    """Renewed / (renewed + churned + lapsed) over the terms whose end fell in
    [start, end), overall and by channel, with upsell and downsell counts; the rows are
    those terms with their outcome, paged by renewal date."""
    report = await renewal_rate_report(
        session,
        start,
        end,
        as_of or today(),
        settings.currency,
        _page(request, limit, cursor),
    )
    return _answer(request, report, RenewalRateItem, report.items)


@router.get("/renewals", response_model=PipelineReport, responses=_CSV_RESPONSE)
async def renewals(
    _principal: Reader,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    within_days: Annotated[
        int, Query(ge=0, le=1827, description="Days after `as_of`; at most five years")
    ] = 120,
    as_of: AsOf = None,
    limit: Limit = 50,
    cursor: Cursor | None = None,
) -> Any:
    """The renewal pipeline: contracts renewing within `within_days` of `as_of`, with
    total ARR and ARR at risk (yellow and red health); the contracts are paged, soonest
    first."""
    report = await pipeline_report(
        session,
        as_of or today(),
        within_days,
        settings.currency,
        _page(request, limit, cursor),
    )
    return _answer(request, report, PipelineItem, report.items)


@router.get("/capacity", response_model=CapacityReport, responses=_CSV_RESPONSE)
async def capacity(
    _principal: Reader,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    as_of: AsOf = None,
) -> Any:
    """Per account owner: ARR and accounts against RENEWALS_ARR_PER_MANAGER, segments,
    open tasks and checkpoints opening in the next 12 weeks."""
    report = await capacity_report(
        session, as_of or today(), settings.arr_per_manager, settings.currency
    )
    return _answer(request, report, CapacityItem, report.items)


@router.get("/forecast", response_model=ForecastReport, responses=_CSV_RESPONSE)
async def forecast(
    _principal: Reader,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    months: Annotated[
        int, Query(ge=1, le=MAX_MONTHS, description="Months of R from as_of's month on")
    ] = 12,
    as_of: AsOf = None,
    owner: Annotated[
        str | None, Query(max_length=320, description="The account owner's e-mail, exactly")
    ] = None,
    partner_id: uuid.UUID | None = None,
    segment: Annotated[Segment | None, Query(description="The account's segment on as_of")] = None,
) -> Any:
    """The renewal forecast: per month of R, from `as_of` to the end of the `months`-th
    month, the ARR of the terms renewing by forecast category (commit, probable,
    at_risk, lost, renewed), their total and the ARR expected of them, with totals over
    the window. Sums of the stored forecasts (`GET /v1/contracts/{id}/forecast`)."""
    report = await forecast_report(
        session,
        as_of or today(),
        months,
        settings.currency,
        owner=owner,
        partner_id=partner_id,
        segment=segment,
    )
    return _answer(request, report, ForecastMonth, report.items)
