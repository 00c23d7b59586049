"""Preview guardrails for changes that could stop traffic, from live figures shared by the process's checks.

A limit lowered below 110% of its scope's month-to-date spend, or by more than half in one change, needs
``acknowledge_until`` naming the current UTC month: an acknowledgement that expires by itself. A limit with
``warn_if_would_have_blocked_days`` is replayed against last month's costs (``simulate``) and refused when it
would have blocked traffic on more days than that.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal

from .._api.costs import read_costs, spend_by_api_key, spend_by_project
from .._api.fields import ORGANIZATION
from .._api.money import format_usd
from .._api.months import month_bounds, month_name, previous_month_bounds, this_month
from ..errors import OpenAIError
from ..model.config import BillingConfig, OrganizationConfig, ProjectConfig
from ..model.simulate import daily_costs, simulate
from ._step import Step

SPEND_MARGIN = Decimal("1.10")
"""A limit below month-to-date spend times this is refused at preview without an acknowledgement."""
SPEND_MARGIN_PERCENT = f"{(SPEND_MARGIN - 1) * 100:.0f}%"
"""The same margin in words: ``10%``."""
"""A limit below month-to-date spend times this blocks traffic at once or within days."""

_CENT = Decimal("0.01")


def month_to_date_spend(step: Step, project_id: str | None) -> Decimal:
    """Spend so far this UTC month in a scope (the organization when ``project_id`` is None); one costs
    read serves every scope of the process."""
    start, end = month_bounds(datetime.now(timezone.utc))

    spend = step.figures.get(f"spend:{month_name(start)}", lambda: spend_by_project(step.client, start, end))
    if project_id is None:
        return sum(spend.values(), Decimal(0))
    return spend.get(project_id, Decimal(0))


def key_month_to_date_spend(step: Step, api_key_id: str) -> Decimal | None:
    """Spend so far this UTC month with one project API key (None: the costs endpoint cannot group by key); one
    costs read (grouped by key) serves every key of the process."""
    start, end = month_bounds(datetime.now(timezone.utc))

    def fetch() -> dict[str | None, Decimal] | None:
        try:
            return spend_by_api_key(step.client, start, end)
        except OpenAIError as exc:
            if exc.status in (400, 404):
                return None
            raise

    spend = step.figures.get(f"key-spend:{month_name(start)}", fetch)
    return None if spend is None else spend.get(api_key_id, Decimal(0))


def lowering_problems(
    step: Step,
    who: str,
    scope: str | None,
    current: Decimal | None,
    declared: Decimal,
    acknowledged: str | None,
    spent: Callable[[], Decimal | None] | None = None,
) -> list[tuple[str, str]]:
    """Why setting ``who``'s limit from ``current`` (None: no limit) to ``declared`` needs an acknowledgement.
    ``spent`` reads what the limit counts this month (default: ``scope``'s spend; an API key's limit counts the
    key's), None when that is not known: then only the cut by half is judged."""
    if current is not None and declared >= current:
        return []
    reasons = []
    spend = spent() if spent is not None else month_to_date_spend(step, scope)
    floor = Decimal(0) if spend is None else (spend * SPEND_MARGIN).quantize(_CENT, rounding=ROUND_CEILING)
    if spend is not None and declared < floor:
        reasons.append(
            f"month-to-date spend is {format_usd(spend.quantize(_CENT, rounding=ROUND_HALF_UP))} USD, and a limit "
            f"below {SPEND_MARGIN * 100:.0f}% of it ({format_usd(floor)} USD) blocks traffic now or within days"
        )
    if current is not None and declared < current / 2:
        reasons.append(f"it cuts the limit by more than half in one change (half is {format_usd(current / 2)} USD)")
    month = this_month()
    if not reasons or acknowledged == month:
        return []
    change = (
        f"setting a limit of {format_usd(declared)} USD on {who}"
        if current is None
        else f"lowering the limit of {who} from {format_usd(current)} to {format_usd(declared)} USD"
    )
    stale = ""
    if acknowledged:
        stale = (
            f" acknowledge_until={acknowledged!r} has expired (the current UTC month is {month})."
            if acknowledged < month
            else f" acknowledge_until={acknowledged!r} is not the current UTC month ({month})."
        )
    return [
        (
            "monthly_limit_usd",
            f"monthly_limit_usd: {change} needs an acknowledgement: {'; and '.join(reasons)}.{stale} Set "
            f'acknowledge_until="{month}" to go ahead (the acknowledgement expires with the month)',
        )
    ]


def would_have_blocked_problems(
    step: Step, who: str, scope: str | None, declared: Decimal, allowed_days: int
) -> list[tuple[str, str]]:
    """Why ``declared`` on ``who`` would have blocked traffic on more than ``allowed_days`` days of last month
    (one daily costs read serves every limit of the process)."""
    start, end = previous_month_bounds(datetime.now(timezone.utc))
    month = month_name(start)
    results = step.figures.get(
        f"daily-costs:{month}", lambda: read_costs(step.client, start, end, group_by=["project_id"])
    )
    if scope is None:
        billing = BillingConfig(organization=OrganizationConfig(monthly_limit_usd=declared))
    else:
        billing = BillingConfig(projects={scope: ProjectConfig(project_id=scope, monthly_limit_usd=declared)})
    replay = simulate(billing, daily_costs(results), start.date(), end.date())
    outcome = replay.limit_of(scope or ORGANIZATION)[0]
    if len(outcome.blocked_days) <= allowed_days:
        return []
    return [
        (
            "monthly_limit_usd",
            f"monthly_limit_usd: a limit of {format_usd(declared)} USD on {who} would have blocked traffic on "
            f"{len(outcome.blocked_days)} days of {month} (from {outcome.blocked_days[0].isoformat()}; "
            f"{format_usd(outcome.refused_usd.quantize(_CENT, rounding=ROUND_HALF_UP))} USD of spend refused), more "
            f"than warn_if_would_have_blocked_days={allowed_days}. Raise the limit, or raise "
            "warn_if_would_have_blocked_days to accept it (`openai-billing simulate` shows the whole month)",
        )
    ]
