"""`renewals report NAME`: the portfolio reports as aligned text tables, computed by the
same service functions as `/v1/reports/*` against RENEWALS_DATABASE_URL (no HTTP).

A table holds every row (the API pages its JSON rows): whoever can run the CLI can read
the database anyway, and a terminal or a file has no next page to ask for. The period
rules (at most five years) are the domain's, so both refuse the same requests."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from services.cli.common import load_settings, open_database

if TYPE_CHECKING:
    from pydantic import BaseModel
    from sqlalchemy.ext.asyncio import AsyncSession

    from shared.config import Settings

R = TypeVar("R", bound="BaseModel")

app = typer.Typer(help="Portfolio reports as text tables (the numbers of /v1/reports).")

DateOption = Annotated[datetime | None, typer.Option(formats=["%Y-%m-%d"], help="YYYY-MM-DD")]
RequiredDate = Annotated[datetime, typer.Option(formats=["%Y-%m-%d"], help="YYYY-MM-DD")]


def _supported(value: datetime, option: str) -> date:
    from shared.domain.schemas import FIRST_DAY, LAST_DAY

    day = value.date()
    if not FIRST_DAY <= day <= LAST_DAY:
        raise typer.BadParameter(f"must be between {FIRST_DAY} and {LAST_DAY}", param_hint=option)
    return day


def _day(value: datetime | None) -> date:
    from shared.clock import today

    return _supported(value, "--as-of") if value is not None else today()


def _period(start: datetime, end: datetime) -> tuple[date, date]:
    return _supported(start, "--start"), _supported(end, "--end")


def _show(
    run: Callable[[AsyncSession, Settings], Awaitable[R]],
    rows: Callable[[R], Sequence[BaseModel]],
    item: type[BaseModel],
) -> None:
    from shared.domain.errors import InvalidInput
    from shared.domain.reports.csv import render_text

    settings = load_settings()

    async def go() -> R:
        db = open_database(settings)
        try:
            async with db.read() as session:
                return await run(session, settings)
        finally:
            await db.dispose()

    try:
        report = asyncio.run(go())
    except InvalidInput as exc:
        hint = f"--{exc.field.replace('_', '-')}" if exc.field else None
        raise typer.BadParameter(exc.detail, param_hint=hint) from exc
    typer.echo(render_text(report, item, rows(report)))


@app.command("retention")
def retention(as_of: DateOption = None) -> None:
    """Partner retention against tier targets, with the direct channel for comparison."""
    from shared.domain.reports.retention import retention_report
    from shared.domain.reports.schemas import RetentionItem

    day = _day(as_of)
    _show(
        lambda s, st: retention_report(s, day, st.retention_excluded_reasons),
        lambda r: r.items,
        RetentionItem,
    )


@app.command("revenue-retention")
def revenue_retention(start: RequiredDate, end: RequiredDate) -> None:
    """GRR and NRR of the accounts active on --start, per account."""
    from shared.domain.reports.revenue_retention import revenue_retention_report
    from shared.domain.reports.schemas import RevenueRetentionItem

    first, last = _period(start, end)
    _show(
        lambda s, st: revenue_retention_report(s, first, last, st.currency),
        lambda r: r.items,
        RevenueRetentionItem,
    )


@app.command("renewal-rate")
def renewal_rate(start: RequiredDate, end: RequiredDate, as_of: DateOption = None) -> None:
    """Renewal rate of the terms ending in [--start, --end), overall and by channel."""
    from shared.domain.reports.renewal_rate import renewal_rate_report
    from shared.domain.reports.schemas import RenewalRateItem

    first, last = _period(start, end)
    day = _day(as_of)
    _show(
        lambda s, st: renewal_rate_report(s, first, last, day, st.currency),
        lambda r: r.items,
        RenewalRateItem,
    )


@app.command("renewals")
def renewals(
    within_days: Annotated[int, typer.Option(min=0, max=1827)] = 120,
    as_of: DateOption = None,
) -> None:
    """The renewal pipeline: what renews in the window, and the ARR at risk."""
    from shared.domain.reports.pipeline import pipeline_report
    from shared.domain.reports.schemas import PipelineItem

    day = _day(as_of)
    _show(
        lambda s, st: pipeline_report(s, day, within_days, st.currency),
        lambda r: r.items,
        PipelineItem,
    )


@app.command("capacity")
def capacity(as_of: DateOption = None) -> None:
    """ARR, accounts and task load per account manager against RENEWALS_ARR_PER_MANAGER."""
    from shared.domain.reports.capacity import capacity_report
    from shared.domain.reports.schemas import CapacityItem

    day = _day(as_of)
    _show(
        lambda s, st: capacity_report(s, day, st.arr_per_manager, st.currency),
        lambda r: r.items,
        CapacityItem,
    )


@app.command("forecast")
def forecast(
    months: Annotated[int, typer.Option(min=1, max=36)] = 12,
    as_of: DateOption = None,
    owner: Annotated[str | None, typer.Option(help="The account owner's e-mail")] = None,
    partner_id: Annotated[str | None, typer.Option(help="A partner's id")] = None,
    segment: Annotated[str | None, typer.Option(help="The account's segment")] = None,
) -> None:
    """The renewal forecast: ARR by category and expected ARR per month of R."""
    from shared.domain.reports.forecast import forecast_report
    from shared.domain.reports.schemas import ForecastMonth
    from shared.rules.types import Segment

    day = _day(as_of)
    try:
        partner = uuid.UUID(partner_id) if partner_id is not None else None
    except ValueError as exc:
        raise typer.BadParameter("not a UUID", param_hint="--partner-id") from exc
    if segment is not None and segment not in set(Segment):
        raise typer.BadParameter(f"one of {', '.join(Segment)}", param_hint="--segment")
    _show(
        lambda s, st: forecast_report(
            s,
            day,
            months,
            st.currency,
            owner=owner,
            partner_id=partner,
            segment=Segment(segment) if segment is not None else None,
        ),
        lambda r: r.items,
        ForecastMonth,
    )
