"""Portfolio reports: JSON by default, the rows as CSV with `Accept: text/csv`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel

from services.api.deps import Reader, SessionDep, SettingsDep
from shared.clock import today
from shared.domain.errors import InvalidInput
from shared.domain.reports.capacity import capacity_report
from shared.domain.reports.csv import CSV_MEDIA_TYPE, to_csv
from shared.domain.reports.pipeline import pipeline_report
from shared.domain.reports.renewal_rate import renewal_rate_report
from shared.domain.reports.retention import retention_report
from shared.domain.reports.revenue_retention import revenue_retention_report
from shared.domain.reports.schemas import (
    CapacityItem,
    CapacityReport,
    PipelineItem,
    PipelineReport,
    RenewalRateItem,
    RenewalRateReport,
    RetentionItem,
    RetentionReport,
    RevenueRetentionItem,
    RevenueRetentionReport,
)
from shared.domain.schemas import Day

router = APIRouter(prefix="/v1/reports", tags=["reports"])

_CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {"schema": {"type": "string"}}}}
}

AsOf = Annotated[Day | None, Query(description="YYYY-MM-DD; today (UTC) when omitted")]
Start = Annotated[Day, Query(description="YYYY-MM-DD, inclusive")]
End = Annotated[Day, Query(description="YYYY-MM-DD, exclusive; after start")]


def _answer(
    request: Request, report: BaseModel, model: type[BaseModel], rows: Sequence[BaseModel]
) -> Any:
    if "text/csv" in request.headers.get("accept", ""):
        return Response(to_csv(model, rows), media_type=CSV_MEDIA_TYPE)
    return report


def _period(start: date, end: date) -> None:
    if end <= start:
        raise InvalidInput(f"end ({end}) must be after start ({start})", field="end")


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
) -> Any:
    """GRR and NRR of the accounts active on `start`, per account and in total; null
    with a `reason` when the cohort has no ARR."""
    _period(start, end)
    report = await revenue_retention_report(session, start, end, settings.currency)
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
) -> Any:
    """Renewed / (renewed + churned + lapsed) over the terms whose end fell in
    [start, end), overall and by channel, with upsell and downsell counts; the rows are
    those terms with their outcome."""
    _period(start, end)
    report = await renewal_rate_report(session, start, end, as_of or today(), settings.currency)
    return _answer(request, report, RenewalRateItem, report.items)


@router.get("/renewals", response_model=PipelineReport, responses=_CSV_RESPONSE)
async def renewals(
    _principal: Reader,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    within_days: Annotated[int, Query(ge=0, le=3660)] = 120,
    as_of: AsOf = None,
) -> Any:
    """The renewal pipeline: contracts renewing within `within_days` of `as_of`, with
    total ARR and ARR at risk (yellow and red health)."""
    report = await pipeline_report(session, as_of or today(), within_days, settings.currency)
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
