"""Amounts from request bodies to stored minor units."""

from __future__ import annotations

from decimal import Decimal

from shared.domain.errors import InvalidInput
from shared.money import to_minor

MAX_MINOR = 2**63 - 1
"""Amounts are BIGINT minor units on both databases."""


def to_minor_or_422(amount: Decimal, currency: str, *, field: str = "arr") -> int:
    """The deployment's currency is only known at request time, so the decimals rule
    is checked here rather than in the schema; the error still names the field."""
    try:
        minor = to_minor(amount, currency)
    except ValueError as exc:
        raise InvalidInput(f"{field}: {exc}", field=field) from exc
    if minor > MAX_MINOR:
        raise InvalidInput(f"{field}: amount too large", field=field)
    return minor
