"""`format_minor` prints integers exactly as the Decimal formula it replaced did."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.money import format_minor, from_minor, minor_digits

# One currency per minor-unit size, and one unknown code (two digits by default).
CURRENCIES = ["USD", "JPY", "KWD", "eur", "XXX"]
BIGINT = 2**63  # the range of the `*_minor` columns


@given(
    minor=st.integers(min_value=-BIGINT, max_value=BIGINT - 1), currency=st.sampled_from(CURRENCIES)
)
def test_format_minor_matches_the_decimal_formula(minor: int, currency: str) -> None:
    assert format_minor(minor, currency) == f"{from_minor(minor, currency):f}"


@pytest.mark.parametrize(
    ("minor", "currency", "text"),
    [
        (0, "USD", "0.00"),
        (-5, "USD", "-0.05"),
        (-100, "USD", "-1.00"),
        (123456, "USD", "1234.56"),
        (0, "JPY", "0"),
        (-1200, "JPY", "-1200"),
        (1, "KWD", "0.001"),
    ],
)
def test_format_minor_examples(minor: int, currency: str, text: str) -> None:
    assert format_minor(minor, currency) == text
    assert Decimal(text) == from_minor(minor, currency)
    assert minor_digits(currency) == (len(text) - text.index(".") - 1 if "." in text else 0)
