"""Properties of plan_term over the whole input space, checked against the spec's rules."""

from dataclasses import replace
from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from services.renewal_worker.engine.plan import (
    PlannedCheckpoint,
    TermPlanInput,
    plan_term,
    skipped_at_creation,
)
from shared.rules.calendar import add_months, fiscal_year_start
from shared.rules.types import CheckpointKind, Segment

K = CheckpointKind

OPENS_DAYS_BEFORE = {
    K.PILOT_KICKOFF: 7,
    K.PILOT_REVIEW: 7,
    K.TRIAL_ENDING: 7,
    K.KICKOFF: 7,
    K.IMPLEMENTATION_CHECK: 7,
    K.IMPLEMENTATION_FOLLOWUP: 7,
    K.ADOPTION_REVIEW: 7,
    K.MID_TERM_REVIEW: 7,
    K.ANNIVERSARY_REVIEW: 7,
    K.BUDGET_CONFIRMATION: 30,
    K.RENEWAL_OUTREACH: 14,
    K.NOTICE_DEADLINE: 14,
    K.RENEWAL_DUE: 0,
    K.RENEWAL_OVERDUE: 0,
    K.AUTO_RENEWAL: 0,
    K.AUTO_RENEWAL_CONFIRMATION: 14,
}
PRE_START = {K.PILOT_KICKOFF, K.PILOT_REVIEW, K.TRIAL_ENDING}
SHORT_TERM_KINDS = {
    K.TRIAL_ENDING,
    K.NOTICE_DEADLINE,
    K.RENEWAL_DUE,
    K.RENEWAL_OVERDUE,
    K.AUTO_RENEWAL,
}

LEAP_DAYS = st.sampled_from([date(2020, 2, 29), date(2024, 2, 29), date(2028, 2, 29)])
starts = st.one_of(st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31)), LEAP_DAYS)


@st.composite
def term_inputs(draw: st.DrawFn) -> TermPlanInput:
    start = draw(starts)
    pilot_start = pilot_end = None
    if draw(st.booleans()):
        pilot_start = start - timedelta(days=draw(st.integers(min_value=0, max_value=120)))
        pilot_end = pilot_start + timedelta(days=draw(st.integers(min_value=0, max_value=90)))
    trial_end = None
    if draw(st.booleans()):
        trial_end = start + timedelta(days=draw(st.integers(min_value=-30, max_value=120)))
    return TermPlanInput(
        term_number=draw(st.integers(min_value=1, max_value=4)),
        start=start,
        renewal=add_months(start, draw(st.integers(min_value=1, max_value=60))),
        segment=draw(st.sampled_from(Segment)),
        fiscal_year_start_month=draw(st.none() | st.integers(min_value=1, max_value=12)),
        budget_lead_days=draw(st.integers(min_value=0, max_value=180)),
        auto_renew=draw(st.booleans()),
        notice_period_days=draw(st.integers(min_value=0, max_value=120)),
        pilot_start=pilot_start,
        pilot_end=pilot_end,
        trial_end=trial_end,
    )


def days(n: int) -> timedelta:
    return timedelta(days=n)


def outreach_due(inp: TermPlanInput) -> date:
    return min(add_months(inp.renewal, -2), inp.renewal - days(inp.notice_period_days + 30))


