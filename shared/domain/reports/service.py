"""The portfolio reports (DESIGN §3.3). Read-only; each runs a fixed number of queries,
whatever the portfolio's size (stated per function). Sums, counts and per-row outcomes
are computed in SQL on both dialects; Python only formats the rows SQL returns (money,
day counts) into the report's items, one row per reported account, term or contract.
"""

from __future__ import annotations

import gc
import uuid
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_CEILING, Decimal
from typing import Any, TypeVarTuple

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Row,
    Select,
    SQLColumnExpression,
    String,
    and_,
    case,
    cast,
    exists,
    false,
    func,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from shared.domain.contracts.derived import active_on
from shared.domain.reports.schemas import (
    CapacityItem,
    CapacityReport,
    PipelineReport,
    RenewalCounts,
    RenewalRateReport,
    RetentionItem,
    RetentionReport,
    RevenueRetentionReport,
)
from shared.enums import Channel, CheckpointStatus, ContractStatus, HealthBand, TaskStatus
from shared.models import Account, Checkpoint, Contract, ContractTerm, Partner, Task
from shared.money import format_minor, minor_digits
from shared.rules.calendar import add_months, notice_deadline
from shared.rules.segments import THRESHOLDS as SEGMENT_THRESHOLDS
from shared.rules.stage import LAPSE_GRACE
from shared.rules.types import Segment

_Ts = TypeVarTuple("_Ts")

RATE_DIGITS = 4
TIER_TARGET_PERCENT = {"silver": 70, "gold": 80}
UPCOMING_WINDOW = timedelta(weeks=12)
AT_RISK_BANDS = (HealthBand.YELLOW.value, HealthBand.RED.value)
OUTREACH, BUDGET = "renewal_outreach", "budget_confirmation"


def _rate(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, RATE_DIGITS) if denominator else None


def _sum_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _total(amount: SQLColumnExpression[Any]) -> ColumnElement[int]:
    """A sum of minor units as an integer: Postgres sums bigints as numeric, which would
    come back as Decimal."""
    return cast(func.coalesce(func.sum(amount), 0), BigInteger)


def format_minor_sql(minor: SQLColumnExpression[int], currency: str) -> ColumnElement[str]:
    """`format_minor` computed by the database, the same text on SQLite and Postgres (integer
    division and remainder of the magnitude, the sign in front; null stays null), so a
    report's rows arrive ready to show: formatting 200,000 amounts in Python took a
    quarter of a second."""
    digits = minor_digits(currency)
    if not digits:
        return cast(minor, String)
    scale = 10**digits
    magnitude = func.abs(minor)
    return (
        case((minor < 0, "-"), else_="")
        + cast(magnitude.op("/", return_type=BigInteger)(scale), String)
        + "."
        + func.substr(cast(magnitude % scale + scale, String), 2)
    )


def _text_id(column: SQLColumnExpression[uuid.UUID]) -> ColumnElement[str]:
    """An id as text for a report row: the item schema parses it natively, where turning
    tens of thousands of SQLite hex strings into `uuid.UUID` in Python costs a
    noticeable share of a report's time."""
    return cast(column, String)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pauses the cyclic garbage collector while a report fetches its rows and turns them
    into items. Each row allocates a few containers, so tens of thousands of them set the
    collector off hundreds of times, each pass walking every object made so far; none of
    them is in a cycle (reference counting frees them all), yet at 100,000 contracts the
    passes took half of a report's CPU time. Other requests served during a fetch (well
    under a second) only have their cycles collected a little later. It resumes on exit
    unless it was already off."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


async def _rows(session: AsyncSession, statement: Select[*_Ts]) -> Sequence[Row[*_Ts]]:
    """Runs a statement of plain columns on the session's connection: the ORM result layer
    adds about 40 % per row and has nothing to do for rows that are not entities."""
    connection = await session.connection()
    with _collector_paused():
        return (await connection.execute(statement)).all()


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


