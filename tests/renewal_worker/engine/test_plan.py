from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest

from services.renewal_worker.engine.plan import (
    PlannedCheckpoint,
    TermPlanInput,
    plan_term,
    skipped_at_creation,
    winback_checkpoint,
)
from shared.rules.types import CheckpointKind, Segment

K = CheckpointKind
S = date(2026, 3, 15)
R = date(2027, 3, 15)

# The worked example of DESIGN §3.1.
EXAMPLE = TermPlanInput(
    term_number=1,
    start=S,
    renewal=R,
    segment=Segment.GROWTH,
    fiscal_year_start_month=1,
    budget_lead_days=90,
    auto_renew=False,
    notice_period_days=0,
)

Row = tuple[CheckpointKind, int, date]


def term(**changes: Any) -> TermPlanInput:
    return replace(EXAMPLE, **changes)


def rows(inp: TermPlanInput) -> list[Row]:
    return [(c.kind, c.ordinal, c.due_date) for c in plan_term(inp)]


def dues(inp: TermPlanInput) -> dict[tuple[CheckpointKind, int], date]:
    return {(c.kind, c.ordinal): c.due_date for c in plan_term(inp)}


def kinds(inp: TermPlanInput) -> set[CheckpointKind]:
    return {c.kind for c in plan_term(inp)}


def d(text: str) -> date:
    return date.fromisoformat(text)


WORKED_EXAMPLE: list[Row] = [
    (K.KICKOFF, 0, d("2026-03-18")),
    (K.IMPLEMENTATION_CHECK, 0, d("2026-04-14")),
    (K.ADOPTION_REVIEW, 0, d("2026-06-13")),
    (K.MID_TERM_REVIEW, 0, d("2026-09-13")),
    (K.BUDGET_CONFIRMATION, 0, d("2026-10-03")),
    (K.RENEWAL_OUTREACH, 0, d("2027-01-15")),
    (K.RENEWAL_DUE, 0, d("2027-03-01")),
    (K.RENEWAL_OVERDUE, 0, d("2027-03-16")),
]


def test_worked_example_plans_exactly_the_spec_rows() -> None:
    assert rows(EXAMPLE) == WORKED_EXAMPLE


def test_april_fiscal_year_moves_budget_confirmation_to_kickoff() -> None:
    expected = [
        (K.BUDGET_CONFIRMATION, 0, d("2026-03-18")),
        *[row for row in WORKED_EXAMPLE if row[0] is not K.BUDGET_CONFIRMATION],
    ]
    assert rows(term(fiscal_year_start_month=4)) == expected


@pytest.mark.parametrize(
    ("kind", "days_before"),
    [
        (K.KICKOFF, 7),
        (K.IMPLEMENTATION_CHECK, 7),
        (K.ADOPTION_REVIEW, 7),
        (K.MID_TERM_REVIEW, 7),
        (K.ANNIVERSARY_REVIEW, 7),
        (K.BUDGET_CONFIRMATION, 30),
        (K.RENEWAL_OUTREACH, 14),
        (K.NOTICE_DEADLINE, 14),
        (K.RENEWAL_DUE, 0),
        (K.RENEWAL_OVERDUE, 0),
        (K.PILOT_KICKOFF, 7),
        (K.PILOT_REVIEW, 7),
        (K.TRIAL_ENDING, 7),
    ],
    ids=str,
)
def test_each_row_opens_its_offset_before_its_due_date(
    kind: CheckpointKind, days_before: int
) -> None:
    everything = term(
        segment=Segment.ENTERPRISE,
        renewal=d("2029-03-15"),
        notice_period_days=30,
        pilot_start=d("2026-01-15"),
        pilot_end=d("2026-03-01"),
        trial_end=d("2026-04-15"),
    )
    matching = [c for c in plan_term(everything) if c.kind is kind]
    assert matching
    for checkpoint in matching:
        assert checkpoint.due_date - checkpoint.opens_on == timedelta(days=days_before)


