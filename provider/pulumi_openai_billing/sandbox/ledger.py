"""The sandbox as a working billing account: payment methods, the default, auto-reload, purchases, credit
grants, charges, invoices, and what recorded usage does to them.

Every operation runs under one lock, so a purchase key is checked and charged atomically and usage is
enforced, consumed, notified and reloaded as one step (one SQLite transaction: all of it or nothing). Usage
beyond the available credit is recorded but not refused (OpenAI would answer 429 ``insufficient_quota``; the
sandbox keeps the account postpaid). No error message repeats a token, a card number or an id the sandbox
did not issue.
"""

from __future__ import annotations

import hashlib
import math
import re
import threading
from decimal import Decimal
from typing import Any

from .._api.cards import is_card_number
from . import wire
from .errors import ApiError
from .limits import SPEND_LIMIT
from .store import ORG, Store, new_id

DAY = 86400
GRANT_LIFETIME = 365 * DAY
AUTO_RELOAD = "auto_reload"
DEFAULT_PAYMENT_METHOD = "default_payment_method"
_FAILURES_BEFORE_DISABLE = 3

TEST_CARDS: dict[str, tuple[str, str, bool]] = {
    "pm_card_visa": ("visa", "4242424242424242", False),
    "pm_card_mastercard": ("mastercard", "5555555555554444", False),
    "pm_card_amex": ("amex", "371449635398431", False),
    "pm_card_visa_debit": ("visa", "4000056655665556", False),
    "pm_card_chargeDeclined": ("visa", "4000000000000002", True),
}
"""Processor test tokens -> (brand, card number, whether its charges are declined)."""

_ISSUED_ID = re.compile(r"^pm_[A-Za-z0-9]{24}$")


def card_number_refused(param: str) -> ApiError:
    return ApiError(
        400,
        f"'{param}' looks like a payment card number, which is never accepted: payment methods are attached "
        "from a token of your payment processor.",
        code="card_number_refused",
        param=param,
    )


def payment_method_not_found(payment_method_id: str, param: str | None = None) -> ApiError:
    """404 (or 400 naming ``param``); the id is repeated only when it has the shape of one the sandbox issues,
    so a token or card number sent in its place is never echoed."""
    which = f"id '{payment_method_id}'" if _ISSUED_ID.match(payment_method_id) else "this id"
    return ApiError(
        400 if param else 404,
        f"No payment method found with {which}.",
        code="payment_method_not_found",
        param=param,
    )


def _in_use(what: str) -> ApiError:
    return ApiError(409, f"{what} is charged by the auto-reload policy.", code="payment_method_in_use")