def _latest_term_arr(on: date) -> ColumnElement[int]:
    """The ARR of a contract's latest term started by `on` (the term covering the date, or
    the last one during grace and pending auto-renewal), correlated to `Contract`: one
    backward step on the (contract_id, number) index per contract. SQLite's form."""
    return (
        select(ContractTerm.arr_minor)
        .where(ContractTerm.contract_id == Contract.id, ContractTerm.start_date <= on)
        .order_by(ContractTerm.number.desc())
        .limit(1)
        .scalar_subquery()
    )


def _latest_terms(on: date) -> Any:
    """The same terms as a set, one per contract: started by `on` with no later-numbered
    term started by then. Postgres's form: it plans this as one hash anti-join, where it
    runs a correlated subquery once per contract, several times slower."""
    term, later = aliased(ContractTerm), aliased(ContractTerm)
    return (
        select(term.contract_id, term.arr_minor)
        .where(
            term.start_date <= on,
            ~exists().where(
                later.contract_id == term.contract_id,
                later.number > term.number,
                later.start_date <= on,
            ),
        )
        .subquery()
    )


def _contract_arr(start: date, end: date, dialect: str) -> Any:
    """Per contract active on `start` or `end`: its account and its ARR on each date (null
    when not active then). Materialized, so each contract's terms are looked up once."""
    if dialect == "sqlite":
        statement = select(
            Contract.account_id,
            case((active_on(start), _latest_term_arr(start))).label("start_arr"),
            case((active_on(end), _latest_term_arr(end))).label("end_arr"),
        )
    else:
        at_start, at_end = _latest_terms(start), _latest_terms(end)
        statement = (
            select(
                Contract.account_id,
                at_start.c.arr_minor.label("start_arr"),
                at_end.c.arr_minor.label("end_arr"),
            )
            .outerjoin(at_start, and_(at_start.c.contract_id == Contract.id, active_on(start)))
            .outerjoin(at_end, and_(at_end.c.contract_id == Contract.id, active_on(end)))
        )
    return (
        statement.where(or_(active_on(start), active_on(end)))
        .cte("contract_arr")
        .prefix_with("MATERIALIZED")
    )


async def revenue_retention(
    session: AsyncSession, start: date, end: date, currency: str
) -> RevenueRetentionReport:
    """GRR and NRR over the accounts active on `start`; accounts that became customers
    later are left out, accounts with nothing active on `end` count 0 (churned). A new
    contract of a cohort account counts as expansion. Per account: expansion is the ARR
    gained, churn the whole starting ARR of an account at 0, contraction any other loss.
    One query: the per-account rows, each carrying the cohort's totals."""
    per_contract = _contract_arr(start, end, session.get_bind().dialect.name)
    per_account = (
        select(
            per_contract.c.account_id,
            _total(per_contract.c.start_arr).label("start_arr"),
            _total(per_contract.c.end_arr).label("end_arr"),
        )
        .group_by(per_contract.c.account_id)
        .having(func.count(per_contract.c.start_arr) > 0)
        .subquery()
    )
    start_arr, end_arr = per_account.c.start_arr, per_account.c.end_arr
    churned = case((end_arr == 0, start_arr), else_=0)
    amounts = [
        start_arr,
        end_arr,
        case((end_arr > start_arr, end_arr - start_arr), else_=0),  # expansion
        case((start_arr > end_arr, start_arr - end_arr), else_=0) - churned,  # contraction
        churned,
    ]
    kept = case((end_arr < start_arr, end_arr), else_=start_arr)
    rows = await _rows(
        session,
        select(
            _text_id(Account.id),
            Account.name,
            *(format_minor_sql(amount, currency) for amount in amounts),
            func.count().over(),
            *(cast(func.sum(total).over(), BigInteger) for total in [kept, *amounts]),
        )
        .join(Account, Account.id == per_account.c.account_id)
        .order_by(Account.name, Account.id),
    )
    accounts, kept_total, starting, ending, expansion, contraction, lost = (
        tuple(int(total) for total in rows[0][-7:]) if rows else (0,) * 7
    )
    reason = None
    if not starting:
        reason = (
            "no account had ARR on start" if rows else "no account had an active contract on start"
        )
    with _collector_paused():
        return RevenueRetentionReport.model_validate(
            {
                "start": start,
                "end": end,
                "currency": currency,
                "accounts": accounts,
                "starting_arr": format_minor(starting, currency),
                "ending_arr": format_minor(ending, currency),
                "expansion_arr": format_minor(expansion, currency),
                "contraction_arr": format_minor(contraction, currency),
                "churned_arr": format_minor(lost, currency),
                "grr": _rate(kept_total, starting),
                "nrr": _rate(ending, starting),
                "reason": reason,
                "items": [
                    {
                        "account_id": account_id,
                        "account_name": name,
                        "start_arr": start_text,
                        "end_arr": end_text,
                        "expansion_arr": up,
                        "contraction_arr": down,
                        "churned_arr": gone,
                    }
                    for account_id, name, start_text, end_text, up, down, gone, *_ in rows
                ],
            }
        )


