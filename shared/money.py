"""Money as integer minor units, so sums in SQL are exact on SQLite and Postgres alike."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

# ISO 4217 currencies whose minor unit is not the cent.
_MINOR_DIGITS = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
    "PYG": 0, "RWF": 0, "UGX": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}  # fmt: skip


def minor_digits(currency: str) -> int:
    return _MINOR_DIGITS.get(currency.upper(), 2)


def to_minor(amount: Decimal | int | float | str, currency: str) -> int:
    """Exact conversion; more decimals than the currency has is an input error, not rounding."""
    try:
        value = Decimal(str(amount))
    except InvalidOperation as exc:
        raise ValueError("not a decimal amount") from exc
    if not value.is_finite():
        raise ValueError("not a finite amount")
    scaled = value.scaleb(minor_digits(currency))
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{currency} amounts have at most {minor_digits(currency)} decimals")
    return int(scaled)


def from_minor(minor: int, currency: str) -> Decimal:
    digits = minor_digits(currency)
    return Decimal(minor).scaleb(-digits).quantize(Decimal(1).scaleb(-digits), ROUND_HALF_EVEN)


def format_minor(minor: int, currency: str) -> str:
    """The decimal string the API returns: fixed decimals, no exponent ("-0.05", "0.00",
    "1200" in yen) — what `from_minor` prints, computed in integers because reports
    format hundreds of thousands of amounts and a Decimal round trip costs ten times more."""
    digits = minor_digits(currency)
    if not digits:
        return str(minor)
    units, fraction = divmod(abs(minor), 10**digits)
    return f"{'-' if minor < 0 else ''}{units}.{fraction:0{digits}d}"