class Ledger:
    """The billing operations of one account, over its store, at times given by the caller (the clock)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.lock = threading.RLock()

    # -- payment methods ---------------------------------------------------------------------------------

    def payment_method(self, payment_method_id: str, param: str | None = None) -> dict[str, Any]:
        row = self.store.row("payment_methods", "id = ? AND detached = 0", payment_method_id)
        if row is None:
            raise payment_method_not_found(payment_method_id, param)
        return row

    def payment_methods(self) -> list[dict[str, Any]]:
        return self.store.rows("payment_methods", "detached = 0")

    def default(self) -> str | None:
        default: str | None = self.store.setting(DEFAULT_PAYMENT_METHOD)
        return default

    def attach(self, token: str, now: int) -> dict[str, Any]:
        """The method of this token: the attached one when there is one (attach is idempotent), else new."""
        if is_card_number(token):
            raise card_number_refused("token")
        card = TEST_CARDS.get(token)
        if card is None:
            raise ApiError(400, "The payment token is unknown or expired.", code="invalid_token", param="token")
        token_hash = hashlib.sha256(token.encode()).hexdigest()
        with self.lock:
            existing = self.store.row("payment_methods", "token_hash = ? AND detached = 0", token_hash)
            if existing is not None:
                return existing
            brand, number, declines = card
            year = int(wire.month_name(now)[:4])
            return self.store.insert(
                "payment_methods",
                {
                    "id": new_id("pm_"),
                    "token_hash": token_hash,
                    "brand": brand,
                    "last4": number[-4:],
                    "exp_month": 12,
                    "exp_year": year + 4,
                    "fingerprint": hashlib.sha256(f"sandbox-card:{number}".encode()).hexdigest()[:16],
                    "declines": int(declines),
                    "created_at": now,
                },
            )

    def _charged_by_policy(self, payment_method_id: str | None, *, as_default: bool) -> bool:
        policy = self.policy()
        if policy is None:
            return False
        if policy["payment_method_id"]:
            return not as_default and policy["payment_method_id"] == payment_method_id
        return bool(policy["enabled"]) and self.default() == payment_method_id

    def detach(self, payment_method_id: str) -> None:
        with self.lock:
            self.payment_method(payment_method_id)
            if self._charged_by_policy(payment_method_id, as_default=False):
                raise _in_use("This payment method")
            if self.default() == payment_method_id:
                self.store.put_setting(DEFAULT_PAYMENT_METHOD, None)
            self.store.set_fields("payment_methods", payment_method_id, detached=1)

    def set_default(self, payment_method_id: str | None) -> None:
        with self.lock:
            if payment_method_id is None:
                current = self.default()
                if current is not None and self._charged_by_policy(current, as_default=True):
                    raise _in_use("The default payment method")
            else:
                self.payment_method(payment_method_id, "payment_method_id")
            self.store.put_setting(DEFAULT_PAYMENT_METHOD, payment_method_id)

    # -- auto-reload --------------------------------------------------------------------------------------

    def policy(self) -> dict[str, Any] | None:
        policy: dict[str, Any] | None = self.store.setting(AUTO_RELOAD)
        return policy

    def put_policy(self, values: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            if values["payment_method_id"] is not None:
                self.payment_method(values["payment_method_id"], "payment_method_id")
            elif values["enabled"] and self.default() is None:
                raise ApiError(
                    400,
                    "An enabled auto-reload policy needs a payment method: name one or set a default.",
                    code="payment_method_required",
                    param="payment_method_id",
                )
            policy = {**values, "consecutive_failures": 0, "disabled_reason": None}
            self.store.put_setting(AUTO_RELOAD, policy)
            return policy

    def delete_policy(self) -> None:
        with self.lock:
            if self.policy() is None:
                raise ApiError(404, "No auto-reload policy is set.", code="auto_reload_not_found")
            self.store.put_setting(AUTO_RELOAD, None)

    def reloaded(self, month_of: int) -> int:
        """Cents successfully reloaded in the UTC month holding ``month_of``."""
        start, end = wire.month_bounds(month_of)
        rows = self.store.rows(
            "charges",
            "reason = 'auto_reload' AND status = 'succeeded' AND created_at >= ? AND created_at < ?",
            start,
            end,
        )
        return sum(int(r["amount"]) for r in rows)

    # -- charges, grants, purchases ---------------------------------------------------------------------

    def _paying_method(self, payment_method_id: str | None) -> dict[str, Any]:
        chosen = payment_method_id or self.default()
        if chosen is None:
            raise ApiError(
                400,
                "No payment method: name one or set a default payment method.",
                code="payment_method_required",
                param="payment_method_id",
            )
        return self.payment_method(chosen, "payment_method_id")

    def _charge(
        self, method: dict[str, Any], amount: int, reason: str, purchase_id: str | None, now: int
    ) -> dict[str, Any]:
        """One charge attempt; a successful one writes its invoice (the row carries ``invoice_id``). A declined
        charge bought nothing, so it names no purchase."""
        declined = bool(method["declines"])
        charge = self.store.insert(
            "charges",
            {
                "id": new_id("ch_"),
                "amount": amount,
                "status": "failed" if declined else "succeeded",
                "failure_code": "card_declined" if declined else None,
                "reason": reason,
                "payment_method_id": method["id"],
                "purchase_id": None if declined else purchase_id,
                "created_at": now,
            },
        )
        if declined:
            return {**charge, "invoice_id": None}
        what = "Prepaid credit purchase" if reason == "credit_purchase" else "Credit auto-reload"
        invoice = self.store.insert(
            "invoices",
            {
                "id": new_id("in_"),
                "amount": amount,
                "description": f"{what} ({amount / 100:.2f} USD)",
                "charge_id": charge["id"],
                "purchase_id": purchase_id,
                "created_at": now,
            },
        )
        return {**charge, "invoice_id": invoice["id"]}

    def _grant(self, amount: int, source: str, purchase_id: str | None, now: int) -> dict[str, Any]:
        return self.store.insert(
            "credit_grants",
            {
                "id": new_id("cg_"),
                "source": source,
                "amount": amount,
                "remaining_usd": str(Decimal(amount) / 100),
                "created_at": now,
                "expires_at": now + GRANT_LIFETIME,
                "purchase_id": purchase_id,
            },
        )

    def purchase(self, key: str, amount: int, payment_method_id: str | None, now: int) -> dict[str, Any]:
        """The purchase of this key: the original one (no new charge) or a new, charged one."""
        if is_card_number(key):
            raise card_number_refused("Idempotency-Key")
        with self.lock:
            earlier = self.store.row("credit_purchases", "purchase_key = ?", key)
            if earlier is not None:
                if int(earlier["amount"]) != amount:
                    raise ApiError(
                        409,
                        f"Idempotency-Key '{key}' was already used for purchase {earlier['id']} of "
                        f"{int(earlier['amount']) / 100:.2f} USD; a key names one purchase for good.",
                        code="idempotency_key_reused",
                    )
                return earlier
            method = self._paying_method(payment_method_id)
            purchase_id = new_id("cp_")
            with self.store.transaction():
                charge = self._charge(method, amount, "credit_purchase", purchase_id, now)
                if charge["status"] == "succeeded":
                    grant = self._grant(amount, "purchase", purchase_id, now)
                    purchase = self.store.insert(
                        "credit_purchases",
                        {
                            "id": purchase_id,
                            "purchase_key": key,
                            "amount": amount,
                            "payment_method_id": method["id"],
                            "credit_grant_id": grant["id"],
                            "invoice_id": charge["invoice_id"],
                            "created_at": now,
                            "expires_at": grant["expires_at"],
                        },
                    )
            if charge["status"] != "succeeded":
                raise ApiError(402, "Your card was declined.", code="card_declined", type="card_error")
            return purchase

    def grants(self, now: int) -> list[dict[str, Any]]:
        """Usable grants at ``now``, oldest first."""
        rows = self.store.rows("credit_grants", "created_at <= ? AND expires_at > ?", now, now)
        return sorted((r for r in rows if Decimal(r["remaining_usd"]) > 0), key=lambda r: (r["created_at"], r["seq"]))

    def balance(self, now: int) -> Decimal:
        return sum((Decimal(g["remaining_usd"]) for g in self.grants(now)), Decimal(0))

    # -- usage ---------------------------------------------------------------------------------------------

    def record_usage(
        self, project_id: str, line_item: str, amount: Decimal, timestamp: int, api_key_id: str | None = None
    ) -> dict[str, Any]:
        """Enforce limits, record, consume credit, notify alerts and reload, as one step."""
        with self.lock, self.store.transaction():
            self._enforce(project_id, timestamp)
            if api_key_id is not None:
                self._enforce_key(project_id, api_key_id, timestamp)
            usage = self.store.add_usage(project_id, line_item, amount, timestamp, api_key_id)
            self._consume(amount, timestamp)
            notifications = self._notify(project_id, timestamp)
            reload = self._reload(timestamp)
        return {**usage, "notifications": notifications, "reload": reload}

    def _enforce(self, project_id: str, timestamp: int) -> None:
        month = wire.month_bounds(timestamp)
        for scope, code in ((ORG, "organization_spend_limit_exceeded"), (project_id, "project_spend_limit_exceeded")):
            limit = self.store.setting(SPEND_LIMIT.name, scope)
            if limit is not None and self.store.spend(scope, *month) * 100 >= int(limit["threshold_amount"]):
                what = "organization" if scope == ORG else "project"
                raise ApiError(
                    429,
                    f"You have reached your {what}'s monthly spend limit. Raise the limit to resume traffic.",
                    code=code,
                    type="insufficient_quota",
                )

    def _enforce_key(self, project_id: str, api_key_id: str, timestamp: int) -> None:
        """A key's own limit refuses its traffic once its month-to-date spend reaches it."""
        key = self.store.api_key(project_id, api_key_id)
        limit = key and key["spend_limit"]
        if limit and self.store.key_spend(api_key_id, *wire.month_bounds(timestamp)) * 100 >= limit["threshold_amount"]:
            raise ApiError(
                429,
                "You have reached this API key's monthly spend limit. Raise the limit to resume traffic.",
                code="api_key_spend_limit_exceeded",
                type="insufficient_quota",
            )

    def _consume(self, amount: Decimal, timestamp: int) -> None:
        left = amount
        for grant in self.grants(timestamp):
            if left <= 0:
                break
            remaining = Decimal(grant["remaining_usd"])
            used = min(remaining, left)
            self.store.set_fields("credit_grants", grant["id"], remaining_usd=str(remaining - used))
            left -= used

    def _notify(self, project_id: str, timestamp: int) -> list[dict[str, Any]]:
        month = wire.month_bounds(timestamp)
        fired = []
        for scope in (ORG, project_id):
            spend = self.store.spend(scope, *month)
            for alert in self.store.alerts(scope):
                if spend * 100 < int(alert["threshold_amount"]):
                    continue
                name = wire.month_name(timestamp)
                if self.store.row("notifications", "alert_id = ? AND month = ?", alert["id"], name):
                    continue
                channel = alert["notification_channel"]
                fired.append(
                    wire.notification(
                        self.store.insert(
                            "notifications",
                            {
                                "id": new_id("ntf_"),
                                "alert_id": alert["id"],
                                "project_id": None if scope == ORG else scope,
                                "threshold_amount": int(alert["threshold_amount"]),
                                "month": name,
                                "spend_usd": format(spend, "f"),
                                "recipients": wire.json_list(channel["recipients"]),
                                "subject_prefix": channel.get("subject_prefix"),
                                "created_at": timestamp,
                            },
                        )
                    )
                )
        return fired

    def _reload(self, timestamp: int) -> dict[str, Any] | None:
        policy = self.policy()
        if policy is None or not policy["enabled"]:
            return None
        balance = self.balance(timestamp)
        if balance * 100 >= policy["balance_threshold_amount"]:
            return None
        amount = math.ceil(Decimal(policy["target_balance_amount"]) - balance * 100)
        if self.reloaded(timestamp) + amount > policy["monthly_reload_limit_amount"]:
            return None
        chosen = policy["payment_method_id"] or self.default()
        method = self.store.row("payment_methods", "id = ? AND detached = 0", chosen) if chosen else None
        if method is None:
            return None
        charge = self._charge(method, amount, "auto_reload", None, timestamp)
        if charge["status"] == "succeeded":
            self._grant(amount, "auto_reload", None, timestamp)
            policy = {**policy, "consecutive_failures": 0}
        else:
            failures = int(policy["consecutive_failures"]) + 1
            policy = {**policy, "consecutive_failures": failures}
            if failures >= _FAILURES_BEFORE_DISABLE:
                policy = {**policy, "enabled": False, "disabled_reason": "payment_failed"}
        self.store.put_setting(AUTO_RELOAD, policy)
        return wire.charge(charge)