# --- 3. Renewal rate -----------------------------------------------------------------

OUTCOMES = ("renewed", "churned", "lapsed", "pending")
CHANGES = ("upsell", "downsell")


def _counts(tally: dict[str, int]) -> RenewalCounts:
    decided = tally["renewed"] + tally["churned"] + tally["lapsed"]
    return RenewalCounts(
        **tally,
        renewal_rate=_rate(tally["renewed"], decided),
        reason=None if decided else "no renewal in the period was decided",
    )


async def renewal_rate(
    session: AsyncSession, start: date, end: date, as_of: date, currency: str
) -> RenewalRateReport:
    """Terms whose end (R) fell in [start, end): `renewed` when the next term exists,
    else `churned` when the contract churned, else `lapsed` once R + 30 days passed by
    `as_of` without auto-renewal, else `pending` (not in the rate). Upsell/downsell compare
    the next term's ARR. The channel is the contract's. Two queries over the same terms:
    the counts per channel, outcome and change, then the terms themselves."""
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
    for channel_name, outcome_name, change_name, count in await _rows(
        session,
        terms(channel, outcome, change, func.count()).group_by(channel, outcome, change),
    ):
        tally = tallies[Channel(channel_name)]
        tally[outcome_name] += count
        if change_name in CHANGES:
            tally[change_name] += count
    total = {key: sum(t[key] for t in tallies.values()) for key in OUTCOMES + CHANGES}
    rows = await _rows(
        session,
        terms(
            _text_id(term.contract_id),
            _text_id(Contract.account_id),
            channel,
            term.number,
            term.end_date,
            outcome,
            format_minor_sql(term.arr_minor, currency),
            format_minor_sql(following.arr_minor, currency),
            change,
        ).order_by(term.end_date, term.contract_id),
    )
    with _collector_paused():
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
                    ) in rows
                ],
            }
        )


# --- 4. Renewal pipeline -------------------------------------------------------------


async def pipeline(
    session: AsyncSession, as_of: date, within_days: int, currency: str
) -> PipelineReport:
    """Contracts not churned whose R lies in [as_of, as_of + within_days], soonest first,
    with totals; ARR at risk is that of yellow and red contracts. Outreach and budget
    count when a task of that kind is done for the current term (the term ending at the
    contract's R). Two queries: the totals, then the contracts with their done tasks."""
    in_window = and_(
        Contract.status != ContractStatus.CHURNED,
        Contract.end_date >= as_of,
        Contract.end_date <= as_of + timedelta(days=within_days),
    )
    current = aliased(ContractTerm)

    def done(kind: str) -> ColumnElement[bool]:
        return (
            select(Task.id)
            .join(
                current,
                and_(current.contract_id == Task.contract_id, current.number == Task.term),
            )
            .where(
                Task.contract_id == Contract.id,
                Task.kind == kind,
                Task.status == TaskStatus.DONE,
                current.end_date == Contract.end_date,
            )
            .exists()
        )

    at_risk = case((Contract.health_band.in_(AT_RISK_BANDS), Contract.arr_minor), else_=0)
    count, total, risky = (
        await _rows(
            session,
            select(func.count(), _total(Contract.arr_minor), _total(at_risk)).where(in_window),
        )
    )[0]
    rows = await _rows(
        session,
        select(
            _text_id(Contract.id),
            _text_id(Contract.account_id),
            Account.name,
            Contract.end_date,
            format_minor_sql(Contract.arr_minor, currency),
            Contract.health_band,
            Account.owner,
            Contract.notice_period_days,
            done(OUTREACH),
            done(BUDGET),
        )
        .join(Account, Account.id == Contract.account_id)
        .where(in_window)
        .order_by(Contract.end_date, Contract.id),
    )
    with _collector_paused():
        return PipelineReport.model_validate(
            {
                "as_of": as_of,
                "within_days": within_days,
                "currency": currency,
                "count": count,
                "arr_total": format_minor(total, currency),
                "arr_at_risk": format_minor(risky, currency),
                "items": [
                    {
                        "contract_id": contract_id,
                        "account_id": account_id,
                        "account_name": name,
                        "renewal_date": r,
                        "days_left": (r - as_of).days,
                        "arr": arr,
                        "health": band,
                        "owner": owner,
                        "notice_deadline": notice_deadline(r, notice),
                        "outreach_done": outreach,
                        "budget_confirmed": budget,
                    }
                    for (
                        contract_id,
                        account_id,
                        name,
                        r,
                        arr,
                        band,
                        owner,
                        notice,
                        outreach,
                        budget,
                    ) in rows
                ],
            }
        )


