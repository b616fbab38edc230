"""Renewal rate (DESIGN §3.3): renewed / (renewed + churned + lapsed) among the terms
whose renewal date fell in a period, overall and by channel."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Select, SQLColumnExpression, and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from shared.domain.reports.paging import Page, after, cursor_key, limit_of, page_of
from shared.domain.reports.period import check_period
from shared.domain.reports.queries import (
    collector_paused,
    fetch_rows,
    format_minor_sql,
    rate,
    text_id,
)
from shared.domain.reports.schemas import RenewalCounts, RenewalRateReport
from shared.enums import Channel, ContractStatus
from shared.models import Contract, ContractTerm
from shared.rules.stage import LAPSE_GRACE

OUTCOMES = ("renewed", "churned", "lapsed", "pending")
CHANGES = ("upsell", "downsell")


def _counts(tally: dict[str, int]) -> RenewalCounts:
    decided = tally["renewed"] + tally["churned"] + tally["lapsed"]
    return RenewalCounts(
        **tally,
        renewal_rate=rate(tally["renewed"], decided),
        reason=None if decided else "no renewal in the period was decided",
    )


async def renewal_rate_report(
    session: AsyncSession,
    start: date,
    end: date,
    as_of: date,
    currency: str,
    page: Page | None = None,
) -> RenewalRateReport:
    """Terms whose end (R) fell in [start, end): `renewed` when the next term exists,
    else `churned` when the contract churned, else `lapsed` once R + 30 days passed by
    `as_of` without auto-renewal, else `pending` (not in the rate). Upsell/downsell compare
    the next term's ARR. The channel is the contract's. Two queries over the same terms:
    the counts per channel, outcome and change over every term, then the terms of the
    page (all of them without a page); a third looks up a cursor's term."""
    check_period(start, end)
    term, following = aliased(ContractTerm), aliased(ContractTerm)
    renewed = following.arr_minor.is_not(None)  # null without a next term (outer join)
    outcome = case(
        (renewed, "renewed"),
        (Contract.status == ContractStatus.CHURNED, "churned"),
        (and_(Contract.auto_renew.is_(False), term.end_date <= as_of - LAPSE_GRACE), "lapsed"),
        else_="pending",
    )
    change = case(
        (following.arr_minor > term.arr_minor, "upsell"),
        (following.arr_minor < term.arr_minor, "downsell"),
        (renewed, "flat"),
    )
    channel = case(
        (Contract.partner_id.is_(None), Channel.DIRECT.value), else_=Channel.PARTNER.value
    )

    def terms(*columns: SQLColumnExpression[Any]) -> Select[*tuple[Any, ...]]:
        return (
            select(*columns)
            .select_from(term)
            .join(Contract, Contract.id == term.contract_id)
            .outerjoin(
                following,
                and_(
                    following.contract_id == term.contract_id,
                    following.number == term.number + 1,
                ),
            )
            .where(term.end_date >= start, term.end_date < end)
        )

    tallies = {c: dict.fromkeys(OUTCOMES + CHANGES, 0) for c in (Channel.DIRECT, Channel.PARTNER)}
    for channel_name, outcome_name, change_name, count in await fetch_rows(
        session,
        terms(channel, outcome, change, func.count()).group_by(channel, outcome, change),
    ):
        tally = tallies[Channel(channel_name)]
        tally[outcome_name] += count
        if change_name in CHANGES:
            tally[change_name] += count
    total = {key: sum(t[key] for t in tallies.values()) for key in OUTCOMES + CHANGES}
    key = await cursor_key(
        session, page, ContractTerm.id, ContractTerm.end_date, ContractTerm.contract_id
    )
    order = (term.end_date, term.contract_id, term.id)
    rows = await fetch_rows(
        session,
        terms(
            text_id(term.contract_id),
            text_id(Contract.account_id),
            channel,
            term.number,
            term.end_date,
            outcome,
            format_minor_sql(term.arr_minor, currency),
            format_minor_sql(following.arr_minor, currency),
            change,
            text_id(term.id),
        )
        .where(*([after(order, key)] if key else []))
        .order_by(*order)
        .limit(limit_of(page)),
    )
    rows, next_cursor = page_of(rows, page, lambda row: row[-1])
    with collector_paused():
        return RenewalRateReport.model_validate(
            {
                **_counts(total).model_dump(),
                "start": start,
                "end": end,
                "as_of": as_of,
                "by_channel": {
                    "direct": _counts(tallies[Channel.DIRECT]),
                    "partner": _counts(tallies[Channel.PARTNER]),
                },
                "next_cursor": next_cursor,
                "items": [
                    {
                        "contract_id": contract_id,
                        "account_id": account_id,
                        "channel": channel_name,
                        "term": number,
                        "renewal_date": r,
                        "outcome": outcome_name,
                        "arr": arr,
                        "next_arr": next_arr,
                        "change": change_name,
                    }
                    for (
                        contract_id,
                        account_id,
                        channel_name,
                        number,
                        r,
                        outcome_name,
                        arr,
                        next_arr,
                        change_name,
                        _term_id,
                    ) in rows
                ],
            }
        )
