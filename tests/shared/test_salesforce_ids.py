"""15-character Salesforce ids extended to the 18-character form the APIs return."""

from __future__ import annotations

import pytest

from shared.salesforce_ids import to_18

# Published pairs (Salesforce's CASESAFEID() gives the same).
PAIRS = [
    ("a01M00000062mPg", "a01M00000062mPgIAI"),
    ("001M000000qfPyS", "001M000000qfPySIAU"),
    ("a0FE000000D6r3F", "a0FE000000D6r3FMAR"),
    ("0F9E000000092w2", "0F9E000000092w2KAA"),
    ("aaaaaaaaaaaaaaa", "aaaaaaaaaaaaaaaAAA"),
    ("a0D30000001n7Pi", "a0D30000001n7PiEAI"),
]


@pytest.mark.parametrize(("short", "long"), PAIRS, ids=[short for short, _ in PAIRS])
def test_a_15_character_id_gets_its_case_checksum(short: str, long: str) -> None:
    assert to_18(short) == long
    assert to_18(long) == long
    assert to_18(long[:15] + long[15:].lower()) == long


@pytest.mark.parametrize(
    "value",
    ["", "001M000000qfPy", "001M000000qfPySIAUX", "001M000000qfPy!", "001m000000qfPySIAU"],
    ids=["empty", "14", "19", "symbol", "case-mangled"],
)
def test_anything_else_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match="Salesforce id"):
        to_18(value)
