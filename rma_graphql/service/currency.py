"""Currencies (ISO 4217, from the CLDR data Babel ships) and conversion of major-unit
amounts to exact integer minor units."""

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from functools import cache

from babel.numbers import get_currency_precision, is_currency

from rma_graphql.domain.errors import BadUserInputError

# The largest amount accepted, in major units: what any one return could be worth, with
# room for every currency's minor units in a 64-bit integer.
MAX_AMOUNT = Decimal(10) ** 9


@cache
def _is_known(code: str) -> bool:
    return is_currency(code)


def validate_currency(code: str, field: str) -> str:
    normalized = code.strip().upper()
    if len(normalized) != 3 or not normalized.isalpha() or not _is_known(normalized):
        raise BadUserInputError(f"Unknown currency code {code!r}: use an ISO 4217 code.", field)
    return normalized


@cache
def minor_unit_exponent(currency: str) -> int:
    return int(get_currency_precision(currency))


def to_minor(amount: float, currency: str, field: str) -> int:
    """Convert a major-unit amount to minor units, rounding half-even; never negative."""
    try:
        value = Decimal(str(amount))
    except InvalidOperation as error:
        raise BadUserInputError(f"{amount!r} is not an amount.", field) from error
    if not value.is_finite():
        raise BadUserInputError("An amount must be a finite number.", field)
    if value < 0:
        raise BadUserInputError("An amount cannot be negative.", field)
    if value > MAX_AMOUNT:
        raise BadUserInputError(f"An amount cannot exceed {MAX_AMOUNT:,}.", field)
    exponent = minor_unit_exponent(currency)
    minor = (value * (Decimal(10) ** exponent)).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)
    return int(minor)


def to_major(minor: int, currency: str) -> float:
    return float(Decimal(minor) / (Decimal(10) ** minor_unit_exponent(currency)))
