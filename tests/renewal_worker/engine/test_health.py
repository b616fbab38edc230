from dataclasses import replace
from datetime import date, timedelta

import pytest

from services.renewal_worker.engine.health_score import (
    Health,
    HealthInput,
    HealthSignal,
    band_for,
    compute_health,
)

AS_OF = date(2026, 6, 1)

HEALTHY = HealthInput(
    as_of=AS_OF,
    renewal=AS_OF + timedelta(days=200),
    key_stakeholder_lost=False,
    latest_adoption=0.8,
    goal_at_risk=False,
    outreach_done=False,
    open_task_due_dates=(),
    cancellation_pending=False,
)


def signals(inp: HealthInput) -> list[tuple[str, int]]:
    return [(s.signal, s.points) for s in compute_health(inp).signals]


def test_healthy_contract_scores_100_with_no_signals() -> None:
    assert compute_health(HEALTHY) == Health(score=100, band="green", signals=())


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param(
            {"key_stakeholder_lost": True}, ("key_stakeholder_lost", -30), id="stakeholder"
        ),
        pytest.param({"latest_adoption": 0.49}, ("low_adoption", -25), id="adoption-0.49"),
        pytest.param({"latest_adoption": 0.0}, ("low_adoption", -25), id="adoption-zero"),
        pytest.param({"latest_adoption": 0.5}, ("weak_adoption", -10), id="adoption-0.5"),
        pytest.param({"latest_adoption": 0.69}, ("weak_adoption", -10), id="adoption-0.69"),
        pytest.param({"goal_at_risk": True}, ("goal_at_risk", -20), id="goal"),
        pytest.param(
            {"renewal": AS_OF + timedelta(days=60)}, ("outreach_not_done", -15), id="outreach-60"
        ),
        pytest.param(
            {"renewal": AS_OF - timedelta(days=10)},
            ("outreach_not_done", -15),
            id="outreach-after-R",
        ),
        pytest.param(
            {"open_task_due_dates": (AS_OF - timedelta(days=15),)},
            ("overdue_tasks", -10),
            id="overdue-15-days",
        ),
        pytest.param({"cancellation_pending": True}, ("cancellation_notice", -30), id="cancel"),
    ],
)
def test_each_signal_deducts_its_points(
    changes: dict[str, object], expected: tuple[str, int]
) -> None:
    inp = replace(HEALTHY, **changes)  # type: ignore[arg-type]
    assert signals(inp) == [expected]
    assert compute_health(inp).score == 100 + expected[1]


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"latest_adoption": 0.7}, id="adoption-0.7"),
        pytest.param({"latest_adoption": 1.0}, id="adoption-full"),
        pytest.param({"latest_adoption": None}, id="no-usage-report"),
        pytest.param({"renewal": AS_OF + timedelta(days=61)}, id="outreach-61-days-away"),
        pytest.param(
            {"renewal": AS_OF + timedelta(days=10), "outreach_done": True}, id="outreach-done"
        ),
        pytest.param({"open_task_due_dates": (AS_OF - timedelta(days=14),)}, id="overdue-14-days"),
        pytest.param(
            {"open_task_due_dates": (AS_OF + timedelta(days=30), AS_OF)}, id="tasks-not-overdue"
        ),
    ],
)
def test_no_signal_at_or_outside_the_thresholds(changes: dict[str, object]) -> None:
    assert compute_health(replace(HEALTHY, **changes)).signals == ()  # type: ignore[arg-type]


def test_signals_come_in_fixed_order_and_score_clamps_at_zero() -> None:
    worst = HealthInput(
        as_of=AS_OF,
        renewal=AS_OF,
        key_stakeholder_lost=True,
        latest_adoption=0.1,
        goal_at_risk=True,
        outreach_done=False,
        open_task_due_dates=(AS_OF - timedelta(days=100),),
        cancellation_pending=True,
    )
    health = compute_health(worst)
    assert [s.signal for s in health.signals] == [
        "key_stakeholder_lost",
        "low_adoption",
        "goal_at_risk",
        "outreach_not_done",
        "overdue_tasks",
        "cancellation_notice",
    ]
    assert sum(s.points for s in health.signals) == -130
    assert health.score == 0
    assert health.band == "red"


def test_several_overdue_tasks_deduct_once() -> None:
    overdue = tuple(AS_OF - timedelta(days=d) for d in (20, 30, 40))
    assert compute_health(replace(HEALTHY, open_task_due_dates=overdue)).signals == (
        HealthSignal("overdue_tasks", -10),
    )


@pytest.mark.parametrize(
    ("changes", "score", "band"),
    [
        pytest.param({"key_stakeholder_lost": True}, 70, "green", id="70-green"),
        pytest.param({"key_stakeholder_lost": True, "latest_adoption": 0.6}, 60, "yellow", id="60"),
        pytest.param(
            {"key_stakeholder_lost": True, "cancellation_pending": True}, 40, "yellow", id="40"
        ),
        pytest.param(
            {"key_stakeholder_lost": True, "cancellation_pending": True, "latest_adoption": 0.6},
            30,
            "red",
            id="30-red",
        ),
    ],
)
def test_score_and_band(changes: dict[str, object], score: int, band: str) -> None:
    health = compute_health(replace(HEALTHY, **changes))  # type: ignore[arg-type]
    assert (health.score, health.band) == (score, band)


@pytest.mark.parametrize(
    ("score", "band"),
    [(100, "green"), (70, "green"), (69, "yellow"), (40, "yellow"), (39, "red"), (0, "red")],
)
def test_band_boundaries(score: int, band: str) -> None:
    assert band_for(score) == band
