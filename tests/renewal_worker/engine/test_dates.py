import calendar
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.rules.calendar import (
    add_months,
    fiscal_year_start,
    renewal_outreach_due,
)

dates = st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31))
month_shifts = st.integers(min_value=-240, max_value=240)


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        pytest.param(date(2027, 4, 30), -2, date(2027, 2, 28), id="spec-back-to-common-february"),
        pytest.param(date(2028, 2, 29), 12, date(2029, 2, 28), id="spec-leap-day-plus-a-year"),
        pytest.param(date(2028, 1, 31), 1, date(2028, 2, 29), id="into-leap-february"),
        pytest.param(date(2027, 1, 31), 1, date(2027, 2, 28), id="into-common-february"),
        pytest.param(date(2024, 3, 31), -1, date(2024, 2, 29), id="back-to-leap-february"),
        pytest.param(date(2026, 8, 31), 1, date(2026, 9, 30), id="into-30-day-month"),
        pytest.param(date(2024, 2, 29), 48, date(2028, 2, 29), id="leap-day-to-leap-day"),
        pytest.param(date(2024, 2, 29), -12, date(2023, 2, 28), id="leap-day-back-a-year"),
        pytest.param(date(2026, 12, 15), 1, date(2027, 1, 15), id="forward-over-new-year"),
        pytest.param(date(2026, 1, 15), -1, date(2025, 12, 15), id="back-over-new-year"),
        pytest.param(date(2026, 1, 15), -25, date(2023, 12, 15), id="back-several-years"),
        pytest.param(date(2026, 5, 31), 0, date(2026, 5, 31), id="zero-months"),
        pytest.param(date(2026, 1, 31), 60, date(2031, 1, 31), id="five-years"),
    ],
)
def test_add_months_clamps_to_month_end(start: date, months: int, expected: date) -> None:
    assert add_months(start, months) == expected


def test_add_months_from_origin_differs_from_stepping() -> None:
    # Why the plan never steps: clamping loses the day of month for good.
    origin = date(2026, 1, 31)
    assert add_months(add_months(origin, 1), 1) == date(2026, 3, 28)
    assert add_months(origin, 2) == date(2026, 3, 31)


@given(d=dates, months=month_shifts)
def test_add_months_keeps_the_day_unless_the_month_is_shorter(d: date, months: int) -> None:
    result = add_months(d, months)
    assert (result.year * 12 + result.month) - (d.year * 12 + d.month) == months
    assert result.day == min(d.day, calendar.monthrange(result.year, result.month)[1])


@given(d=dates, months=month_shifts)
def test_add_months_round_trip_returns_the_same_month_clamped(d: date, months: int) -> None:
    back = add_months(add_months(d, months), -months)
    assert (back.year, back.month) == (d.year, d.month)
    assert back.day <= d.day
    if d.day <= 28:
        assert back == d


@given(a=dates, b=dates, months=month_shifts)
def test_add_months_preserves_order(a: date, b: date, months: int) -> None:
    low, high = sorted((a, b))
    assert add_months(low, months) <= add_months(high, months)


@pytest.mark.parametrize(
    ("start_month", "expected"),
    [
        (1, date(2027, 1, 1)),
        (2, date(2027, 2, 1)),
        (3, date(2027, 3, 1)),
        (4, date(2026, 4, 1)),
        (5, date(2026, 5, 1)),
        (6, date(2026, 6, 1)),
        (7, date(2026, 7, 1)),
        (8, date(2026, 8, 1)),
        (9, date(2026, 9, 1)),
        (10, date(2026, 10, 1)),
        (11, date(2026, 11, 1)),
        (12, date(2026, 12, 1)),
    ],
    ids=[calendar.month_abbr[m] for m in range(1, 13)],
)
def test_fiscal_year_start_is_latest_start_on_or_before(start_month: int, expected: date) -> None:
    assert fiscal_year_start(date(2027, 3, 15), start_month) == expected


@pytest.mark.parametrize(
    ("on", "expected"),
    [
        pytest.param(date(2027, 4, 1), date(2027, 4, 1), id="on-the-first-day"),
        pytest.param(date(2027, 3, 31), date(2026, 4, 1), id="the-day-before"),
        pytest.param(date(2027, 12, 31), date(2027, 4, 1), id="end-of-calendar-year"),
    ],
)
def test_fiscal_year_start_boundaries(on: date, expected: date) -> None:
    assert fiscal_year_start(on, 4) == expected


@pytest.mark.parametrize("start_month", [0, 13, -1])
def test_fiscal_year_start_rejects_months_outside_1_to_12(start_month: int) -> None:
    with pytest.raises(ValueError, match=r"1\.\.12"):
        fiscal_year_start(date(2027, 3, 15), start_month)


@given(d=dates, start_month=st.integers(min_value=1, max_value=12))
def test_fiscal_year_start_lies_within_the_year_before(d: date, start_month: int) -> None:
    fys = fiscal_year_start(d, start_month)
    assert fys.month == start_month
    assert fys.day == 1
    assert fys <= d < date(fys.year + 1, start_month, 1)


@pytest.mark.parametrize(
    ("renewal", "notice", "expected"),
    [
        pytest.param(date(2027, 3, 15), 0, date(2027, 1, 15), id="no-notice-two-months"),
        pytest.param(date(2027, 3, 15), 29, date(2027, 1, 15), id="notice-29-ties"),
        pytest.param(date(2027, 3, 15), 30, date(2027, 1, 14), id="notice-30-earlier"),
        pytest.param(date(2027, 3, 15), 90, date(2026, 11, 15), id="notice-90"),
        pytest.param(date(2027, 4, 30), 0, date(2027, 2, 28), id="clamped-two-months"),
        pytest.param(date(2027, 4, 30), 31, date(2027, 2, 28), id="clamped-ties-notice"),
        pytest.param(date(2027, 4, 30), 32, date(2027, 2, 27), id="clamped-notice-earlier"),
    ],
)
def test_renewal_outreach_due_takes_the_earlier_date(
    renewal: date, notice: int, expected: date
) -> None:
    assert renewal_outreach_due(renewal, notice) == expected
