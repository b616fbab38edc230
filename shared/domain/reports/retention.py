"""Partner retention (DESIGN §3.3): per partner and for the direct channel, contracts
active on a date against those churned or lapsed in the 12 months before, with the
tier's target (silver 70 %, gold 80 %)."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import ColumnElement, and_, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.domain.contracts.derived import active_on
from shared.domain.reports.queries import rate, sum_if
from shared.domain.reports.schemas import RetentionItem, RetentionReport
from shared.enums import Channel
from shared.models import Contract, Partner
from shared.rules.calendar import add_months
from shared.rules.stage import LAPSE_GRACE

TIER_TARGET_PERCENT = {"silver": 70, "gold": 80}


def _lapsed_between(after: date, until: date) -> ColumnElement[bool]:
    """R + 30 days fell in (after, until], no churn by `until`, not auto-renewing. Written
    on R itself (shifted bounds) so no date arithmetic runs in SQL."""
    return and_(
        Contract.auto_renew.is_(False),
        or_(Contract.churned_on.is_(None), Contract.churned_on > until),
        Contract.end_date > after - LAPSE_GRACE,
        Contract.end_date <= until - LAPSE_GRACE,
    )


async def retention_report(
    session: AsyncSession, as_of: date, excluded_reasons: list[str]
) -> RetentionReport:
    """Per partner (every partner, tiered or not) and the direct channel: contracts active
    on `as_of`; contracts churned or lapsed in the window (as_of - 12 months, as_of] —
    a churn exactly 12 months before `as_of` is outside it; churns whose reason is
    excluded are counted apart and left out of the rate. Two queries."""
    window_start = add_months(as_of, -12)
    churned_in = and_(Contract.churned_on > window_start, Contract.churned_on <= as_of)
    excluded = Contract.churn_reason.in_(excluded_reasons) if excluded_reasons else false()
    closed = or_(and_(churned_in, ~excluded), _lapsed_between(window_start, as_of))
    counts = {
        partner_id: (int(active), int(lost), int(left_out))
        for partner_id, active, lost, left_out in await session.execute(
            select(
                Contract.partner_id,
                sum_if(active_on(as_of)),
                sum_if(closed),
                sum_if(and_(churned_in, excluded)),
            ).group_by(Contract.partner_id)
        )
    }
    partners = await session.execute(
        select(Partner.id, Partner.name, Partner.tier).order_by(Partner.name, Partner.id)
    )
    items = [
        _retention_item(pid, name, tier, counts.get(pid, (0, 0, 0))) for pid, name, tier in partners
    ]
    items.append(_retention_item(None, None, None, counts.get(None, (0, 0, 0))))
    return RetentionReport(
        as_of=as_of,
        window_start=window_start,
        group_by="partner",
        excluded_reasons=excluded_reasons,
        items=items,
    )


def _retention_item(
    partner_id: uuid.UUID | None,
    name: str | None,
    tier: str | None,
    counts: tuple[int, int, int],
) -> RetentionItem:
    active, closed, excluded = counts
    percent = TIER_TARGET_PERCENT.get(tier) if tier else None
    total = active + closed
    return RetentionItem(
        partner_id=partner_id,
        partner_name=name,
        channel=Channel.PARTNER if partner_id else Channel.DIRECT,
        tier=tier,
        active=active,
        closed=closed,
        excluded=excluded,
        retention_rate=rate(active, total),
        target=percent / 100 if percent is not None else None,
        # Compared exactly in integers: 7 of 10 meets silver's 70 %.
        meets_tier=active * 100 >= percent * total if percent is not None and total else None,
    )
