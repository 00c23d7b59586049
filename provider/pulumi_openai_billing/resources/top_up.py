"""The credit top-up (auto-reload) policy: a singleton that buys credits when the balance runs low.

Experimental: served by the billing extension, not by api.openai.com. ``monthly_reload_limit_usd`` is
required, so a policy can never charge without a monthly bound.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal

import pulumi
from pydantic import StrictBool, ValidationInfo, field_validator

from .._api.fields import MIN_RELOAD_USD, reload_limit_problem, target_balance_problem
from .._api.money import to_cents
from ._fields import InputModel, OutputModel, PositiveUsdAmount, UsdAmount, described, usd_validator
from ._resource import BillingResource
from ._singleton import SingletonKind
from ._step import Step
from ._wire import USD, cents_field, check_currency, usd_from_cents
from .payment_methods import PaymentMethodId, check_payment_method


class CreditTopUpPolicyInputs(InputModel):
    balance_threshold_usd: Annotated[
        UsdAmount, described("Reload when the credit balance falls below this many US dollars.")
    ]
    target_balance_usd: Annotated[
        PositiveUsdAmount,
        described(
            f"Each reload buys credits up to this balance; at least {MIN_RELOAD_USD} USD above balance_threshold_usd."
        ),
    ]
    monthly_reload_limit_usd: Annotated[
        str,
        usd_validator(MIN_RELOAD_USD),
        described(
            "Required bound on what reloads may charge in one UTC month; a reload that would pass it is skipped, "
            "never partial."
        ),
    ]
    enabled: Annotated[StrictBool, described("false keeps the policy on file without reloading.")] = True
    payment_method_id: Annotated[
        PaymentMethodId | None, described("The payment method charged; none means the default payment method.")
    ] = None
    on_delete: Annotated[
        Literal["retain", "remove"],
        described(
            '"retain" (default) leaves the live policy running on destroy, so credits never run out by accident; '
            '"remove" deletes it.'
        ),
    ] = "retain"
    adopt_existing: Annotated[
        StrictBool,
        described("Take over a live policy (create refuses otherwise). Create-only: never diffs."),
    ] = False

    @field_validator("target_balance_usd")
    @classmethod
    def _above_threshold(cls, value: str, info: ValidationInfo) -> str:
        threshold = info.data.get("balance_threshold_usd")
        problem = threshold is not None and target_balance_problem(Decimal(threshold), Decimal(value))
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("monthly_reload_limit_usd")
    @classmethod
    def _allows_a_reload(cls, value: str, info: ValidationInfo) -> str:
        threshold, target = info.data.get("balance_threshold_usd"), info.data.get("target_balance_usd")
        problem = (
            threshold is not None
            and target is not None
            and reload_limit_problem(Decimal(threshold), Decimal(target), Decimal(value))
        )
        if problem:
            raise ValueError(problem)
        return value


class CreditTopUpPolicyOutputs(OutputModel):
    balance_threshold_cents: Annotated[int, described("balance_threshold_usd in integer cents, as live.")]
    target_balance_cents: Annotated[int, described("target_balance_usd in integer cents, as live.")]
    monthly_reload_limit_cents: Annotated[int, described("monthly_reload_limit_usd in integer cents, as live.")]
    currency: Annotated[str, described('Always "USD".')]
    disabled_reason: Annotated[
        str | None, described("Why the account disabled the policy (e.g. repeated declines), else null.")
    ]


_AMOUNTS = {
    "balance_threshold_usd": "balance_threshold_amount",
    "target_balance_usd": "target_balance_amount",
    "monthly_reload_limit_usd": "monthly_reload_limit_amount",
}


class CreditTopUpPolicyKind(SingletonKind):
    name = "CreditTopUpPolicy"
    inputs = CreditTopUpPolicyInputs
    outputs = CreditTopUpPolicyOutputs
    capability = "auto_reload"
    family = "auto_reload"
    setting = "billing/auto_reload"
    organization_id = "auto_reload"

    def show(self, live: dict[str, Any]) -> str:
        values = self.live_inputs(live, None)
        state = "an enabled" if values["enabled"] else "a disabled"
        return (
            f"{state} auto-reload policy (below {values['balance_threshold_usd']} USD reload to "
            f"{values['target_balance_usd']} USD, at most {values['monthly_reload_limit_usd']} USD a month)"
        )

    def body(self, values: dict[str, Any]) -> dict[str, Any]:
        return {
            "enabled": bool(values["enabled"]),
            **{wire: to_cents(Decimal(values[field])) for field, wire in _AMOUNTS.items()},
            "currency": USD,
            "payment_method_id": values.get("payment_method_id"),
        }

    def validate(self, live: dict[str, Any], scope: str | None) -> None:
        check_currency(live, "the auto-reload policy")

    def live_inputs(self, live: dict[str, Any], scope: str | None) -> dict[str, Any]:
        return {
            "enabled": bool(live.get("enabled")),
            **{field: usd_from_cents(cents_field(live, wire)) for field, wire in _AMOUNTS.items()},
            "payment_method_id": live.get("payment_method_id") or None,
        }

    def live_outputs(self, live: dict[str, Any]) -> dict[str, Any]:
        return CreditTopUpPolicyOutputs.of(
            balance_threshold_cents=cents_field(live, "balance_threshold_amount"),
            target_balance_cents=cents_field(live, "target_balance_amount"),
            monthly_reload_limit_cents=cents_field(live, "monthly_reload_limit_amount"),
            currency=live.get("currency", USD),
            disabled_reason=live.get("disabled_reason"),
        )

    def check_live(self, step: Step, inputs: dict[str, Any], olds: dict[str, Any]) -> list[tuple[str, str]]:
        return self.creation_problems(step, inputs, olds) or check_payment_method(
            step, inputs.get("payment_method_id"), "payment_method_id"
        )


class CreditTopUpPolicy(BillingResource):
    """Auto-reload: when the credit balance falls below ``balance_threshold_usd``, buy credits up to
    ``target_balance_usd``, never more than ``monthly_reload_limit_usd`` in a UTC month (experimental:
    billing extension only).

    Charges ``payment_method_id``, else the default payment method. Like spend limits, creating it where a
    live policy exists needs ``adopt_existing=True``, and ``on_delete="retain"`` (the default) leaves the
    live policy running on destroy so credits never run out by accident.
    """

    _kind: ClassVar = CreditTopUpPolicyKind

    enabled: pulumi.Output[bool]
    balance_threshold_usd: pulumi.Output[str]
    target_balance_usd: pulumi.Output[str]
    monthly_reload_limit_usd: pulumi.Output[str]
    payment_method_id: pulumi.Output[str | None]
    on_delete: pulumi.Output[str]
    adopt_existing: pulumi.Output[bool]
    balance_threshold_cents: pulumi.Output[int]
    target_balance_cents: pulumi.Output[int]
    monthly_reload_limit_cents: pulumi.Output[int]
    currency: pulumi.Output[str]
    disabled_reason: pulumi.Output[str | None]

    def __init__(
        self,
        resource_name: str,
        *,
        balance_threshold_usd: pulumi.Input[int | float | str | Decimal],
        target_balance_usd: pulumi.Input[int | float | str | Decimal],
        monthly_reload_limit_usd: pulumi.Input[int | float | str | Decimal],
        enabled: pulumi.Input[bool] = True,
        payment_method_id: pulumi.Input[str] | None = None,
        on_delete: pulumi.Input[str] = "retain",
        adopt_existing: pulumi.Input[bool] = False,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(resource_name, locals(), opts)
