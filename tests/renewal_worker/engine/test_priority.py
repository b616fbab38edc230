from datetime import date, timedelta

import pytest

from services.renewal_worker.engine.priority import task_priority
from shared.rules.types import Priority, Segment

AS_OF = date(2026, 6, 1)
FAR = AS_OF + timedelta(days=61)
NEAR = AS_OF + timedelta(days=60)


@pytest.mark.parametrize(
    ("segment", "far", "near"),
    [
        (Segment.ENTERPRISE, Priority.HIGH, Priority.URGENT),
        (Segment.MID_MARKET, Priority.NORMAL, Priority.HIGH),
        (Segment.GROWTH, Priority.NORMAL, Priority.HIGH),
        (Segment.SCALE, Priority.LOW, Priority.NORMAL),
        (Segment.SELF_SERVE, Priority.LOW, Priority.NORMAL),
    ],
    ids=str,
)
def test_priority_by_segment_steps_up_within_60_days(
    segment: Segment, far: Priority, near: Priority
) -> None:
    assert task_priority("kickoff", segment, FAR, AS_OF) is far
    assert task_priority("kickoff", segment, NEAR, AS_OF) is near


@pytest.mark.parametrize("segment", list(Segment), ids=str)
def test_renewal_date_in_the_past_counts_as_near(segment: Segment) -> None:
    near = task_priority("mid_term_review", segment, NEAR, AS_OF)
    assert task_priority("mid_term_review", segment, AS_OF - timedelta(days=5), AS_OF) is near


@pytest.mark.parametrize(
    "kind", ["renewal_due", "renewal_overdue", "save_attempt", "renewal_at_risk"]
)
@pytest.mark.parametrize("segment", list(Segment), ids=str)
def test_some_kinds_are_always_urgent(kind: str, segment: Segment) -> None:
    assert task_priority(kind, segment, AS_OF + timedelta(days=365), AS_OF) is Priority.URGENT


def test_near_renewal_step_up_is_a_single_step() -> None:
    assert task_priority("renewal_outreach", Segment.SCALE, AS_OF, AS_OF) is Priority.NORMAL
