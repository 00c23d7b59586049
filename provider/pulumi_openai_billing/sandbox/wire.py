"""Stored rows -> the exact objects OpenAI's Admin API answers with, plus cursor paging of lists."""

from __future__ import annotations

import calendar
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Literal

from .errors import ApiError
from .store import ORG, Store


def kind(scope: str) -> Literal["organization", "project"]:
    """The object-name prefix of a scope: ``organization.*`` or ``project.*``."""
    return "organization" if scope == ORG else "project"


def month_bounds(now: float | None = None) -> tuple[int, int]:
    """The current UTC calendar month as ``[start, end)`` unix seconds (OpenAI bills by UTC month)."""
    today = datetime.fromtimestamp(time.time() if now is None else now, tz=timezone.utc)
    start = datetime(today.year, today.month, 1, tzinfo=timezone.utc)
    days = calendar.monthrange(today.year, today.month)[1]
    return int(start.timestamp()), int(start.timestamp()) + days * 86400


def spend_limit(store: Store, scope: str, row: dict[str, Any] | None) -> dict[str, Any]:
    """A limit object; ``row=None`` gives the zero-amount, inactive stand-in for "no limit"."""
    threshold = int(row["threshold_amount"]) if row else 0
    status = "inactive"
    if row:
        spent = store.spend(scope, *month_bounds())
        status = "enforcing" if spent * 100 >= Decimal(threshold) else "inactive"
    return {
        "object": f"{kind(scope)}.spend_limit",
        "threshold_amount": threshold,
        "currency": row["currency"] if row else "USD",
        "interval": row["interval"] if row else "month",
        "enforcement": {"status": status},
    }


def spend_alert(row: dict[str, Any]) -> dict[str, Any]:
    channel = row["notification_channel"]
    return {
        "id": row["id"],
        "object": f"{kind(row['scope'])}.spend_alert",
        "threshold_amount": row["threshold_amount"],
        "currency": row["currency"],
        "interval": row["interval"],
        "notification_channel": {
            "type": channel["type"],
            "recipients": list(channel["recipients"]),
            "subject_prefix": channel.get("subject_prefix"),
        },
    }


def project(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "object": "organization.project",
        "name": row["name"],
        "created_at": row["created_at"],
        "archived_at": row["archived_at"],
        "status": "archived" if row["archived_at"] is not None else "active",
    }


def cursor_page(
    rows: Sequence[dict[str, Any]],
    *,
    limit: int,
    order: Literal["asc", "desc"] = "asc",
    after: int | None = None,
    before: int | None = None,
) -> tuple[list[dict[str, Any]], bool]:
    """One page of ``rows`` (sorted by ``seq``) after/before the cursor positions, and whether more follow."""
    ordered = list(rows) if order == "asc" else list(reversed(rows))

    def position(seq: int) -> int:
        return seq if order == "asc" else -seq

    if after is not None:
        ordered = [r for r in ordered if position(r["seq"]) > position(after)]
    if before is not None:
        ordered = [r for r in ordered if position(r["seq"]) < position(before)]
        page = ordered[max(0, len(ordered) - limit) :] if limit else []
        return page, len(ordered) > len(page)
    return ordered[:limit], len(ordered) > limit


def list_object(data: list[dict[str, Any]], has_more: bool) -> dict[str, Any]:
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": has_more,
    }


def cursor_not_found(param: str, value: str) -> ApiError:
    return ApiError(
        400, f"Invalid '{param}': no object with id '{value}' in this list.", param=param, code="invalid_cursor"
    )
