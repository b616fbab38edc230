"""Segment thresholds by account ARR (DESIGN §3)."""

from decimal import Decimal

from shared.rules.types import Segment

THRESHOLDS: tuple[tuple[Decimal, Segment], ...] = (
    (Decimal(100_000), Segment.ENTERPRISE),
    (Decimal(20_000), Segment.MID_MARKET),
    (Decimal(5_000), Segment.GROWTH),
    (Decimal(1_000), Segment.SCALE),
)


def segment_for(arr: Decimal) -> Segment:
    """Map ARR in major currency units to a segment; each threshold is inclusive.

    Takes a Decimal so an ARR of 99,999.995 stays below enterprise instead of
    being rounded up by float arithmetic.
    """
    for threshold, segment in THRESHOLDS:
        if arr >= threshold:
            return segment
    return Segment.SELF_SERVE
