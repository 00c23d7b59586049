"""Prepaid credit purchases, made exactly once per ``purchase_key`` (billing extension only).

The key travels as the ``Idempotency-Key``, which the extension keeps for good: re-sending it (a lost
answer, a renamed resource, another stack, destroy then up) returns the original purchase and charges
nothing. A purchase is never changed or refunded through the provider.
"""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from typing import Annotated, Any, ClassVar

import pulumi
from pydantic import StringConstraints

from .._api.client import transient
from .._api.money import format_usd, to_cents
from ..errors import OpenAIError, ProviderError, RequestFailed
from ._fields import InputModel, OutputModel, described, usd_validator
from ._kind import Kind
from ._resource import BillingResource
from ._step import Step
from ._wire import USD, cents_field, check_currency, usd_from_cents
from .payment_methods import PaymentMethodId, check_payment_method

CREDIT_PURCHASES = "organization/billing/credit_purchases"
MIN_PURCHASE_USD = Decimal("5")

PurchaseKey = Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9._:-]+$")]


class CreditPurchaseInputs(InputModel):
    amount_usd: Annotated[
        str,
        usd_validator(MIN_PURCHASE_USD),
        described(
            f"US dollars to buy (at least {MIN_PURCHASE_USD}, at most openai-billing:maxPurchaseUsd); cannot change "
            "once bought."
        ),
    ]
    purchase_key: Annotated[
        PurchaseKey,
        described(
            "Your name for this purchase, sent as the Idempotency-Key: the same key never buys twice. A new key "
            "replaces (a new purchase)."
        ),
    ]
    payment_method_id: Annotated[
        PaymentMethodId | None,
        described("The payment method charged; none means the default. Create-only: never diffs or buys again."),
    ] = None


class CreditPurchaseOutputs(OutputModel):
    purchase_id: Annotated[str, described("The purchase's id.")]
    amount_cents: Annotated[int, described("The amount charged, in integer cents.")]
    currency: Annotated[str, described('Always "USD".')]
    granted_cents: Annotated[int, described("Credits granted, in integer cents.")]
    expires_at: Annotated[str | None, described("When the granted credits expire (UTC, ISO 8601).")]
    invoice_id: Annotated[str | None, described("The invoice of the charge.")]
    status: Annotated[str, described("The purchase's status, e.g. succeeded.")]


def _purchase_by_key(step: Step, key: str) -> dict[str, Any] | None:
    return next((p for p in step.client.list_all(CREDIT_PURCHASES) if p.get("purchase_key") == key), None)