# --- 5. Capacity ---------------------------------------------------------------------


@dataclass
class _Load:
    arr: int = 0
    accounts: int = 0
    segments: dict[str, int] = field(default_factory=lambda: dict.fromkeys(Segment, 0))
    open_tasks: int = 0
    upcoming: int = 0


def _segment(arr_minor: ColumnElement[int], currency: str) -> ColumnElement[str]:
    """`segment_for` as SQL on an ARR in minor units: each inclusive threshold in major
    units, scaled exactly to the smallest minor amount that reaches it."""
    digits = minor_digits(currency)
    return case(
        *(
            (arr_minor >= int(threshold.scaleb(digits).to_integral_value(ROUND_CEILING)), seg.value)
            for threshold, seg in SEGMENT_THRESHOLDS
        ),
        else_=Segment.SELF_SERVE.value,
    )


async def capacity(
    session: AsyncSession, as_of: date, arr_per_manager: int, currency: str
) -> CapacityReport:
    """Per account owner (null: unassigned): ARR of active contracts and the accounts
    holding them (segment by that ARR, as account reads show it), against
    `arr_per_manager` (major units); open tasks by task owner; upcoming = planned
    checkpoints opening in (as_of, as_of + 12 weeks]. Three queries, each one row per
    owner."""
    loads: dict[str | None, _Load] = defaultdict(_Load)
    per_account = (
        select(Account.owner, _total(Contract.arr_minor).label("arr"))
        .join(Contract, Contract.account_id == Account.id)
        .where(active_on(as_of))
        .group_by(Account.id, Account.owner)
        .subquery()
    )
    segment = _segment(per_account.c.arr, currency)
    for owner, arr, accounts, *by_segment in await _rows(
        session,
        select(
            per_account.c.owner,
            _total(per_account.c.arr),
            func.count(),
            *(_sum_if(segment == s.value) for s in Segment),
        ).group_by(per_account.c.owner),
    ):
        load = loads[owner]
        load.arr, load.accounts = arr, accounts
        load.segments = dict(zip(Segment, by_segment, strict=True))
    for owner, count in await _rows(
        session,
        select(Task.owner, func.count()).where(Task.status == TaskStatus.OPEN).group_by(Task.owner),
    ):
        loads[owner].open_tasks = count
    for owner, count in await _rows(
        session,
        select(Account.owner, func.count())
        .select_from(Checkpoint)
        .join(Contract, Contract.id == Checkpoint.contract_id)
        .join(Account, Account.id == Contract.account_id)
        .where(
            Checkpoint.status == CheckpointStatus.PLANNED,
            Checkpoint.opens_on > as_of,
            Checkpoint.opens_on <= as_of + UPCOMING_WINDOW,
        )
        .group_by(Account.owner),
    ):
        loads[owner].upcoming = count
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
