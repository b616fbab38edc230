from dataclasses import dataclass, replace
from datetime import date, timedelta

import pytest

from shared.rules.stage import stage_for
from shared.rules.types import Stage

S = date(2026, 3, 15)
R = date(2027, 3, 15)
OUTREACH = date(2027, 1, 15)


@dataclass(frozen=True)
class Case:
    as_of: date
    first_start: date = S
    has_pilot: bool = False
    term_number: int = 1
    term_start: date = S
    renewal: date = R
    notice_period_days: int = 0
    churned: bool = False

    def stage(self) -> Stage:
        return stage_for(
            as_of=self.as_of,
            first_start=self.first_start,
            has_pilot=self.has_pilot,
            term_number=self.term_number,
            term_start=self.term_start,
            renewal=self.renewal,
            notice_period_days=self.notice_period_days,
            churned=self.churned,
        )


TERM_2 = Case(as_of=R, term_number=2, term_start=R, renewal=date(2028, 3, 15))


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        pytest.param(Case(S - timedelta(days=1), has_pilot=True), Stage.PILOT, id="pilot-before-S"),
        pytest.param(Case(S, has_pilot=True), Stage.IMPLEMENTATION, id="pilot-ends-at-S"),
        pytest.param(Case(S - timedelta(days=10)), Stage.IMPLEMENTATION, id="no-pilot-before-S"),
        pytest.param(Case(S + timedelta(days=89)), Stage.IMPLEMENTATION, id="day-89"),
        pytest.param(Case(S + timedelta(days=90)), Stage.ADOPTION, id="day-90"),
        pytest.param(Case(OUTREACH - timedelta(days=1)), Stage.ADOPTION, id="day-before-outreach"),
        pytest.param(Case(OUTREACH), Stage.RENEWAL, id="outreach-due"),
        pytest.param(Case(R), Stage.RENEWAL, id="on-R"),
        pytest.param(Case(R + timedelta(days=29)), Stage.RENEWAL, id="grace-last-day"),
        pytest.param(Case(R + timedelta(days=30)), Stage.LAPSED, id="grace-over"),
        pytest.param(
            Case(date(2026, 11, 15), notice_period_days=90),
            Stage.RENEWAL,
            id="notice-moves-renewal-stage-earlier",
        ),
        pytest.param(
            Case(date(2026, 11, 14), notice_period_days=90),
            Stage.ADOPTION,
            id="day-before-notice-outreach",
        ),
        pytest.param(
            Case(S + timedelta(days=20), renewal=S + timedelta(days=60)),
            Stage.RENEWAL,
            id="short-term-renewal-beats-implementation",
        ),
        pytest.param(TERM_2, Stage.ADOPTION, id="term-2-starts-in-adoption"),
        pytest.param(replace(TERM_2, as_of=date(2028, 1, 15)), Stage.RENEWAL, id="term-2-renewal"),
        pytest.param(
            Case(S - timedelta(days=1), has_pilot=True, churned=True),
            Stage.CHURNED,
            id="churned-during-pilot",
        ),
        pytest.param(Case(R + timedelta(days=400), churned=True), Stage.CHURNED, id="churned-late"),
    ],
)
def test_stage_for(case: Case, expected: Stage) -> None:
    assert case.stage() is expected
