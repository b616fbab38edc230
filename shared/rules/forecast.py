"""The renewal forecast of a contract term (issue 19; rules in docs/rules.md "Forecast").

Pure: the domain loads the facts of a term and stores what `settle` decides. A term's
forecast is the engine's proposal until a person overrides it; the override then stands
until it is cleared or the term it was given for is no longer the one being forecast
(a renewal settles the old term as `renewed` and starts the new one afresh).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ForecastCategory(StrEnum):
    COMMIT = "commit"
    PROBABLE = "probable"
    AT_RISK = "at_risk"
    LOST = "lost"
    RENEWED = "renewed"


ENGINE = "engine"
"""`set_by` of a forecast the engine proposed (otherwise the overriding key's name)."""


@dataclass(frozen=True, slots=True)
class TermFacts:
    """What the engine knows about one term when it proposes its forecast.

    `successor_arr_minor` is the next term's ARR when the term has been renewed;
    `expansion_arr_minor` the ARR an account manager recorded on the term's latest done
    expansion task, if any."""

    arr_minor: int
    health_band: str
    outreach_done: bool
    cancellation_pending: bool
    churned: bool
    successor_arr_minor: int | None = None
    expansion_arr_minor: int | None = None


@dataclass(frozen=True, slots=True)
class Forecast:
    category: ForecastCategory
    expected_arr_minor: int


@dataclass(frozen=True, slots=True)
class Stored:
    """A term's stored forecast, as far as the engine's decision goes."""

    forecast: Forecast
    overridden: bool


def propose(facts: TermFacts) -> Forecast:
    """The engine's proposal, first matching rule wins: a renewed term is `renewed` at
    its successor's ARR; a churned contract or a pending cancellation notice is `lost`,
    expecting nothing; otherwise health decides (red `at_risk`, yellow `probable`,
    green `commit` once the renewal outreach is done, else `probable`), expecting the
    ARR of the latest recorded expansion or else the term's own ARR."""
    if facts.successor_arr_minor is not None:
        return Forecast(ForecastCategory.RENEWED, facts.successor_arr_minor)
    if facts.churned or facts.cancellation_pending:
        return Forecast(ForecastCategory.LOST, 0)
    expected = (
        facts.expansion_arr_minor if facts.expansion_arr_minor is not None else facts.arr_minor
    )
    if facts.health_band == "red":
        return Forecast(ForecastCategory.AT_RISK, expected)
    if facts.health_band == "green" and facts.outreach_done:
        return Forecast(ForecastCategory.COMMIT, expected)
    return Forecast(ForecastCategory.PROBABLE, expected)


def settle(stored: Stored | None, facts: TermFacts) -> Forecast | None:
    """The forecast the engine writes for a term, or None to leave the stored one as it
    is: unchanged proposals write nothing, and an override stands unless the term has
    been renewed since (its renewal is a fact, not a forecast any more)."""
    proposal = propose(facts)
    if stored is None:
        return proposal
    if stored.overridden and proposal.category is not ForecastCategory.RENEWED:
        return None
    if not stored.overridden and stored.forecast == proposal:
        return None
    return proposal
