"""The portfolio generator: reproducible from a seed, and its mixes where
services/demo/mixes.py says they are."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest

from services.demo import mixes
from services.demo.generator import generate
from services.demo.portfolio import Kind, Portfolio

AS_OF = date(2026, 1, 5)


@pytest.fixture(scope="module")
def big() -> Portfolio:
    return generate(2000, seed=7, as_of=AS_OF)


def _share(counts: Counter[str], key: str) -> float:
    return counts[key] / sum(counts.values())


def test_the_same_seed_gives_the_same_portfolio_and_another_seed_another() -> None:
    assert generate(150, seed=3, as_of=AS_OF) == generate(150, seed=3, as_of=AS_OF)
    assert generate(150, seed=3, as_of=AS_OF) != generate(150, seed=4, as_of=AS_OF)


def test_segments_follow_their_weights_and_arr_ranges(big: Portfolio) -> None:
    segments = Counter(a.segment for a in big.accounts)
    for segment, weight in mixes.SEGMENT_WEIGHTS.items():
        assert abs(_share(segments, segment) - weight) < 0.04, segment
    arr: Counter[str] = Counter()
    segment_of = {a.key: a.segment for a in big.accounts}
    for contract in big.contracts:
        arr[contract.account] += contract.arr
    for key, total in arr.items():
        low, high = mixes.SEGMENT_ARR[segment_of[key]]
        assert low - 5 <= total < high, (key, total)


def test_fiscal_years_start_mostly_in_january_and_quarter_months(big: Portfolio) -> None:
    unknown = Counter(a.fiscal_year_start_month is None for a in big.accounts)
    assert abs(_share(unknown, True) - mixes.FISCAL_YEAR_UNKNOWN_SHARE) < 0.03
    months = Counter(
        str(a.fiscal_year_start_month) for a in big.accounts if a.fiscal_year_start_month
    )
    assert 0.48 < _share(months, "1") < 0.62
    assert sum(_share(months, m) for m in ("1", "4", "7", "10")) > 0.9
    assert all(1 <= (a.fiscal_year_start_month or 1) <= 12 for a in big.accounts)


def test_terms_run_one_to_five_years_and_contain_the_start_or_begin_later(big: Portfolio) -> None:
    years = Counter(round((c.end - c.start).days / 365.25) for c in big.contracts)
    assert set(years) <= set(mixes.TERM_YEARS)
    assert years[1] > years[3] > years[4]
    assert all(c.start <= big.until and c.end > big.as_of for c in big.contracts)
    new = [c for c in big.contracts if c.start > big.as_of]
    assert abs(len(new) / len(big.contracts) - mixes.NEW_DEAL_SHARE) < 0.04


def test_pilots_come_before_new_large_deals_and_trials_with_small_ones(big: Portfolio) -> None:
    segment_of = {a.key: a.segment for a in big.accounts}
    large = ("enterprise", "mid_market")
    pilots = [c for c in big.contracts if c.pilot_start]
    trials = [c for c in big.contracts if c.trial_end]
    assert pilots
    assert trials
    for c in pilots:
        assert segment_of[c.account] in large
        assert c.start > big.as_of
        assert c.pilot_start
        assert c.pilot_end
        assert c.pilot_start < c.pilot_end < c.start
    for c in trials:
        assert segment_of[c.account] not in large
        assert c.trial_end
        assert c.trial_end < c.end


def test_auto_renewal_is_for_small_customers_with_a_notice_period(big: Portfolio) -> None:
    segment_of = {c.key: next(a.segment for a in big.accounts if a.key == c.account)
                  for c in big.contracts[:600]}  # fmt: skip
    auto = Counter(segment_of[c.key] for c in big.contracts[:600] if c.auto_renew)
    everyone = Counter(segment_of.values())
    assert auto["scale"] / everyone["scale"] > auto["mid_market"] / everyone["mid_market"]
    assert all(c.notice_period_days in (30, 60, 90) for c in big.contracts if c.auto_renew)


def test_partners_have_tiers_and_bring_about_a_third_of_accounts(big: Portfolio) -> None:
    tiers = {p.tier for p in big.partners}
    assert {"gold", "silver"} <= tiers
    brought = sum(1 for a in big.accounts if a.partner) / len(big.accounts)
    assert abs(brought - mixes.PARTNER_SHARE) < 0.04
    assert len(big.managers) == round(2000 / mixes.ACCOUNTS_PER_MANAGER)
    assert {a.owner for a in big.accounts} <= set(big.managers)


def test_every_account_has_one_business_owner_and_larger_ones_more_people(
    big: Portfolio,
) -> None:
    for account in big.accounts:
        roles = Counter(s.role for s in account.stakeholders)
        assert roles["business_owner"] == 1
        if account.segment == "enterprise":
            assert {"champion", "executive_sponsor"} <= roles.keys()
    emails = [s.email for a in big.accounts for s in a.stakeholders]
    assert len(set(emails)) == len(emails)


def test_the_year_holds_every_kind_of_happening_in_date_order(big: Portfolio) -> None:
    kinds = Counter(h.kind for h in big.happenings)
    assert set(kinds) == set(Kind)
    days = [h.day for h in big.happenings]
    assert days == sorted(days)
    assert big.as_of <= days[0]
    assert days[-1] < big.until
    left = kinds[Kind.STAKEHOLDER_LEFT] / len(big.accounts)
    assert abs(left - mixes.BUSINESS_OWNER_LEAVES) < 0.03
    renewing = [c for c in big.contracts if big.as_of < c.end < big.until and not c.auto_renew]
    assert 0.5 < kinds[Kind.RENEWAL] / len(renewing) < 0.9


def test_renewals_expand_contract_or_stay_flat_and_start_a_new_term_at_r(
    big: Portfolio,
) -> None:
    by_key = {c.key: c for c in big.contracts}
    changes = Counter()
    for h in big.happenings:
        if h.kind is Kind.RENEWAL:
            old = by_key[h.contract or ""]
            assert h.end
            assert h.end > old.end
            assert h.arr
            changes["up" if h.arr > old.arr else "down" if h.arr < old.arr else "flat"] += 1
    assert abs(_share(changes, "up") - mixes.EXPANSION_SHARE) < 0.08
    assert changes["down"]
    assert changes["flat"]