def test_auto_renewal_replaces_renewal_due_and_overdue() -> None:
    plan = plan_term(term(auto_renew=True))
    assert [c for c in plan if c.kind in {K.AUTO_RENEWAL, K.AUTO_RENEWAL_CONFIRMATION}] == [
        PlannedCheckpoint(K.AUTO_RENEWAL_CONFIRMATION, 0, d("2027-03-01"), d("2027-02-15")),
        PlannedCheckpoint(K.AUTO_RENEWAL, 0, R, R),
    ]
    assert not {K.RENEWAL_DUE, K.RENEWAL_OVERDUE} & {c.kind for c in plan}


def test_not_auto_renewing_has_no_auto_renewal_row() -> None:
    plan = plan_term(EXAMPLE)
    assert PlannedCheckpoint(K.RENEWAL_DUE, 0, d("2027-03-01"), d("2027-03-01")) in plan
    assert PlannedCheckpoint(K.RENEWAL_OVERDUE, 0, d("2027-03-16"), d("2027-03-16")) in plan
    assert K.AUTO_RENEWAL not in kinds(EXAMPLE)


# --- fiscal years and budget leads -------------------------------------------------------


@pytest.mark.parametrize(
    ("start_month", "expected"),
    [
        pytest.param(1, d("2026-10-03"), id="Jan"),
        pytest.param(2, d("2026-11-03"), id="Feb"),
        pytest.param(3, d("2026-12-01"), id="Mar"),
        pytest.param(4, d("2026-03-18"), id="Apr-moved-to-kickoff"),
        pytest.param(5, d("2026-03-18"), id="May-moved-to-kickoff"),
        pytest.param(6, d("2026-03-18"), id="Jun-moved-to-kickoff"),
        pytest.param(7, d("2026-04-02"), id="Jul"),
        pytest.param(8, d("2026-05-03"), id="Aug"),
        pytest.param(9, d("2026-06-03"), id="Sep"),
        pytest.param(10, d("2026-07-03"), id="Oct"),
        pytest.param(11, d("2026-08-03"), id="Nov"),
        pytest.param(12, d("2026-09-02"), id="Dec"),
    ],
)
def test_budget_confirmation_for_every_fiscal_month(start_month: int, expected: date) -> None:
    plan = plan_term(term(fiscal_year_start_month=start_month))
    budget = [c for c in plan if c.kind is K.BUDGET_CONFIRMATION]
    assert budget == [
        PlannedCheckpoint(K.BUDGET_CONFIRMATION, 0, expected, expected - timedelta(days=30))
    ]


@pytest.mark.parametrize(
    ("lead", "expected"),
    [
        pytest.param(0, d("2027-01-01"), id="lead-0-on-fiscal-start"),
        pytest.param(30, d("2026-12-02"), id="lead-30"),
        pytest.param(90, d("2026-10-03"), id="lead-90"),
        pytest.param(180, d("2026-07-05"), id="lead-180"),
        pytest.param(291, d("2026-03-16"), id="lead-291-moved-to-kickoff"),
    ],
)
def test_budget_confirmation_for_budget_leads(lead: int, expected: date) -> None:
    assert dues(term(budget_lead_days=lead))[K.BUDGET_CONFIRMATION, 0] == max(
        expected, d("2026-03-18")
    )


@pytest.mark.parametrize(
    ("lead", "expected"),
    [
        pytest.param(88, d("2026-10-05"), id="after-kickoff-stays"),
        pytest.param(89, d("2026-10-04"), id="on-kickoff"),
        pytest.param(90, d("2026-10-04"), id="day-before-kickoff-moves"),
        pytest.param(180, d("2026-10-04"), id="long-before-start-moves"),
    ],
)
def test_budget_fixed_on_or_before_kickoff_moves_to_kickoff(lead: int, expected: date) -> None:
    # S = 2026-10-01, kickoff 2026-10-04, FYS(R) = 2027-01-01.
    inp = term(start=d("2026-10-01"), renewal=d("2027-10-01"), budget_lead_days=lead)
    assert dues(inp)[K.BUDGET_CONFIRMATION, 0] == expected
    assert dues(inp)[K.KICKOFF, 0] == d("2026-10-04")


