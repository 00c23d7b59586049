"""The rules a value obeys wherever it is written: in a resource's inputs or in the billing configuration file.
Both read them from here, so the file refuses exactly what the provider refuses. Imports nothing of the package
but ``money``."""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal

from .money import format_usd

__all__ = [
    "MAX_RECIPIENTS",
    "MIN_RELOAD_USD",
    "ORGANIZATION",
    "canonical_recipients",
    "check_recipients",
    "reload_limit_problem",
    "target_balance_problem",
]

ORGANIZATION = "organization"
"""The organization's scope, wherever scopes are named or keyed (projects go by their id or name)."""

MAX_RECIPIENTS = 100
MIN_RELOAD_USD = Decimal("5")
"""The smallest auto-reload: the target balance is at least this far above the threshold."""

_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)


def canonical_recipients(recipients: Sequence[str]) -> list[str]:
    """Trimmed, domain lower-cased, de-duplicated case-insensitively and sorted."""
    seen: dict[str, str] = {}
    for raw in recipients:
        local, _, domain = raw.strip().rpartition("@")
        address = f"{local}@{domain.lower()}"
        seen.setdefault(address.lower(), address)
    return [seen[k] for k in sorted(seen)]


def check_recipients(recipients: Sequence[str], field: str = "recipients", *, empty: bool = False) -> list[str]:
    """Recipients in canonical form (an alert's; ``empty`` allows none, as a limit's extra recipients do);
    ValueError says what is wrong with them, naming ``field``."""
    if not recipients and not empty:
        raise ValueError(f"{field} must name at least one e-mail address")
    bad = [r for r in recipients if not _EMAIL.match(r.strip())]
    if bad:
        shown = ", ".join(repr(b[:80]) for b in bad[:3])
        raise ValueError(f"{field} must be e-mail addresses such as finops@example.com; not valid: {shown}")
    result = canonical_recipients(recipients)
    if len(result) > MAX_RECIPIENTS:
        raise ValueError(f"{field} may name at most {MAX_RECIPIENTS} addresses, got {len(result)}")
    return result


def target_balance_problem(threshold: Decimal, target: Decimal) -> str | None:
    """Why an auto-reload's target is refused for this threshold, else None."""
    if target - threshold < MIN_RELOAD_USD:
        return (
            f"target_balance_usd ({format_usd(target)}) must be at least {format_usd(MIN_RELOAD_USD)} USD above "
            f"balance_threshold_usd ({format_usd(threshold)}): every reload tops the balance up to the target and "
            f"is at least {format_usd(MIN_RELOAD_USD)} USD"
        )
    return None


def reload_limit_problem(threshold: Decimal, target: Decimal, monthly: Decimal) -> str | None:
    """Why an auto-reload's monthly limit is refused (it could never allow one reload), else None."""
    smallest = target - threshold
    if monthly < smallest:
        return (
            f"monthly_reload_limit_usd ({format_usd(monthly)}) is below the smallest reload (target_balance_usd - "
            f"balance_threshold_usd = {format_usd(smallest)}): the policy could never reload"
        )
    return None
