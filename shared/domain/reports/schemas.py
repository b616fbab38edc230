"""What the portfolio reports return (DESIGN §3.3, issue 6 §9).

Every report is a summary plus `items`, the rows its CSV and terminal table show. The
reports with one row per account, term or contract page those rows (`next_cursor`, null on
the last page); their summary always covers every row. Money
is a decimal string in the deployment currency; rates are decimals between 0 and 1, null
(with a `reason`) when their denominator is zero.
"""

from __future__ import annotations

import uuid
from datetime import date

from pydantic import BaseModel

from shared.enums import Channel
from shared.rules.forecast import ForecastCategory


class RetentionItem(BaseModel):
    """One partner, or the direct channel (`channel` = `direct`, no partner) for comparison.
    `closed` counts contracts churned or lapsed in the window; `excluded` the churns left
    out for their reason."""

    partner_id: uuid.UUID | None
    partner_name: str | None
    channel: Channel
    tier: str | None
    active: int
    closed: int
    excluded: int
    retention_rate: float | None
    target: float | None
    meets_tier: bool | None


class RetentionReport(BaseModel):
    as_of: date
    window_start: date
    group_by: str
    excluded_reasons: list[str]
    items: list[RetentionItem]


class RevenueRetentionItem(BaseModel):
    account_id: uuid.UUID
    account_name: str
    start_arr: str
    end_arr: str
    expansion_arr: str
    contraction_arr: str
    churned_arr: str


class RevenueRetentionReport(BaseModel):
    start: date
    end: date
    currency: str
    accounts: int
    starting_arr: str
    ending_arr: str
    expansion_arr: str
    contraction_arr: str
    churned_arr: str
    grr: float | None
    nrr: float | None
    reason: str | None
    items: list[RevenueRetentionItem]
    next_cursor: str | None


class RenewalCounts(BaseModel):
    """`pending` renewals (in grace or awaiting an auto-renewal) are outside the rate."""

    renewed: int
    churned: int
    lapsed: int
    pending: int
    upsell: int
    downsell: int
    renewal_rate: float | None
    reason: str | None


class RenewalRateByChannel(BaseModel):
    direct: RenewalCounts
    partner: RenewalCounts


class RenewalRateItem(BaseModel):
    contract_id: uuid.UUID
    account_id: uuid.UUID
    channel: Channel
    term: int
    renewal_date: date
    outcome: str
    arr: str
    next_arr: str | None
    change: str | None


class RenewalRateReport(RenewalCounts):
    start: date
    end: date
    as_of: date
    by_channel: RenewalRateByChannel
    items: list[RenewalRateItem]
    next_cursor: str | None


class PipelineItem(BaseModel):
    contract_id: uuid.UUID
    account_id: uuid.UUID
    account_name: str
    renewal_date: date
    days_left: int
    arr: str
    health: str
    owner: str | None
    notice_deadline: date | None
    outreach_done: bool
    budget_confirmed: bool


class PipelineReport(BaseModel):
    as_of: date
    within_days: int
    currency: str
    count: int
    arr_total: str
    arr_at_risk: str
    items: list[PipelineItem]
    next_cursor: str | None


class CapacityItem(BaseModel):
    owner: str | None
    arr: str
    accounts: int
    capacity_ratio: float
    over_capacity: bool
    segments: dict[str, int]
    open_tasks: int
    upcoming_tasks: int


class CapacityReport(BaseModel):
    as_of: date
    currency: str
    arr_per_manager: str
    items: list[CapacityItem]


class ForecastAmounts(BaseModel):
    """The ARR of the terms renewing in a period, by forecast category, and what they
    are expected to renew at."""

    contracts: int
    commit_arr: str
    probable_arr: str
    at_risk_arr: str
    lost_arr: str
    renewed_arr: str
    arr_total: str
    expected_arr: str


class ForecastMonth(BaseModel):
    """A month of R (`YYYY-MM`) with `ForecastAmounts`' fields, the month first so the
    CSV and the terminal table start with it."""

    month: str
    contracts: int
    commit_arr: str
    probable_arr: str
    at_risk_arr: str
    lost_arr: str
    renewed_arr: str
    arr_total: str
    expected_arr: str


class ForecastReport(BaseModel):
    as_of: date
    months: int
    until: date
    currency: str
    owner: str | None
    partner_id: uuid.UUID | None
    segment: str | None
    totals: ForecastAmounts
    items: list[ForecastMonth]


class ForecastContract(BaseModel):
    """A term the forecast counts, with its contract: what one month of the report sums."""

    contract_id: uuid.UUID
    account_name: str
    renewal_date: date
    category: ForecastCategory
    arr: str
    expected_arr: str
    overridden: bool