@pytest.mark.parametrize(
    ("changes", "kept"),
    [
        pytest.param({"fiscal_year_start_month": 2, "budget_lead_days": 18}, True, id="day-before"),
        pytest.param({"fiscal_year_start_month": 2, "budget_lead_days": 17}, False, id="same-day"),
        pytest.param({"fiscal_year_start_month": 3, "budget_lead_days": 0}, False, id="after"),
        pytest.param({"notice_period_days": 132}, True, id="notice-outreach-day-after-budget"),
        pytest.param({"notice_period_days": 133}, False, id="notice-outreach-on-budget-day"),
    ],
)
def test_budget_confirmation_dropped_on_or_after_outreach(
    changes: dict[str, int], kept: bool
) -> None:
    assert (K.BUDGET_CONFIRMATION in kinds(term(**changes))) is kept


def test_budget_moved_to_kickoff_is_dropped_when_outreach_is_not_later() -> None:
    # A 90-day term with a 60-day notice: outreach R - 90 days = S, before the kickoff.
    inp = term(renewal=S + timedelta(days=90), notice_period_days=60)
    assert K.BUDGET_CONFIRMATION not in kinds(inp)


# --- term lengths ------------------------------------------------------------------------


TERM_LENGTHS: list[Any] = [
    pytest.param(
        d("2026-04-15"),
        [(K.RENEWAL_DUE, 0, d("2026-04-01")), (K.RENEWAL_OVERDUE, 0, d("2026-04-16"))],
        id="1-month",
    ),
    pytest.param(
        # 92 days, but a calendar quarter: quarterly terms get the lean plan too.
        d("2026-06-15"),
        [(K.RENEWAL_DUE, 0, d("2026-06-01")), (K.RENEWAL_OVERDUE, 0, d("2026-06-16"))],
        id="3-months",
    ),
    pytest.param(
        d("2026-09-15"),
        [
            (K.BUDGET_CONFIRMATION, 0, d("2026-03-18")),
            (K.KICKOFF, 0, d("2026-03-18")),
            (K.IMPLEMENTATION_CHECK, 0, d("2026-04-14")),
            (K.ADOPTION_REVIEW, 0, d("2026-06-13")),
            (K.MID_TERM_REVIEW, 0, d("2026-06-15")),
            (K.RENEWAL_OUTREACH, 0, d("2026-07-15")),
            (K.RENEWAL_DUE, 0, d("2026-09-01")),
            (K.RENEWAL_OVERDUE, 0, d("2026-09-16")),
        ],
        id="6-months",
    ),
    pytest.param(R, WORKED_EXAMPLE, id="12-months"),
    pytest.param(
        # The first anniversary falls on the mid-term review and is dropped.
        d("2028-03-15"),
        [
            (K.KICKOFF, 0, d("2026-03-18")),
            (K.IMPLEMENTATION_CHECK, 0, d("2026-04-14")),
            (K.ADOPTION_REVIEW, 0, d("2026-06-13")),
            (K.MID_TERM_REVIEW, 0, d("2027-03-15")),
            (K.BUDGET_CONFIRMATION, 0, d("2027-10-03")),
            (K.RENEWAL_OUTREACH, 0, d("2028-01-15")),
            (K.RENEWAL_DUE, 0, d("2028-03-01")),
            (K.RENEWAL_OVERDUE, 0, d("2028-03-16")),
        ],
        id="24-months",
    ),
    pytest.param(
        d("2029-03-15"),
        [
            (K.KICKOFF, 0, d("2026-03-18")),
            (K.IMPLEMENTATION_CHECK, 0, d("2026-04-14")),
            (K.ADOPTION_REVIEW, 0, d("2026-06-13")),
            (K.ANNIVERSARY_REVIEW, 1, d("2027-03-15")),
            (K.MID_TERM_REVIEW, 0, d("2027-09-14")),
            (K.ANNIVERSARY_REVIEW, 2, d("2028-03-15")),
            (K.BUDGET_CONFIRMATION, 0, d("2028-10-03")),
            (K.RENEWAL_OUTREACH, 0, d("2029-01-15")),
            (K.RENEWAL_DUE, 0, d("2029-03-01")),
            (K.RENEWAL_OVERDUE, 0, d("2029-03-16")),
        ],
        id="36-months",
    ),
    pytest.param(
        d("2031-03-15"),
        [
            (K.KICKOFF, 0, d("2026-03-18")),
            (K.IMPLEMENTATION_CHECK, 0, d("2026-04-14")),
            (K.ADOPTION_REVIEW, 0, d("2026-06-13")),
            (K.ANNIVERSARY_REVIEW, 1, d("2027-03-15")),
            (K.ANNIVERSARY_REVIEW, 2, d("2028-03-15")),
            (K.MID_TERM_REVIEW, 0, d("2028-09-13")),
            (K.ANNIVERSARY_REVIEW, 3, d("2029-03-15")),
            (K.ANNIVERSARY_REVIEW, 4, d("2030-03-15")),
            (K.BUDGET_CONFIRMATION, 0, d("2030-10-03")),
            (K.RENEWAL_OUTREACH, 0, d("2031-01-15")),
            (K.RENEWAL_DUE, 0, d("2031-03-01")),
            (K.RENEWAL_OVERDUE, 0, d("2031-03-16")),
        ],
        id="60-months",
    ),
]


