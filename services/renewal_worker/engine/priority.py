"""Task priority (DESIGN §3.2 "Priority")."""

from datetime import date

from shared.rules.types import Priority, Segment

NEAR_RENEWAL_DAYS = 60

ALWAYS_URGENT_KINDS = frozenset(
    {"renewal_due", "renewal_overdue", "save_attempt", "renewal_at_risk"}
)
"""Tasks where waiting loses the contract, whatever its size."""

_BY_SEGMENT: dict[Segment, Priority] = {
    Segment.ENTERPRISE: Priority.HIGH,
    Segment.MID_MARKET: Priority.NORMAL,
    Segment.GROWTH: Priority.NORMAL,
    Segment.SCALE: Priority.LOW,
    Segment.SELF_SERVE: Priority.LOW,
}

_ONE_STEP_UP: dict[Priority, Priority] = {
    Priority.LOW: Priority.NORMAL,
    Priority.NORMAL: Priority.HIGH,
    Priority.HIGH: Priority.URGENT,
    Priority.URGENT: Priority.URGENT,
}


def task_priority(kind: str, segment: Segment, renewal: date, as_of: date) -> Priority:
    """Rank by what is at stake (segment), raised once the renewal is close.

    A renewal date already in the past counts as close: the contract is in
    its grace period and still not renewed.
    """
    if kind in ALWAYS_URGENT_KINDS:
        return Priority.URGENT
    base = _BY_SEGMENT[segment]
    if (renewal - as_of).days <= NEAR_RENEWAL_DAYS:
        return _ONE_STEP_UP[base]
    return base


_RANK = {priority: rank for rank, priority in enumerate(_ONE_STEP_UP)}


def raised(current: Priority | None, computed: Priority) -> Priority | None:
    """The priority a task moves to when the calendar calls for `computed`, or None when
    it stays: a priority only goes up, so one a person set higher is kept."""
    if current is not None and _RANK[current] >= _RANK[computed]:
        return None
    return computed
