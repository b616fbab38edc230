"""`/console/partners`: partner retention against the silver and gold lines, and the
renewal rate direct vs through partners, from the same reports as
`GET /v1/reports/retention` and `GET /v1/reports/renewal-rate`."""

from __future__ import annotations

from fastapi import Request, Response

from services.api.console.pages import render
from services.api.console.partner_charts import renewal_rate_chart, retention_chart
from services.api.console.routing import console_router
from services.api.console.session import Console
from services.api.deps import SessionDep, get_settings
from shared.clock import today
from shared.domain.reports.paging import Page
from shared.domain.reports.renewal_rate import renewal_rate_report
from shared.domain.reports.retention import TIER_TARGET_PERCENT, retention_report
from shared.rules.calendar import add_months

router = console_router()

RENEWAL_RATE_MONTHS = 12
"""The renewal rate covers the renewal dates of the last year, like retention's window."""


@router.get("/partners")
async def partners(request: Request, signed: Console, session: SessionDep) -> Response:
    settings = get_settings(request)
    as_of = today()
    retention = await retention_report(session, as_of, settings.retention_excluded_reasons)
    start = add_months(as_of, -RENEWAL_RATE_MONTHS)
    # Only the counts are shown: one row of the page is read, the summary covers them all.
    rates = await renewal_rate_report(session, start, as_of, as_of, settings.currency, Page(1))
    channels = [
        ("all", "All contracts", rates),
        ("direct", "Direct", rates.by_channel.direct),
        ("partner", "Through partners", rates.by_channel.partner),
    ]
    return render(
        request,
        "partners.html",
        signed,
        section="partners",
        retention=retention,
        targets=TIER_TARGET_PERCENT,
        retention_chart=retention_chart(retention.items),
        rates=rates,
        channels=channels,
        rate_chart=renewal_rate_chart([(label, c.renewal_rate) for _, label, c in channels]),
    )
