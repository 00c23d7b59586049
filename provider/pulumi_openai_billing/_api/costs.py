"""Reading ``GET /organization/costs`` exactly: every page followed, fractional dollars as Decimal, USD only.

Shared by the read functions, the preview guardrails and the plan report. The endpoint lags real usage by
minutes to hours, so figures are "spend known so far".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from ..errors import CostsError
from .client import BillingClient
from .money import MoneyError, cost_to_decimal


@dataclass(frozen=True)
class CostResult:
    """One result of a daily cost bucket: exact dollars (costs are fractional, never rounded to cents)."""

    start_time: int
    end_time: int
    amount_usd: Decimal
    project_id: str | None = None
    line_item: str | None = None
    api_key_id: str | None = None


def unix(value: datetime | int) -> int:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("give timezone-aware datetimes (UTC), not naive ones")
        return int(value.timestamp())
    return int(value)


def read_costs(
    client: BillingClient, start: datetime | int, end: datetime | int | None = None, group_by: Sequence[str] = ()
) -> list[CostResult]:
    """Daily costs in ``[start, end)``, every page followed."""
    params: dict[str, Any] = {"start_time": unix(start), "bucket_width": "1d", "limit": 180}
    if end is not None:
        params["end_time"] = unix(end)
    if group_by:
        params["group_by[]"] = list(group_by)
    results: list[CostResult] = []
    while True:
        page = client.get("organization/costs", params)
        results += page_results(page)
        if not page.get("has_more") or not page.get("next_page"):
            return results
        params["page"] = page["next_page"]


def page_results(page: Any) -> list[CostResult]:
    """The results of one page of ``GET /organization/costs``, as the endpoint answers it; anything else is a
    :class:`CostsError` naming the first element that is not (``data[2].results[0]: no amount``)."""
    if not isinstance(page, dict) or not isinstance(page.get("data"), list):
        raise CostsError("not a costs page: a page is an object with a `data` list of buckets")
    results: list[CostResult] = []
    for b, bucket in enumerate(page["data"]):
        if not isinstance(bucket, dict) or not isinstance(bucket.get("start_time"), int):
            raise CostsError(f"data[{b}]: a costs bucket is an object with an integer `start_time`")
        if not isinstance(bucket.get("results", []), list):
            raise CostsError(f"data[{b}].results: not a list")
        for r, result in enumerate(bucket.get("results") or []):
            where = f"data[{b}].results[{r}]"
            if not isinstance(result, dict) or not isinstance(result.get("amount"), dict):
                raise CostsError(f"{where}: a costs result is an object with an `amount` object")
            amount = result["amount"]
            currency = str(amount.get("currency", "usd"))
            if currency.lower() != "usd":
                raise CostsError(f"{where}: the costs endpoint answered an amount in {currency!r}, not USD")
            try:
                value = cost_to_decimal(amount.get("value", 0))
            except MoneyError as exc:
                raise CostsError(f"{where}: the costs endpoint answered an unreadable amount: {exc}") from None
            results.append(
                CostResult(
                    bucket["start_time"],
                    bucket.get("end_time", bucket["start_time"] + 86400),
                    value,
                    result.get("project_id"),
                    result.get("line_item"),
                    result.get("api_key_id"),
                )
            )
    return results


def spend_by_project(client: BillingClient, start: datetime, end: datetime) -> dict[str | None, Decimal]:
    """Spend per project id in ``[start, end)`` (None: costs the endpoint attributes to no project)."""
    spend: dict[str | None, Decimal] = {}
    for cost in read_costs(client, start, end, group_by=["project_id"]):
        spend[cost.project_id] = spend.get(cost.project_id, Decimal(0)) + cost.amount_usd
    return spend


def spend_by_api_key(client: BillingClient, start: datetime, end: datetime) -> dict[str | None, Decimal]:
    """Spend per project API key id in ``[start, end)`` (None: costs the endpoint attributes to no key)."""
    spend: dict[str | None, Decimal] = {}
    for cost in read_costs(client, start, end, group_by=["api_key_id"]):
        spend[cost.api_key_id] = spend.get(cost.api_key_id, Decimal(0)) + cost.amount_usd
    return spend
