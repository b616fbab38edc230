"""The forecast rule: a table from the issue's rules, and properties of `settle`."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.rules.forecast import Forecast, ForecastCategory, Stored, TermFacts, propose, settle

C = ForecastCategory
BASE = TermFacts(
    arr_minor=1_000_000,
    health_band="green",
    outreach_done=False,
    cancellation_pending=False,
    churned=False,
)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param({"successor_arr_minor": 1_200_000}, (C.RENEWED, 1_200_000), id="renewed"),
        pytest.param(
            {"successor_arr_minor": 900_000, "cancellation_pending": True, "health_band": "red"},
            (C.RENEWED, 900_000),
            id="renewed-beats-everything",
        ),
        pytest.param({"cancellation_pending": True}, (C.LOST, 0), id="notice-pending"),
        pytest.param({"churned": True, "outreach_done": True}, (C.LOST, 0), id="churned"),
        pytest.param({"health_band": "red"}, (C.AT_RISK, 1_000_000), id="red"),
        pytest.param(
            {"health_band": "red", "outreach_done": True}, (C.AT_RISK, 1_000_000), id="red-done"
        ),
        pytest.param({"health_band": "yellow"}, (C.PROBABLE, 1_000_000), id="yellow"),
        pytest.param(
            {"health_band": "yellow", "outreach_done": True}, (C.PROBABLE, 1_000_000), id="yel-done"
        ),
        pytest.param({}, (C.PROBABLE, 1_000_000), id="green-outreach-open"),
        pytest.param({"outreach_done": True}, (C.COMMIT, 1_000_000), id="green-outreach-done"),
        pytest.param(
            {"outreach_done": True, "expansion_arr_minor": 1_500_000},
            (C.COMMIT, 1_500_000),
            id="expansion-recorded",
        ),
        pytest.param(
            {"health_band": "red", "expansion_arr_minor": 0}, (C.AT_RISK, 0), id="expansion-zero"
        ),
        pytest.param(
            {"cancellation_pending": True, "expansion_arr_minor": 1_500_000},
            (C.LOST, 0),
            id="lost-ignores-expansion",
        ),
    ],
)
def test_the_engine_proposes_by_the_first_matching_rule(
    changes: dict[str, object], expected: tuple[ForecastCategory, int]
) -> None:
    proposal = propose(replace(BASE, **changes))  # type: ignore[arg-type]
    assert (proposal.category, proposal.expected_arr_minor) == expected


def test_a_term_without_a_forecast_gets_the_proposal() -> None:
    assert settle(None, BASE) == Forecast(C.PROBABLE, 1_000_000)


def test_an_unchanged_proposal_writes_nothing() -> None:
    assert settle(Stored(Forecast(C.PROBABLE, 1_000_000), overridden=False), BASE) is None


def test_a_renewal_replaces_an_override_of_the_renewed_term() -> None:
    stored = Stored(Forecast(C.AT_RISK, 5), overridden=True)
    assert settle(stored, replace(BASE, successor_arr_minor=7)) == Forecast(C.RENEWED, 7)


facts = st.builds(
    TermFacts,
    arr_minor=st.integers(min_value=0, max_value=2**63 - 1),
    health_band=st.sampled_from(["green", "yellow", "red"]),
    outreach_done=st.booleans(),
    cancellation_pending=st.booleans(),
    churned=st.booleans(),
    successor_arr_minor=st.none() | st.integers(min_value=0, max_value=2**63 - 1),
    expansion_arr_minor=st.none() | st.integers(min_value=0, max_value=2**63 - 1),
)
forecasts = st.builds(
    Forecast,
    category=st.sampled_from(ForecastCategory),
    expected_arr_minor=st.integers(min_value=0, max_value=2**63 - 1),
)


@given(facts)
def test_the_category_is_always_one_of_the_five(term: TermFacts) -> None:
    assert propose(term).category in set(ForecastCategory)
    assert len(ForecastCategory) == 5


@given(forecasts, facts)
def test_an_override_stands_while_the_term_is_not_renewed(
    override: Forecast, term: TermFacts
) -> None:
    unrenewed = replace(term, successor_arr_minor=None)
    assert settle(Stored(override, overridden=True), unrenewed) is None


@given(st.none() | forecasts, facts)
def test_settling_twice_writes_once(stored: Forecast | None, term: TermFacts) -> None:
    first = settle(Stored(stored, overridden=False) if stored else None, term)
    now = first or stored
    assert now is not None
    assert settle(Stored(now, overridden=False), term) is None