def mid_term_due(inp: TermPlanInput) -> date:
    return inp.start + days((inp.renewal - inp.start).days // 2)


def budget_due(inp: TermPlanInput) -> date:
    if inp.fiscal_year_start_month is None:
        return max(add_months(inp.renewal, -6), inp.start + days(3))
    fys = fiscal_year_start(inp.renewal, inp.fiscal_year_start_month)
    return max(fys - days(inp.budget_lead_days), inp.start + days(3))


def expected_due(c: PlannedCheckpoint, inp: TermPlanInput) -> date:
    s, r = inp.start, inp.renewal
    if c.kind is K.PILOT_KICKOFF:
        assert inp.pilot_start is not None
        return inp.pilot_start + days(3)
    if c.kind is K.PILOT_REVIEW:
        assert inp.pilot_start is not None
        assert inp.pilot_end is not None
        length = (inp.pilot_end - inp.pilot_start).days
        if length >= 14:
            return inp.pilot_end - days(7)
        return max(inp.pilot_start + days(length // 2), inp.pilot_start + days(4))
    if c.kind is K.TRIAL_ENDING:
        assert inp.trial_end is not None
        return inp.trial_end - days(7)
    simple = {
        K.KICKOFF: s + days(3),
        K.IMPLEMENTATION_CHECK: s + days(30),
        K.IMPLEMENTATION_FOLLOWUP: s + days(14 * c.ordinal),
        K.ADOPTION_REVIEW: s + days(90),
        K.MID_TERM_REVIEW: mid_term_due(inp),
        K.ANNIVERSARY_REVIEW: add_months(s, 12 * c.ordinal),
        K.BUDGET_CONFIRMATION: budget_due(inp),
        K.RENEWAL_OUTREACH: outreach_due(inp),
        K.NOTICE_DEADLINE: r - days(inp.notice_period_days),
        K.RENEWAL_DUE: r - days(14),
        K.RENEWAL_OVERDUE: r + days(1),
        K.AUTO_RENEWAL: r,
        K.AUTO_RENEWAL_CONFIRMATION: r - days(14),
    }
    return simple[c.kind]


def is_short(inp: TermPlanInput) -> bool:
    return (inp.renewal - inp.start).days < 90 or inp.renewal <= add_months(inp.start, 3)


@given(inp=term_inputs())
def test_every_date_is_where_its_rule_puts_it(inp: TermPlanInput) -> None:
    for c in plan_term(inp):
        assert c.due_date == expected_due(c, inp), c
        assert c.due_date - c.opens_on == days(OPENS_DAYS_BEFORE[c.kind]), c


@given(inp=term_inputs())
def test_every_date_lies_inside_the_term(inp: TermPlanInput) -> None:
    for c in plan_term(inp):
        assert c.opens_on <= c.due_date
        if c.kind is K.RENEWAL_OVERDUE:
            assert c.due_date == inp.renewal + days(1)
        elif c.kind in PRE_START:
            assert c.due_date <= inp.renewal
        else:
            assert inp.start <= c.due_date <= inp.renewal, c


@given(inp=term_inputs())
def test_identities_are_unique_and_rows_sorted(inp: TermPlanInput) -> None:
    plan = plan_term(inp)
    assert len({(c.kind, c.ordinal) for c in plan}) == len(plan)
    keys = [(c.due_date, c.kind, c.ordinal) for c in plan]
    assert keys == sorted(keys)


@given(inp=term_inputs())
def test_plan_is_deterministic(inp: TermPlanInput) -> None:
    assert plan_term(inp) == plan_term(replace(inp)) == plan_term(inp)


@given(inp=term_inputs())
def test_lean_plans_keep_only_their_kinds(inp: TermPlanInput) -> None:
    found = {c.kind for c in plan_term(inp)}
    if is_short(inp):
        assert found <= SHORT_TERM_KINDS
    if inp.segment is Segment.SELF_SERVE:
        assert found <= SHORT_TERM_KINDS | {K.RENEWAL_OUTREACH}
    assert K.ONSITE_VISIT not in found  # the account's, not a term's
    if inp.segment not in {Segment.ENTERPRISE, Segment.MID_MARKET}:
        assert K.IMPLEMENTATION_FOLLOWUP not in found
    if inp.term_number > 1:
        onboarding = {K.IMPLEMENTATION_CHECK, K.IMPLEMENTATION_FOLLOWUP, K.ADOPTION_REVIEW}
        assert not found & {*PRE_START, *onboarding}


@given(inp=term_inputs())
def test_renewal_date_rows_follow_auto_renew(inp: TermPlanInput) -> None:
    found = {c.kind for c in plan_term(inp)}
    assert (K.AUTO_RENEWAL in found) is inp.auto_renew
    full_plan = not is_short(inp) and inp.segment is not Segment.SELF_SERVE
    assert (K.AUTO_RENEWAL_CONFIRMATION in found) is (inp.auto_renew and full_plan)
    assert (K.RENEWAL_OVERDUE in found) is not inp.auto_renew
    renewal_due_in_term = inp.renewal - days(14) >= inp.start
    assert (K.RENEWAL_DUE in found) is (not inp.auto_renew and renewal_due_in_term)
    notice_in_term = inp.renewal - days(inp.notice_period_days) >= inp.start
    assert (K.NOTICE_DEADLINE in found) is (inp.notice_period_days > 0 and notice_in_term)


@given(inp=term_inputs())
def test_budget_confirmation_exists_exactly_when_its_rule_says(inp: TermPlanInput) -> None:
    full_plan = not is_short(inp) and inp.segment is not Segment.SELF_SERVE
    expected = full_plan and budget_due(inp) < outreach_due(inp)
    assert any(c.kind is K.BUDGET_CONFIRMATION for c in plan_term(inp)) is expected


@given(inp=term_inputs())
def test_repeated_rows_are_all_there(inp: TermPlanInput) -> None:
    plan = plan_term(inp)
    anniversaries = [c.ordinal for c in plan if c.kind is K.ANNIVERSARY_REVIEW]
    if is_short(inp) or inp.segment is Segment.SELF_SERVE:
        assert not anniversaries
        return
    has_mid_term = (inp.renewal - inp.start).days >= 120
    expected_anniversaries = [
        k
        for k in range(1, 6)
        if add_months(inp.start, 12 * k) < add_months(inp.renewal, -6)
        and not (
            has_mid_term and abs((add_months(inp.start, 12 * k) - mid_term_due(inp)).days) <= 30
        )
    ]
    assert anniversaries == expected_anniversaries


@given(inp=term_inputs(), event_offset=st.integers(min_value=-400, max_value=800))
def test_skipped_at_creation_only_when_more_than_14_days_late(
    inp: TermPlanInput, event_offset: int
) -> None:
    event_date = inp.start + days(event_offset)
    for c in plan_term(inp):
        late = (event_date - c.due_date).days > 14
        expected = late and c.kind not in {K.RENEWAL_OVERDUE, K.AUTO_RENEWAL}
        assert skipped_at_creation(c, event_date) is expected