@pytest.mark.parametrize(("renewal", "expected"), TERM_LENGTHS)
def test_plan_for_term_lengths(renewal: date, expected: list[Row]) -> None:
    assert rows(term(renewal=renewal)) == expected


def test_a_term_one_day_longer_than_a_quarter_gets_the_full_plan() -> None:
    found = kinds(term(start=d("2026-03-15"), renewal=d("2026-06-16")))
    assert K.KICKOFF in found
    assert K.RENEWAL_OUTREACH in found


def test_quarter_of_89_days_is_a_short_term() -> None:
    inp = term(start=d("2026-02-01"), renewal=d("2026-05-01"))
    assert rows(inp) == [
        (K.RENEWAL_DUE, 0, d("2026-04-17")),
        (K.RENEWAL_OVERDUE, 0, d("2026-05-02")),
    ]


@pytest.mark.parametrize(
    ("length_days", "has_adoption_review", "has_mid_term_review"),
    [
        pytest.param(119, False, False, id="119-days"),
        pytest.param(120, False, True, id="120-days"),
        pytest.param(179, False, True, id="179-days"),
        pytest.param(180, True, True, id="180-days"),
    ],
)
def test_review_rows_need_a_minimum_term_length(
    length_days: int, has_adoption_review: bool, has_mid_term_review: bool
) -> None:
    found = kinds(term(renewal=S + timedelta(days=length_days)))
    assert (K.ADOPTION_REVIEW in found) is has_adoption_review
    assert (K.MID_TERM_REVIEW in found) is has_mid_term_review


def test_mid_term_review_is_half_the_term_rounded_down() -> None:
    assert dues(term(renewal=S + timedelta(days=365)))[K.MID_TERM_REVIEW, 0] == S + timedelta(
        days=182
    )
    assert dues(term(renewal=S + timedelta(days=366)))[K.MID_TERM_REVIEW, 0] == S + timedelta(
        days=183
    )


# --- anniversaries ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("renewal", "kept"),
    [
        pytest.param(d("2028-01-12"), True, id="mid-term-31-days-before"),
        pytest.param(d("2028-01-14"), False, id="mid-term-30-days-before"),
        pytest.param(d("2028-05-13"), False, id="mid-term-30-days-after"),
        pytest.param(d("2028-05-15"), True, id="mid-term-31-days-after"),
    ],
)
def test_anniversary_dropped_within_30_days_of_mid_term(renewal: date, kept: bool) -> None:
    found = dues(term(renewal=renewal))
    distance = abs((found[K.MID_TERM_REVIEW, 0] - d("2027-03-15")).days)
    assert distance == (31 if kept else 30)
    assert ((K.ANNIVERSARY_REVIEW, 1) in found) is kept