def _timestamp(value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return datetime.fromtimestamp(value, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class CreditPurchaseKind(Kind):
    name = "CreditPurchase"
    inputs = CreditPurchaseInputs
    outputs = CreditPurchaseOutputs
    replace_on = frozenset({"purchase_key"})
    create_only = frozenset({"payment_method_id"})
    capability = "credit_purchases"

    def check_change(self, olds: dict[str, Any], news: dict[str, Any]) -> list[tuple[str, str]]:
        same_key = olds.get("purchase_key") == news.get("purchase_key")
        if same_key and olds.get("amount_usd") and news.get("amount_usd") not in (None, olds["amount_usd"]):
            return [
                (
                    "amount_usd",
                    f"amount_usd cannot change from {olds['amount_usd']} to {news['amount_usd']}: purchase "
                    f"{olds['purchase_key']!r} is made. Declare a new CreditPurchase with a new purchase_key to "
                    "buy more credits",
                )
            ]
        return []

    def check_live(self, step: Step, inputs: dict[str, Any], olds: dict[str, Any]) -> list[tuple[str, str]]:
        problems: list[tuple[str, str]] = []
        amount = inputs.get("amount_usd")
        cap = step.settings.max_purchase_usd
        if amount is not None and Decimal(amount) > cap:
            problems.append(
                (
                    "amount_usd",
                    f"amount_usd {amount} is above openai-billing:maxPurchaseUsd ({format_usd(cap)} USD); if this "
                    f"purchase is intended, raise the cap: pulumi config set openai-billing:maxPurchaseUsd {amount}",
                )
            )
        key = inputs.get("purchase_key")
        if amount is not None and key is not None:
            earlier = _purchase_by_key(step, key)
            if earlier is not None and cents_field(earlier, "amount") != to_cents(Decimal(amount)):
                problems.append(("purchase_key", self._reused(key, earlier)))
        return problems + check_payment_method(step, inputs.get("payment_method_id"), "payment_method_id")

    @staticmethod
    def _reused(key: str, earlier: dict[str, Any]) -> str:
        return (
            f"purchase_key {key!r} already bought {usd_from_cents(cents_field(earlier, 'amount'))} USD "
            f"({earlier.get('id')}): a key names one purchase for good. Use a new purchase_key to buy again"
        )

    @staticmethod
    def _outputs(live: dict[str, Any]) -> dict[str, Any]:
        check_currency(live, f"credit purchase {live.get('id')}")
        return CreditPurchaseOutputs.of(
            purchase_id=live["id"],
            amount_cents=cents_field(live, "amount"),
            currency=live.get("currency", USD),
            granted_cents=cents_field(live, "granted_amount"),
            expires_at=_timestamp(live.get("expires_at")),
            invoice_id=live.get("invoice_id"),
            status=live.get("status"),
        )

    def create(self, step: Step, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        key, amount = inputs["purchase_key"], inputs["amount_usd"]
        body = {"amount": to_cents(Decimal(amount)), "currency": USD, "payment_method_id": inputs["payment_method_id"]}
        try:
            live = step.client.post(CREDIT_PURCHASES, body, idempotent=True, headers={"Idempotency-Key": key})
        except OpenAIError as exc:
            if exc.status == 409:
                raise ProviderError(
                    f"purchase_key {key!r} was already used for another amount: {exc.message} A key names one "
                    "purchase for good: use a new purchase_key to buy again"
                ) from None
            if exc.status == 402:
                raise ProviderError(
                    f"the charge of {amount} USD was declined ({exc.code or 'payment failed'}): nothing was bought. "
                    "Fix or replace the payment method and run `pulumi up` again; the same purchase_key is safe "
                    "to retry"
                ) from None
            if not transient(exc):
                raise
            live = self._reconcile(step, key, exc)
        except RequestFailed as exc:
            live = self._reconcile(step, key, exc)
        if live.get("status") != "succeeded":
            raise ProviderError(f"credit purchase {live.get('id')} ended {live.get('status')!r}: no credits granted")
        return live["id"], self._outputs(live)

    @staticmethod
    def _reconcile(step: Step, key: str, failure: Exception) -> dict[str, Any]:
        """After the retries ran out: the purchase the key made, if the list shows one, else a clear error."""
        safe = (
            f"Running `pulumi up` again is safe: the purchase_key {key!r} makes the billing API return the "
            "original purchase instead of charging again"
        )
        try:
            live = _purchase_by_key(step, key)
        except (OpenAIError, RequestFailed) as exc:
            raise ProviderError(
                f"{failure} The purchase may or may not have been made, and listing purchases to find out failed "
                f"too ({exc}). {safe}"
            ) from None
        if live is None:
            raise ProviderError(f"{failure} No purchase with purchase_key {key!r} exists: nothing was charged. {safe}")
        return live

    def read(self, step: Step, id_: str, olds: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]] | None:
        live = step.find(f"{CREDIT_PURCHASES}/{id_}")
        if live is None:
            return None
        values = {"amount_usd": usd_from_cents(cents_field(live, "amount")), "purchase_key": live.get("purchase_key")}
        return values, self._outputs(live)

    def update(self, step: Step, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        return self.kept(olds)

    def delete(self, step: Step, id_: str, olds: dict[str, Any]) -> None:
        """Purchased credits stay on the account: deleting the resource refunds nothing."""


class CreditPurchase(BillingResource):
    """A one-off purchase of prepaid credits (experimental: billing extension only).

    ``purchase_key`` (your choice, e.g. ``"2026-q4-preload"``) makes it happen once: the same key and amount
    never charge twice, under any resource name or stack. The amount of a made purchase cannot change
    (declare a new purchase); destroying the resource refunds nothing. Purchases above
    ``openai-billing:maxPurchaseUsd`` (default 1,000 USD) are refused at preview.
    """

    _kind: ClassVar = CreditPurchaseKind

    amount_usd: pulumi.Output[str]
    purchase_key: pulumi.Output[str]
    payment_method_id: pulumi.Output[str | None]
    purchase_id: pulumi.Output[str]
    amount_cents: pulumi.Output[int]
    currency: pulumi.Output[str]
    granted_cents: pulumi.Output[int]
    expires_at: pulumi.Output[str | None]
    invoice_id: pulumi.Output[str | None]
    status: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        *,
        amount_usd: pulumi.Input[int | float | str | Decimal],
        purchase_key: pulumi.Input[str],
        payment_method_id: pulumi.Input[str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(resource_name, locals(), opts)
