"""The portfolio reports (DESIGN §3.3). Read-only; each runs a fixed number of queries,
whatever the portfolio's size (stated per function), aggregating in SQL where a sum or
count does it and in Python over one row per group or per reported contract otherwise.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import ColumnElement, and_, case, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from services.api.contracts.derived import active_on
from services.api.reports.schemas import (
    CapacityItem,
    CapacityReport,
    PipelineItem,
    PipelineReport,
    RenewalCounts,
    RenewalRateByChannel,
    RenewalRateItem,
    RenewalRateReport,
    RetentionItem,
    RetentionReport,
    RevenueRetentionItem,
    RevenueRetentionReport,
)
from services.renewal_worker.engine.dates import add_months
from services.renewal_worker.engine.segments import segment_for
from services.renewal_worker.engine.stage import LAPSE_GRACE
from services.renewal_worker.engine.types import Segment
from shared.enums import Channel, CheckpointStatus, ContractStatus, HealthBand, TaskStatus
from shared.models import Account, Checkpoint, Contract, ContractTerm, Partner, Task
from shared.money import format_minor, from_minor, minor_digits

RATE_DIGITS = 4
TIER_TARGET_PERCENT = {"silver": 70, "gold": 80}
UPCOMING_WINDOW = timedelta(weeks=12)
AT_RISK_BANDS = (HealthBand.YELLOW.value, HealthBand.RED.value)
OUTREACH, BUDGET = "renewal_outreach", "budget_confirmation"


def _rate(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, RATE_DIGITS) if denominator else None


def _sum_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


# --- 1. Partner retention ------------------------------------------------------------


def _lapsed_between(after: date, until: date) -> ColumnElement[bool]:
    """R + 30 days fell in (after, until], no churn by `until`, not auto-renewing. Written
    on R itself (shifted bounds) so no date arithmetic runs in SQL."""
    return and_(
        Contract.auto_renew.is_(False),
        or_(Contract.churned_on.is_(None), Contract.churned_on > until),
        Contract.end_date > after - LAPSE_GRACE,
        Contract.end_date <= until - LAPSE_GRACE,
    )


async def retention(
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
                _sum_if(active_on(as_of)),
                _sum_if(closed),
                _sum_if(and_(churned_in, excluded)),
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
        retention_rate=_rate(active, total),
        target=percent / 100 if percent is not None else None,
        # Compared exactly in integers: 7 of 10 meets silver's 70 %.
        meets_tier=active * 100 >= percent * total if percent is not None and total else None,
    )


# --- 2. Revenue retention (GRR / NRR) ------------------------------------------------


async def arr_by_account(session: AsyncSession, on: date) -> dict[uuid.UUID, tuple[str, int]]:
    """Each account's ARR (minor units) on a date, with its name: the contracts active then,
    each at the ARR of its latest term started by then (the term covering the date, or the
    last one during grace and pending auto-renewal). Accounts without one are absent. One
    query."""
    covering = (
        select(ContractTerm.contract_id, func.max(ContractTerm.number).label("number"))
        .where(ContractTerm.start_date <= on)
        .group_by(ContractTerm.contract_id)
        .subquery()
    )
    term = aliased(ContractTerm)
    rows = await session.execute(
        select(Account.id, Account.name, func.sum(term.arr_minor))
        .select_from(Contract)
        .join(Account, Account.id == Contract.account_id)
        .join(covering, covering.c.contract_id == Contract.id)
        .join(term, and_(term.contract_id == Contract.id, term.number == covering.c.number))
        .where(active_on(on))
        .group_by(Account.id, Account.name)
    )
    return {account_id: (name, int(total)) for account_id, name, total in rows}


async def revenue_retention(
    session: AsyncSession, start: date, end: date, currency: str
) -> RevenueRetentionReport:
    """GRR and NRR over the accounts active on `start`; accounts that became customers
    later are left out, accounts with nothing active on `end` count 0 (churned). A new
    contract of a cohort account counts as expansion. Two queries."""
    at_start = await arr_by_account(session, start)
    at_end = await arr_by_account(session, end)

    def money(minor: int) -> str:
        return format_minor(minor, currency)

    items: list[RevenueRetentionItem] = []
    starting = ending = kept = expansion = contraction = churned = 0
    for account_id, (name, start_arr) in sorted(at_start.items(), key=lambda kv: kv[1][0]):
        end_arr = at_end.get(account_id, (name, 0))[1]
        up = max(end_arr - start_arr, 0)
        lost = start_arr if end_arr == 0 else 0
        down = max(start_arr - end_arr, 0) - lost
        starting += start_arr
        ending += end_arr
        kept += min(start_arr, end_arr)
        expansion += up
        contraction += down
        churned += lost
        items.append(
            RevenueRetentionItem(
                account_id=account_id,
                account_name=name,
                start_arr=money(start_arr),
                end_arr=money(end_arr),
                expansion_arr=money(up),
                contraction_arr=money(down),
                churned_arr=money(lost),
            )
        )
    reason = None
    if not starting:
        reason = (
            "no account had ARR on start" if items else "no account had an active contract on start"
        )
    return RevenueRetentionReport(
        start=start,
        end=end,
        currency=currency,
        accounts=len(items),
        starting_arr=money(starting),
        ending_arr=money(ending),
        expansion_arr=money(expansion),
        contraction_arr=money(contraction),
        churned_arr=money(churned),
        grr=_rate(kept, starting),
        nrr=_rate(ending, starting),
        reason=reason,
        items=items,
    )


# --- 3. Renewal rate -----------------------------------------------------------------


@dataclass
class _Tally:
    outcomes: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(
            ("renewed", "churned", "lapsed", "pending", "upsell", "downsell"), 0
        )
    )

    def counts(self) -> RenewalCounts:
        o = self.outcomes
        decided = o["renewed"] + o["churned"] + o["lapsed"]
        return RenewalCounts(
            **o,
            renewal_rate=_rate(o["renewed"], decided),
            reason=None if decided else "no renewal in the period was decided",
        )


async def renewal_rate(
    session: AsyncSession, start: date, end: date, as_of: date, currency: str
) -> RenewalRateReport:
    """Terms whose end (R) fell in [start, end): `renewed` when the next term exists,
    else `churned` when the contract churned, else `lapsed` once R + 30 days passed by
    `as_of` without auto-renewal, else `pending` (not in the rate). Upsell/downsell compare
    the next term's ARR. The channel is the contract's. One query."""
    term, following = aliased(ContractTerm), aliased(ContractTerm)
    rows = await session.execute(
        select(
            term.contract_id,
            Contract.account_id,
            Contract.partner_id,
            term.number,
            term.end_date,
            term.arr_minor,
            following.arr_minor,
            Contract.status,
            Contract.auto_renew,
        )
        .join(Contract, Contract.id == term.contract_id)
        .outerjoin(
            following,
            and_(following.contract_id == term.contract_id, following.number == term.number + 1),
        )
        .where(term.end_date >= start, term.end_date < end)
        .order_by(term.end_date, term.contract_id)
    )
    total, by_channel = _Tally(), {Channel.DIRECT: _Tally(), Channel.PARTNER: _Tally()}
    items: list[RenewalRateItem] = []
    for contract_id, account_id, partner_id, number, r, arr, next_term_arr, status, auto in rows:
        next_arr: int | None = next_term_arr  # null without a next term (outer join)
        change = None
        if next_arr is not None:
            outcome = "renewed"
            change = "upsell" if next_arr > arr else "downsell" if next_arr < arr else "flat"
        elif status == ContractStatus.CHURNED:
            outcome = "churned"
        elif not auto and as_of >= r + LAPSE_GRACE:
            outcome = "lapsed"
        else:
            outcome = "pending"
        channel = Channel.PARTNER if partner_id is not None else Channel.DIRECT
        for tally in (total, by_channel[channel]):
            tally.outcomes[outcome] += 1
            if change in ("upsell", "downsell"):
                tally.outcomes[change] += 1
        items.append(
            RenewalRateItem(
                contract_id=contract_id,
                account_id=account_id,
                channel=channel,
                term=number,
                renewal_date=r,
                outcome=outcome,
                arr=format_minor(arr, currency),
                next_arr=format_minor(next_arr, currency) if next_arr is not None else None,
                change=change,
            )
        )
    return RenewalRateReport(
        **total.counts().model_dump(),
        start=start,
        end=end,
        as_of=as_of,
        by_channel=RenewalRateByChannel(
            direct=by_channel[Channel.DIRECT].counts(),
            partner=by_channel[Channel.PARTNER].counts(),
        ),
        items=items,
    )


# --- 4. Renewal pipeline -------------------------------------------------------------


async def pipeline(
    session: AsyncSession, as_of: date, within_days: int, currency: str
) -> PipelineReport:
    """Contracts not churned whose R lies in [as_of, as_of + within_days], soonest first,
    with totals; ARR at risk is that of yellow and red contracts. Outreach and budget
    count when a task of that kind is done for the current term (the term ending at the
    contract's R). Two queries: the contracts, then the done tasks of those contracts."""
    in_window = and_(
        Contract.status != ContractStatus.CHURNED,
        Contract.end_date >= as_of,
        Contract.end_date <= as_of + timedelta(days=within_days),
    )
    rows = await session.execute(
        select(
            Contract.id,
            Contract.account_id,
            Account.name,
            Contract.end_date,
            Contract.arr_minor,
            Contract.health_band,
            Account.owner,
            Contract.notice_period_days,
        )
        .join(Account, Account.id == Contract.account_id)
        .where(in_window)
        .order_by(Contract.end_date, Contract.id)
    )
    done_tasks = await session.execute(
        select(Task.contract_id, Task.kind)
        .join(Contract, Contract.id == Task.contract_id)
        .join(
            ContractTerm,
            and_(
                ContractTerm.contract_id == Task.contract_id,
                ContractTerm.number == Task.term,
                ContractTerm.end_date == Contract.end_date,
            ),
        )
        .where(
            in_window,
            Task.kind.in_((OUTREACH, BUDGET)),
            Task.status == TaskStatus.DONE,
        )
        .distinct()
    )
    done = {(contract_id, kind) for contract_id, kind in done_tasks}
    items: list[PipelineItem] = []
    total = at_risk = 0
    for cid, aid, name, r, arr, band, owner, notice in rows:
        total += arr
        at_risk += arr if band in AT_RISK_BANDS else 0
        items.append(
            PipelineItem(
                contract_id=cid,
                account_id=aid,
                account_name=name,
                renewal_date=r,
                days_left=(r - as_of).days,
                arr=format_minor(arr, currency),
                health=band,
                owner=owner,
                notice_deadline=r - timedelta(days=notice) if notice else None,
                outreach_done=(cid, OUTREACH) in done,
                budget_confirmed=(cid, BUDGET) in done,
            )
        )
    return PipelineReport(
        as_of=as_of,
        within_days=within_days,
        currency=currency,
        count=len(items),
        arr_total=format_minor(total, currency),
        arr_at_risk=format_minor(at_risk, currency),
        items=items,
    )


# --- 5. Capacity ---------------------------------------------------------------------


@dataclass
class _Load:
    arr: int = 0
    accounts: int = 0
    segments: dict[str, int] = field(default_factory=lambda: dict.fromkeys(Segment, 0))
    open_tasks: int = 0
    upcoming: int = 0


async def capacity(
    session: AsyncSession, as_of: date, arr_per_manager: int, currency: str
) -> CapacityReport:
    """Per account owner (null: unassigned): ARR of active contracts and the accounts
    holding them (segment by that ARR, as account reads show it), against
    `arr_per_manager` (major units); open tasks by task owner; upcoming = planned
    checkpoints opening in (as_of, as_of + 12 weeks]. Three queries; the first returns
    one row per account with an active contract."""
    loads: dict[str | None, _Load] = defaultdict(_Load)
    accounts = await session.execute(
        select(Account.owner, func.sum(Contract.arr_minor))
        .join(Contract, Contract.account_id == Account.id)
        .where(active_on(as_of))
        .group_by(Account.id, Account.owner)
    )
    for owner, arr in accounts:
        load = loads[owner]
        load.arr += int(arr)
        load.accounts += 1
        load.segments[segment_for(from_minor(int(arr), currency))] += 1
    for owner, count in await session.execute(
        select(Task.owner, func.count()).where(Task.status == TaskStatus.OPEN).group_by(Task.owner)
    ):
        loads[owner].open_tasks = int(count)
    for owner, count in await session.execute(
        select(Account.owner, func.count())
        .select_from(Checkpoint)
        .join(Contract, Contract.id == Checkpoint.contract_id)
        .join(Account, Account.id == Contract.account_id)
        .where(
            Checkpoint.status == CheckpointStatus.PLANNED,
            Checkpoint.opens_on > as_of,
            Checkpoint.opens_on <= as_of + UPCOMING_WINDOW,
        )
        .group_by(Account.owner)
    ):
        loads[owner].upcoming = int(count)
    limit_minor = arr_per_manager * 10 ** minor_digits(currency)
    items = [
        CapacityItem(
            owner=owner,
            arr=format_minor(load.arr, currency),
            accounts=load.accounts,
            capacity_ratio=round(float(Decimal(load.arr) / limit_minor), RATE_DIGITS),
            over_capacity=load.arr > limit_minor,
            segments={str(segment): n for segment, n in load.segments.items()},
            open_tasks=load.open_tasks,
            upcoming_tasks=load.upcoming,
        )
        for owner, load in sorted(loads.items(), key=lambda kv: (kv[0] is None, kv[0] or ""))
    ]
    return CapacityReport(
        as_of=as_of,
        currency=currency,
        arr_per_manager=format_minor(limit_minor, currency),
        items=items,
    )