@pytest.mark.parametrize(
    ("renewal", "kept"),
    [
        pytest.param(d("2027-09-15"), False, id="on-R-minus-6-months"),
        pytest.param(d("2027-09-16"), True, id="day-before-R-minus-6-months"),
    ],
)
def test_anniversary_strictly_before_six_months_ahead_of_renewal(renewal: date, kept: bool) -> None:
    assert ((K.ANNIVERSARY_REVIEW, 1) in dues(term(renewal=renewal))) is kept


def test_anniversaries_of_a_leap_day_start_fall_on_february_28() -> None:
    start = d("2028-02-29")
    found = dues(term(start=start, renewal=d("2031-02-28")))
    anniversaries = {key: due for key, due in found.items() if key[0] is K.ANNIVERSARY_REVIEW}
    assert anniversaries == {
        (K.ANNIVERSARY_REVIEW, 1): d("2029-02-28"),
        (K.ANNIVERSARY_REVIEW, 2): d("2030-02-28"),
    }


# --- segments ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "segment", [Segment.ENTERPRISE, Segment.MID_MARKET, Segment.GROWTH, Segment.SCALE], ids=str
)
def test_segments_above_self_serve_get_the_standard_plan(segment: Segment) -> None:
    """On-site visits are the account's (`onsite_visits`), not a term's; enterprise and
    mid-market add only their implementation follow-ups (tested on their own)."""
    plan = [row for row in rows(term(segment=segment)) if row[0] is not K.IMPLEMENTATION_FOLLOWUP]
    assert plan == WORKED_EXAMPLE


def test_self_serve_gets_a_lean_plan() -> None:
    assert rows(term(segment=Segment.SELF_SERVE)) == [
        (K.RENEWAL_OUTREACH, 0, d("2027-01-15")),
        (K.RENEWAL_DUE, 0, d("2027-03-01")),
        (K.RENEWAL_OVERDUE, 0, d("2027-03-16")),
    ]


def test_self_serve_keeps_trial_notice_and_auto_renewal() -> None:
    inp = term(
        segment=Segment.SELF_SERVE,
        auto_renew=True,
        notice_period_days=30,
        trial_end=d("2026-04-15"),
        pilot_start=d("2026-02-01"),
        pilot_end=d("2026-03-01"),
    )
    assert rows(inp) == [
        (K.TRIAL_ENDING, 0, d("2026-04-08")),
        (K.RENEWAL_OUTREACH, 0, d("2027-01-14")),
        (K.NOTICE_DEADLINE, 0, d("2027-02-13")),
        (K.AUTO_RENEWAL, 0, R),
    ]


@pytest.mark.parametrize("segment", list(Segment), ids=str)
@pytest.mark.parametrize("auto_renew", [False, True], ids=["manual", "auto"])
def test_short_term_keeps_only_trial_notice_and_renewal_date_rows(
    segment: Segment, auto_renew: bool
) -> None:
    inp = term(
        segment=segment,
        renewal=d("2026-06-12"),  # 89 days
        auto_renew=auto_renew,
        notice_period_days=10,
        trial_end=d("2026-04-15"),
        pilot_start=d("2026-02-01"),
        pilot_end=d("2026-03-01"),
    )
    expected = {K.TRIAL_ENDING, K.NOTICE_DEADLINE}
    expected |= {K.AUTO_RENEWAL} if auto_renew else {K.RENEWAL_DUE, K.RENEWAL_OVERDUE}
    assert kinds(inp) == expected


# --- pilots and trials -------------------------------------------------------------------


def test_pilot_rows_before_start_are_kept() -> None:
    plan = plan_term(term(pilot_start=d("2026-02-01"), pilot_end=d("2026-03-01")))
    assert plan[:2] == [
        PlannedCheckpoint(K.PILOT_KICKOFF, 0, d("2026-02-04"), d("2026-01-28")),
        PlannedCheckpoint(K.PILOT_REVIEW, 0, d("2026-02-22"), d("2026-02-15")),
    ]
    assert [(c.kind, c.ordinal, c.due_date) for c in plan[2:]] == WORKED_EXAMPLE


