"""Stored rows -> the exact objects OpenAI's Admin API answers with, plus cursor paging of lists."""

from __future__ import annotations

import calendar
import json
from collections.abc import Sequence
from datetime import datetime, timezone
from decimal import ROUND_FLOOR, Decimal
from typing import Any, Literal

from .errors import ApiError
from .store import ORG


def kind(scope: str) -> Literal["organization", "project"]:
    """The object-name prefix of a scope: ``organization.*`` or ``project.*``."""
    return "organization" if scope == ORG else "project"


def month_bounds(now: float) -> tuple[int, int]:
    """The UTC calendar month holding ``now`` as ``[start, end)`` unix seconds (OpenAI bills by UTC month)."""
    today = datetime.fromtimestamp(now, tz=timezone.utc)
    start = datetime(today.year, today.month, 1, tzinfo=timezone.utc)
    days = calendar.monthrange(today.year, today.month)[1]
    return int(start.timestamp()), int(start.timestamp()) + days * 86400


def month_name(now: float) -> str:
    today = datetime.fromtimestamp(now, tz=timezone.utc)
    return f"{today.year:04d}-{today.month:02d}"


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
        "external_key_id": row["external_key_id"],
        "residency": row["residency"],
    }


def api_key(row: dict[str, Any], month_spend: Decimal) -> dict[str, Any]:
    """A project API key (never its secret); its limit is ``enforcing`` once ``month_spend`` reached it."""
    limit = row["spend_limit"]
    return {
        "id": row["id"],
        "object": "organization.project.api_key",
        "name": row["name"],
        "redacted_value": row["redacted_value"],
        "created_at": row["created_at"],
        "last_used_at": row["last_used_at"],
        "expires_at": row["expires_at"],
        "owner": row["owner"],
        "owner_project_access": "active",
        "spend_limit": None
        if limit is None
        else {
            "currency": limit["currency"],
            "interval": limit["interval"],
            "threshold_amount": limit["threshold_amount"],
            "enforcement": {"status": "enforcing" if month_spend * 100 >= limit["threshold_amount"] else "inactive"},
        },
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


# -- the billing extension -------------------------------------------------------------------------------

_BILLING = "organization.billing"


def cents_floor(usd: Decimal) -> int:
    """Whole cents of an exact dollar figure, rounded down (usage is metered in fractions of a cent)."""
    return int((usd * 100).to_integral_value(rounding=ROUND_FLOOR))


def json_list(values: list[str]) -> str:
    return json.dumps(list(values))


def payment_method(row: dict[str, Any], default_id: str | None) -> dict[str, Any]:
    return {
        "id": row["id"],
        "object": f"{_BILLING}.payment_method",
        "type": "card",
        "brand": row["brand"],
        "last4": str(row["last4"]),
        "exp_month": row["exp_month"],
        "exp_year": row["exp_year"],
        "fingerprint": row["fingerprint"],
        "is_default": row["id"] == default_id,
        "created_at": row["created_at"],
    }


def default_payment_method(payment_method_id: str | None) -> dict[str, Any]:
    return {"object": f"{_BILLING}.default_payment_method", "payment_method_id": payment_method_id}


def auto_reload(policy: dict[str, Any], reloaded: int) -> dict[str, Any]:
    return {
        "object": f"{_BILLING}.auto_reload",
        "enabled": policy["enabled"],
        "balance_threshold_amount": policy["balance_threshold_amount"],
        "target_balance_amount": policy["target_balance_amount"],
        "monthly_reload_limit_amount": policy["monthly_reload_limit_amount"],
        "currency": policy["currency"],
        "payment_method_id": policy["payment_method_id"],
        "reloaded_this_month_amount": reloaded,
        "consecutive_failures": policy["consecutive_failures"],
        "disabled_reason": policy["disabled_reason"],
    }


def credit_purchase(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "object": f"{_BILLING}.credit_purchase",
        "purchase_key": row["purchase_key"],
        "amount": row["amount"],
        "currency": "USD",
        "status": "succeeded",
        "payment_method_id": row["payment_method_id"],
        "credit_grant_id": row["credit_grant_id"],
        "granted_amount": row["amount"],
        "expires_at": row["expires_at"],
        "invoice_id": row["invoice_id"],
        "created_at": row["created_at"],
    }


def credit_grant(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "object": f"{_BILLING}.credit_grant",
        "source": row["source"],
        "amount": row["amount"],
        "remaining_amount": cents_floor(Decimal(row["remaining_usd"])),
        "created_at": row["created_at"],
        "expires_at": row["expires_at"],
        "purchase_id": row["purchase_id"],
    }


def credit_balance(grants: list[dict[str, Any]]) -> dict[str, Any]:
    available = sum((Decimal(g["remaining_usd"]) for g in grants), Decimal(0))
    return {
        "object": f"{_BILLING}.credit_balance",
        "available_amount": cents_floor(available),
        "currency": "USD",
        "grants": [credit_grant(g) for g in grants],
    }


def charge(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "object": f"{_BILLING}.charge",
        "amount": row["amount"],
        "currency": "USD",
        "status": row["status"],
        "failure_code": row["failure_code"],
        "reason": row["reason"],
        "payment_method_id": row["payment_method_id"],
        "purchase_id": row["purchase_id"],
        "created_at": row["created_at"],
    }


def invoice(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "object": f"{_BILLING}.invoice",
        "amount": row["amount"],
        "currency": "USD",
        "status": "paid",
        "description": row["description"],
        "charge_id": row["charge_id"],
        "purchase_id": row["purchase_id"],
        "created_at": row["created_at"],
    }


def notification(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "object": "sandbox.notification",
        "alert_id": row["alert_id"],
        "project_id": row["project_id"],
        "threshold_amount": row["threshold_amount"],
        "month": row["month"],
        "spend_usd": row["spend_usd"],
        "recipients": json.loads(row["recipients"]),
        "subject_prefix": row["subject_prefix"],
        "created_at": row["created_at"],
    }
