from decimal import Decimal

import pytest

from shared.rules.segments import segment_for
from shared.rules.types import Segment


@pytest.mark.parametrize(
    ("arr", "expected"),
    [
        ("1000000", Segment.ENTERPRISE),
        ("100000", Segment.ENTERPRISE),
        ("99999.99", Segment.MID_MARKET),
        ("20000", Segment.MID_MARKET),
        ("19999.999", Segment.GROWTH),
        ("5000.00", Segment.GROWTH),
        ("4999.99", Segment.SCALE),
        ("1000", Segment.SCALE),
        ("999.99", Segment.SELF_SERVE),
        ("0", Segment.SELF_SERVE),
    ],
    ids=lambda value: str(value),
)
def test_segment_thresholds_are_inclusive(arr: str, expected: Segment) -> None:
    assert segment_for(Decimal(arr)) is expected
