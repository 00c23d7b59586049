"""Payment methods on file and the account's default one (billing extension, not api.openai.com).

A method is attached from a processor token, never from a card number. The default is a singleton of
its own, never a flag on each method, so two resources cannot fight over it.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

import pulumi
from pydantic import StringConstraints

from ..errors import OpenAIError, ProviderError
from ._fields import InputModel, OutputModel, described
from ._kind import Kind
from ._resource import BillingResource
from ._step import Step

PAYMENT_METHODS = "organization/billing/payment_methods"
DEFAULT_PAYMENT_METHOD = "organization/billing/default_payment_method"
AUTO_RELOAD = "organization/billing/auto_reload"
DEFAULT_ID = "default_payment_method"

PaymentToken = Annotated[
    str, StringConstraints(min_length=3, max_length=255, pattern=r"^[A-Za-z][A-Za-z0-9]*_[A-Za-z0-9_]+$")
]
"""A processor token such as ``pm_card_visa``: letters, an underscore, then letters, digits, underscores."""

PaymentMethodId = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255, pattern=r"^[A-Za-z0-9_.:-]+$")
]


class PaymentMethodInputs(InputModel):
    token: Annotated[
        PaymentToken,
        described(
            "A payment processor token (pm_card_visa, pm_1Abc…), never a card number; secret. Changing it replaces."
        ),
    ]
    on_delete: Annotated[
        Literal["remove", "retain"],
        described('"remove" (default) detaches the card on destroy; "retain" leaves it on file.'),
    ] = "remove"


class DefaultPaymentMethodInputs(InputModel):
    payment_method_id: Annotated[
        PaymentMethodId, described("The payment method (pm_…) charged when nothing names another.")
    ]


class PaymentMethodOutputs(OutputModel):
    payment_method_id: Annotated[str, described("The id the account gave the attached card.")]
    brand: Annotated[str | None, described("Card brand, e.g. visa.")]
    last4: Annotated[str | None, described("The card's last four digits.")]
    exp_month: Annotated[int | None, described("Expiry month, 1-12.")]
    exp_year: Annotated[int | None, described("Expiry year.")]
    fingerprint: Annotated[str | None, described("The same card gives the same fingerprint.")]


class DefaultPaymentMethodOutputs(OutputModel):
    pass


def check_payment_method(step: Step, payment_method_id: str | None, prop: str) -> list[tuple[str, str]]:
    """At preview: a known payment method id must be on file."""
    if not payment_method_id:
        return []
    if step.find(f"{PAYMENT_METHODS}/{payment_method_id}") is None:
        return [(prop, f"{prop}: no payment method {payment_method_id} is on file in {step.organization}")]
    return []


def _card(olds: dict[str, Any]) -> str:
    brand, last4 = olds.get("brand"), olds.get("last4")
    return f" ({brand} ending {last4})" if brand and last4 else ""


class PaymentMethodKind(Kind):
    name = "PaymentMethod"
    inputs = PaymentMethodInputs
    outputs = PaymentMethodOutputs
    replace_on = frozenset({"token"})
    capability = "payment_methods"
    secret_inputs = frozenset({"token"})

    @staticmethod
    def _outputs(live: dict[str, Any]) -> dict[str, Any]:
        last4 = live.get("last4")
        return PaymentMethodOutputs.of(
            payment_method_id=live["id"],
            brand=live.get("brand"),
            last4=None if last4 is None else str(last4),
            exp_month=live.get("exp_month"),
            exp_year=live.get("exp_year"),
            fingerprint=live.get("fingerprint"),
        )

    def create(self, step: Step, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        try:
            # Attaching an attached token answers the same method, so a retry never adds a second one.
            live = step.client.post(PAYMENT_METHODS, {"token": inputs["token"]}, idempotent=True)
        except OpenAIError as exc:
            if exc.status == 400 and exc.param == "token":
                raise ProviderError(f"token was refused by the billing API: {exc.message}") from None
            raise
        return live["id"], self._outputs(live)

    def read(self, step: Step, id_: str, olds: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]] | None:
        live = step.find(f"{PAYMENT_METHODS}/{id_}")
        return None if live is None else ({}, self._outputs(live))

    def update(self, step: Step, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        return self.kept(olds)

    def delete(self, step: Step, id_: str, olds: dict[str, Any]) -> None:
        if olds.get("on_delete", "remove") != "remove":
            return
        if _used_by_auto_reload(step, id_):
            raise self._in_use(id_, olds)
        try:
            step.client.delete(f"{PAYMENT_METHODS}/{id_}")
        except OpenAIError as exc:
            if exc.status == 409:
                raise self._in_use(id_, olds) from None
            if not exc.gone:
                raise

    @staticmethod
    def _in_use(id_: str, olds: dict[str, Any]) -> ProviderError:
        return ProviderError(
            f"payment method {id_}{_card(olds)} is used by the live auto-reload policy, which would stop topping "
            "up credits: point the CreditTopUpPolicy at another payment method (or remove the policy) first, or "
            'set on_delete="retain" on this PaymentMethod to keep it on file'
        )


def _used_by_auto_reload(step: Step, payment_method_id: str) -> bool:
    """Whether the live policy charges this method: by name, or enabled and relying on the default."""
    policy = step.find(AUTO_RELOAD)
    if policy is None:
        return False
    named = policy.get("payment_method_id")
    if named:
        return bool(named == payment_method_id)
    if not policy.get("enabled"):
        return False
    return step.client.get(DEFAULT_PAYMENT_METHOD).get("payment_method_id") == payment_method_id


class DefaultPaymentMethodKind(Kind):
    name = "DefaultPaymentMethod"
    inputs = DefaultPaymentMethodInputs
    outputs = DefaultPaymentMethodOutputs
    capability = "payment_methods"

    def check_live(self, step: Step, inputs: dict[str, Any], olds: dict[str, Any]) -> list[tuple[str, str]]:
        return check_payment_method(step, inputs.get("payment_method_id"), "payment_method_id")

    def _set(self, step: Step, payment_method_id: str) -> None:
        try:
            step.client.post(DEFAULT_PAYMENT_METHOD, {"payment_method_id": payment_method_id}, idempotent=True)
        except OpenAIError as exc:
            if exc.status in (400, 404) and exc.param == "payment_method_id":
                raise ProviderError(f"payment_method_id: no payment method {payment_method_id} is on file") from None
            raise

    def create(self, step: Step, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        self._set(step, inputs["payment_method_id"])
        return DEFAULT_ID, {}

    def read(self, step: Step, id_: str, olds: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]] | None:
        live = step.client.get(DEFAULT_PAYMENT_METHOD).get("payment_method_id")
        return ({"payment_method_id": live}, {}) if live else None

    def update(self, step: Step, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        self._set(step, news["payment_method_id"])
        return {}

    def delete(self, step: Step, id_: str, olds: dict[str, Any]) -> None:
        """The account keeps its default: clearing it could stop an auto-reload policy that relies on it."""


class PaymentMethod(BillingResource):
    """A payment method on file, attached from a processor token (experimental: billing extension only).

    ``token`` is kept secret in state. Changing it attaches the new method before detaching the old one.
    ``on_delete="remove"`` (the default) detaches the method on destroy, which is refused while the live
    auto-reload policy charges it; ``"retain"`` keeps it on file.
    """

    _kind: ClassVar = PaymentMethodKind

    token: pulumi.Output[str]
    on_delete: pulumi.Output[str]
    payment_method_id: pulumi.Output[str]
    brand: pulumi.Output[str | None]
    last4: pulumi.Output[str | None]
    exp_month: pulumi.Output[int | None]
    exp_year: pulumi.Output[int | None]
    fingerprint: pulumi.Output[str | None]

    def __init__(
        self,
        resource_name: str,
        *,
        token: pulumi.Input[str],
        on_delete: pulumi.Input[str] = "remove",
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(resource_name, locals(), opts)


class DefaultPaymentMethod(BillingResource):
    """The account's default payment method (a singleton; experimental: billing extension only).

    Destroying it leaves the default in place: an auto-reload policy may rely on it.
    """

    _kind: ClassVar = DefaultPaymentMethodKind

    payment_method_id: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        *,
        payment_method_id: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(resource_name, locals(), opts)
