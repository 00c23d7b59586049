"""What a payment card number looks like, so that none is ever sent, stored or logged. No dependency: the
sandbox refuses card numbers by the same rule the provider does."""

from __future__ import annotations

import re

__all__ = ["is_card_number"]

_SEPARATORS = re.compile(r"[\s-]")


def is_card_number(text: str) -> bool:
    """13 to 19 digits (spaces and dashes allowed between them) that pass the Luhn check."""
    digits = _SEPARATORS.sub("", text)
    if not 13 <= len(digits) <= 19 or not digits.isascii() or not digits.isdigit():
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char) * (2 if position % 2 else 1)
        total += digit - 9 if digit > 9 else digit
    return total % 10 == 0