@pytest.mark.parametrize(
    ("length", "review_offset"),
    [
        pytest.param(60, 53, id="60-days-week-before-end"),
        pytest.param(14, 7, id="14-days-week-before-end"),
        pytest.param(13, 6, id="13-days-halfway"),
        pytest.param(10, 5, id="10-days-halfway"),
        pytest.param(9, 4, id="9-days-halfway-rounded-down"),
        pytest.param(8, 4, id="8-days-halfway-is-kickoff-plus-1"),
        pytest.param(7, 4, id="7-days-not-before-kickoff-plus-1"),
        pytest.param(1, 4, id="1-day-after-pilot-end"),
        pytest.param(0, 4, id="0-days"),
    ],
)
def test_pilot_review_due_date(length: int, review_offset: int) -> None:
    pilot_start = d("2026-01-01")
    inp = term(pilot_start=pilot_start, pilot_end=pilot_start + timedelta(days=length))
    found = dues(inp)
    assert found[K.PILOT_KICKOFF, 0] == pilot_start + timedelta(days=3)
    assert found[K.PILOT_REVIEW, 0] == pilot_start + timedelta(days=review_offset)


@pytest.mark.parametrize(
    ("trial_end", "due"),
    [
        pytest.param(d("2026-04-15"), d("2026-04-08"), id="after-start"),
        pytest.param(d("2026-03-01"), d("2026-02-22"), id="before-start-kept"),
        pytest.param(R, d("2027-03-08"), id="at-renewal"),
    ],
)
def test_trial_ending_a_week_before_trial_end(trial_end: date, due: date) -> None:
    plan = plan_term(term(trial_end=trial_end))
    assert [c for c in plan if c.kind is K.TRIAL_ENDING] == [
        PlannedCheckpoint(K.TRIAL_ENDING, 0, due, due - timedelta(days=7))
    ]


def test_pilot_and_trial_rows_after_renewal_are_dropped() -> None:
    inp = term(
        pilot_start=R + timedelta(days=1),
        pilot_end=R + timedelta(days=30),
        trial_end=R + timedelta(days=8),
    )
    assert rows(inp) == WORKED_EXAMPLE


def test_term_2_has_no_pilot_trial_implementation_or_adoption_rows() -> None:
    inp = term(
        term_number=2,
        start=R,
        renewal=d("2028-03-15"),
        pilot_start=d("2026-02-01"),
        pilot_end=d("2026-03-01"),
        trial_end=d("2026-04-15"),
    )
    assert rows(inp) == [
        (K.KICKOFF, 0, d("2027-03-18")),
        (K.MID_TERM_REVIEW, 0, d("2027-09-14")),
        (K.BUDGET_CONFIRMATION, 0, d("2027-10-03")),
        (K.RENEWAL_OUTREACH, 0, d("2028-01-15")),
        (K.RENEWAL_DUE, 0, d("2028-03-01")),
        (K.RENEWAL_OVERDUE, 0, d("2028-03-16")),
    ]


# --- notice periods ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("notice", "outreach"),
    [
        pytest.param(0, d("2027-01-15"), id="none-two-months"),
        pytest.param(29, d("2027-01-15"), id="29-two-months"),
        pytest.param(30, d("2027-01-14"), id="30-month-before-notice"),
        pytest.param(60, d("2026-12-15"), id="60"),
        pytest.param(120, d("2026-10-16"), id="120"),
    ],
)
def test_notice_period_can_move_outreach_earlier(notice: int, outreach: date) -> None:
    found = dues(term(notice_period_days=notice))
    assert found[K.RENEWAL_OUTREACH, 0] == outreach
    if notice:
        assert found[K.NOTICE_DEADLINE, 0] == R - timedelta(days=notice)
    else:
        assert (K.NOTICE_DEADLINE, 0) not in found


def test_notice_deadline_opens_two_weeks_before() -> None:
    plan = plan_term(term(notice_period_days=90))
    assert PlannedCheckpoint(K.NOTICE_DEADLINE, 0, d("2026-12-15"), d("2026-12-01")) in plan


