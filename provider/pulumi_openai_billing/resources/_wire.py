"""How the billing endpoints write money: integer cents, in USD, per UTC month; read so that another currency is
never taken for dollars."""

from __future__ import annotations

from typing import Any

from .._api.money import format_usd, from_cents
from ..errors import ProviderError

USD = "USD"
MONTH = "month"


def check_currency(obj: dict[str, Any], what: str) -> None:
    """Amounts in any other currency than USD must never be read as dollars."""
    currency = obj.get("currency")
    if currency is not None and str(currency).upper() != USD:
        raise ProviderError(f"{what} is in {currency!r}, not USD: this provider only manages USD amounts")


def cents_field(obj: dict[str, Any], name: str = "threshold_amount") -> int:
    value = obj.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProviderError(f"the API answered a non-integer {name}: {value!r}")
    return value


def usd_from_cents(cents: int) -> str:
    return format_usd(from_cents(cents))
