"""Exact conversions between dollar amounts and integer cents.

Amounts arrive from Pulumi programs as int, float, str or Decimal; they are turned into an exact Decimal
through their shortest decimal spelling (so ``0.1`` is 0.10, not 0.1000000000000000055…) and never go
through float arithmetic.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from ..errors import BillingError

MAX_USD = Decimal("100000000")
_CENT = Decimal("0.01")
_UNQUANTIZABLE = Decimal("1e20")
"""Far above MAX_USD, and near where quantizing to cents exceeds Decimal's default 28-digit precision."""


class MoneyError(BillingError, ValueError):
    """An amount that cannot be taken as dollars; the message names the field."""


def parse_usd(value: object, field: str, *, minimum: Decimal = Decimal(0)) -> Decimal:
    """Return ``value`` as an exact two-decimal Decimal, or raise MoneyError naming ``field``."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        raise MoneyError(f'{field} must be a dollar amount such as 100 or "99.50", not {type(value).__name__}')
    text = value.strip() if isinstance(value, str) else repr(value) if isinstance(value, float) else str(value)
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise MoneyError(f'{field} must be a dollar amount such as 100 or "99.50", got {text[:40]!r}') from None
    if not amount.is_finite():
        raise MoneyError(f"{field} must be a finite dollar amount, got {text[:40]!r}")
    if abs(amount) >= _UNQUANTIZABLE:
        bound = "not be negative" if amount < 0 else f"be at most {format_usd(MAX_USD)} USD"
        raise MoneyError(f"{field} must {bound}, got {text[:40]}")
    if amount != amount.quantize(_CENT, rounding=ROUND_HALF_UP):
        raise MoneyError(f"{field} has more than two decimals ({text[:40]}): amounts are whole cents")
    if amount < 0:
        raise MoneyError(f"{field} must not be negative, got {format_usd(amount)}")
    if amount < minimum:
        raise MoneyError(f"{field} must be at least {format_usd(minimum)} USD, got {format_usd(amount)}")
    if amount > MAX_USD:
        raise MoneyError(f"{field} must be at most {format_usd(MAX_USD)} USD, got {format_usd(amount)}")
    return amount.quantize(_CENT)


def format_usd(amount: Decimal) -> str:
    """The canonical two-decimal spelling stored in state, e.g. ``"1500.00"``."""
    return f"{amount.quantize(_CENT):f}"


def show_usd(amount: Decimal) -> str:
    """For people (tables, reports, the demo): thousands separated, cents rounded half up, e.g. ``"1,500.00"``."""
    return f"{amount.quantize(_CENT, rounding=ROUND_HALF_UP):,f}"


def to_cents(amount: Decimal) -> int:
    """Dollars (at most two decimals) to integer cents, exactly."""
    return int((amount * 100).to_integral_exact())


def from_cents(cents: int) -> Decimal:
    """Integer cents to a two-decimal Decimal."""
    if isinstance(cents, bool) or not isinstance(cents, int):
        raise MoneyError(f"expected integer cents, got {type(cents).__name__}")
    return (Decimal(cents) / 100).quantize(_CENT)


def cost_to_decimal(value: object) -> Decimal:
    """A fractional-dollar cost figure from the costs endpoint (a JSON float) as an exact Decimal.

    The figure is taken through its shortest decimal spelling; it is not rounded to cents because costs
    are fractional.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        raise MoneyError(f"cost amount must be a number, got {type(value).__name__}")
    amount = Decimal(repr(value) if isinstance(value, float) else str(value))
    if not amount.is_finite():
        raise MoneyError(f"cost amount must be finite, got {value!r}")
    return amount