def test_notice_longer_than_the_term_drops_rows_before_start() -> None:
    inp = term(notice_period_days=400)
    assert rows(inp) == [
        (K.KICKOFF, 0, d("2026-03-18")),
        (K.IMPLEMENTATION_CHECK, 0, d("2026-04-14")),
        (K.ADOPTION_REVIEW, 0, d("2026-06-13")),
        (K.MID_TERM_REVIEW, 0, d("2026-09-13")),
        (K.RENEWAL_DUE, 0, d("2027-03-01")),
        (K.RENEWAL_OVERDUE, 0, d("2027-03-16")),
    ]


def test_very_short_term_drops_renewal_due_before_start_but_keeps_overdue() -> None:
    inp = term(renewal=S + timedelta(days=10))
    assert rows(inp) == [(K.RENEWAL_OVERDUE, 0, S + timedelta(days=11))]


# --- skipping, winback, input validation -------------------------------------------------


KICKOFF = PlannedCheckpoint(K.KICKOFF, 0, d("2026-03-18"), d("2026-03-11"))


@pytest.mark.parametrize(
    ("event_date", "skipped"),
    [
        pytest.param(d("2026-03-01"), False, id="before-opening"),
        pytest.param(d("2026-03-18"), False, id="on-due-date"),
        pytest.param(d("2026-04-01"), False, id="exactly-14-days-late"),
        pytest.param(d("2026-04-02"), True, id="15-days-late"),
        pytest.param(d("2027-01-01"), True, id="months-late"),
    ],
)
def test_skipped_at_creation_after_14_days(event_date: date, skipped: bool) -> None:
    assert skipped_at_creation(KICKOFF, event_date) is skipped


@pytest.mark.parametrize("kind", [K.RENEWAL_OVERDUE, K.AUTO_RENEWAL], ids=str)
def test_renewal_overdue_and_auto_renewal_are_never_skipped(kind: CheckpointKind) -> None:
    checkpoint = PlannedCheckpoint(kind, 0, d("2026-03-18"), d("2026-03-18"))
    assert not skipped_at_creation(checkpoint, d("2030-01-01"))


def test_import_mid_term_skips_only_old_checkpoints() -> None:
    imported_on = d("2026-10-01")
    skipped = {c.kind for c in plan_term(EXAMPLE) if skipped_at_creation(c, imported_on)}
    assert skipped == {K.KICKOFF, K.IMPLEMENTATION_CHECK, K.ADOPTION_REVIEW, K.MID_TERM_REVIEW}


@pytest.mark.parametrize(
    ("churned_on", "due"),
    [
        pytest.param(d("2026-05-10"), d("2026-11-10"), id="mid-month"),
        pytest.param(d("2026-08-31"), d("2027-02-28"), id="month-end-clamped"),
        pytest.param(d("2027-08-31"), d("2028-02-29"), id="leap-february"),
    ],
)
def test_winback_six_months_after_churn(churned_on: date, due: date) -> None:
    assert winback_checkpoint(churned_on) == PlannedCheckpoint(
        K.WINBACK, 0, due, due - timedelta(days=14)
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        pytest.param({"term_number": 0}, "term_number", id="term-0"),
        pytest.param({"renewal": S}, "after start", id="renewal-on-start"),
        pytest.param({"renewal": S - timedelta(days=1)}, "after start", id="renewal-before"),
        pytest.param({"fiscal_year_start_month": 13}, "fiscal_year", id="fiscal-13"),
        pytest.param({"fiscal_year_start_month": 0}, "fiscal_year", id="fiscal-0"),
        pytest.param({"budget_lead_days": -1}, "budget_lead_days", id="negative-lead"),
        pytest.param({"notice_period_days": -1}, "notice_period_days", id="negative-notice"),
        pytest.param({"pilot_start": S}, "together", id="pilot-start-only"),
        pytest.param({"pilot_end": S}, "together", id="pilot-end-only"),
        pytest.param(
            {"pilot_start": S, "pilot_end": S - timedelta(days=1)}, "before", id="pilot-reversed"
        ),
    ],
)
def test_invalid_input_is_rejected(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        term(**changes)


def test_same_day_rows_sort_by_kind() -> None:
    plan = plan_term(term(fiscal_year_start_month=4))
    assert [c.kind for c in plan[:2]] == [K.BUDGET_CONFIRMATION, K.KICKOFF]
