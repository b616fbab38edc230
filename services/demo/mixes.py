"""The mixes of the demo portfolio: what a B2B vendor selling to companies of every size
might see. Module constants, so tests and benchmarks check the generated portfolio
against them (services/demo/generator.py draws it):

- segments (by account ARR, DESIGN §3) and their ARR ranges, drawn log-uniformly;
- fiscal years starting in January for most customers, April/July/October for many,
  and not yet known for some (nobody asked);
- pilots ahead of new enterprise and mid-market deals, trials ahead of small ones;
- terms of one to five years, longer for larger customers; auto-renewal mostly for
  small customers, with a notice period;
- partners in gold and silver tiers (and one without a tier) bringing a share of accounts;
- an account manager per `ACCOUNTS_PER_MANAGER` accounts;
- and for the year: business owners leaving, goals slipping, usage dips, churns,
  lapses, cancellation notices, expansions and contractions.
"""

from __future__ import annotations

SEGMENT_WEIGHTS = {  # by count of customers: many small ones, a few large
    "enterprise": 0.05,
    "mid_market": 0.15,
    "growth": 0.30,
    "scale": 0.30,
    "self_serve": 0.20,
}
SEGMENT_ARR = {  # account ARR, whole currency units: [low, high)
    "enterprise": (100_000, 600_000),
    "mid_market": (20_000, 100_000),
    "growth": (5_000, 20_000),
    "scale": (1_000, 5_000),
    "self_serve": (240, 1_000),
}
CONTRACTS_PER_ACCOUNT = {  # at most this many contracts share the account's ARR
    "enterprise": 3,
    "mid_market": 2,
    "growth": 1,
    "scale": 1,
    "self_serve": 1,
}
FISCAL_MONTH_WEIGHTS = {1: 0.55, 4: 0.15, 7: 0.15, 10: 0.10, 2: 0.01, 3: 0.01, 5: 0.01, 6: 0.01,
                        8: 0.004, 9: 0.003, 11: 0.003}  # fmt: skip
FISCAL_YEAR_UNKNOWN_SHARE = 0.15
TERM_YEARS = (1, 2, 3, 4, 5)
TERM_WEIGHTS = {  # per segment, over TERM_YEARS
    "enterprise": (0.30, 0.20, 0.30, 0.05, 0.15),
    "mid_market": (0.50, 0.20, 0.22, 0.03, 0.05),
    "growth": (0.70, 0.15, 0.12, 0.01, 0.02),
    "scale": (0.90, 0.07, 0.03, 0.0, 0.0),
    "self_serve": (1.0, 0.0, 0.0, 0.0, 0.0),
}
AUTO_RENEW_SHARE = {
    "enterprise": 0.10,
    "mid_market": 0.20,
    "growth": 0.40,
    "scale": 0.80,
    "self_serve": 0.95,
}
GOALS_PER_CONTRACT = {  # 70 % of contracts agree this many goals, the rest none
    "enterprise": 2,
    "mid_market": 1,
    "growth": 1,
    "scale": 0,
    "self_serve": 0,
}
USAGE_EVERY_DAYS = 180
"""Usage reports, from contracts with at least `USAGE_MIN_SEATS` seats."""
USAGE_MIN_SEATS = 10
NEW_DEAL_SHARE = 0.15
"""Contracts whose first term starts during the simulated year (signed just before)."""
PILOT_SHARE = 0.6
"""Of new enterprise and mid-market deals."""
TRIAL_SHARE = 0.5
"""Of new growth, scale and self-serve deals."""
BUDGET_LEAD_DAYS = (60, 90, 90, 90, 120)
"""Drawn uniformly: most customers fix next year's budget three months ahead."""
PARTNER_SHARE = 0.35
"""Of accounts, brought by a partner."""
PARTNER_TIERS: tuple[str | None, ...] = ("gold", "silver", "silver", "gold", "silver", None)
WEAK_PARTNER_CHURN = 0.6
"""Added to the churn share of contracts sold through the second partner: partners
differ, and retention against tiers should show it."""
TROUBLE_AHEAD = 0.5
"""Of contracts with goals renewing in the 90 days after the year: adoption falls and a
goal slips in its last weeks, so the pipeline has ARR at risk to show."""
ACCOUNTS_PER_MANAGER = 25

BUSINESS_OWNER_LEAVES = 0.12
"""Of accounts, during the year."""
GOAL_SLIPS = 0.20
"""Of goals, during the year."""
ADDON_TRIAL_SHARE = 0.08
"""Of contracts with a usage report, a 30-day trial of more users or modules in the year."""
USAGE_DIP = 0.12
"""Of contracts, a dip below half the seats for a few months."""
CHURN_SHARE = 0.12
"""Of non-auto-renewing contracts renewing in the year, before the signals add to it."""
LAPSE_SHARE = 0.05
CANCELLATION_SHARE = 0.10
"""Of auto-renewing contracts renewing in the year."""
EXPANSION_SHARE = 0.30
"""Of renewals."""
CONTRACTION_SHARE = 0.12
PRICE_PER_SEAT = (250, 1_200)
"""Yearly price of a seat: seats = ARR / a price in this range."""
