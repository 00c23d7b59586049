"""A monthly hard limit on one project API key: a setting held once per key, inside the key object.

``GET organization/projects/{project_id}/api_keys/{key_id}`` reads it (``spend_limit``, null when none);
``POST`` there with ``{"spend_limit": {...}}`` sets it and ``{"spend_limit": null}`` removes it (``DELETE`` would
delete the key itself, so it is never sent). A key that is gone reads as gone.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal

import pulumi
from pydantic import StrictBool, StringConstraints

from .._api.money import from_cents, to_cents
from ..errors import OpenAIError
from ._fields import AcknowledgedMonth, InputModel, PositiveUsdAmount, ProjectId, described
from ._guardrails import key_month_to_date_spend, lowering_problems
from ._singleton import SingletonKind
from ._step import Step
from ._wire import MONTH, USD, cents_field, check_currency, usd_from_cents
from .spend_limits import LimitResource, SpendLimitOutputs

ApiKeyId = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")
]


class ApiKeySpendLimitInputs(InputModel):
    project_id: Annotated[ProjectId, described("The project (proj_…) the key belongs to; changing it replaces.")]
    api_key_id: Annotated[
        ApiKeyId, described("The project API key (key_…) whose traffic it caps; changing it replaces.")
    ]
    monthly_limit_usd: Annotated[
        PositiveUsdAmount,
        described(
            "The key's hard limit in US dollars for one UTC calendar month (at most two decimals); requests made "
            "with the key are refused once its month-to-date spend reaches it. The project's and the "
            "organization's limits still apply."
        ),
    ]
    on_delete: Annotated[
        Literal["retain", "remove"],
        described(
            '"retain" (default) leaves the live limit on the key on destroy, rename or move, so the key is never '
            'left uncapped by accident; "remove" clears it (the key itself is never deleted).'
        ),
    ] = "retain"
    adopt_existing: Annotated[
        StrictBool,
        described(
            "Take over a limit the key already has (create refuses otherwise); it is set to the declared value, "
            "and nothing is written when they are equal. Create-only: never diffs."
        ),
    ] = False
    acknowledge_until: Annotated[
        AcknowledgedMonth | None,
        described(
            "The current UTC month as YYYY-MM, to acknowledge a change the guardrails refuse otherwise: lowering "
            "the limit below 110% of the key's month-to-date spend, or by more than half. Expires by itself with "
            "the month; never diffs."
        ),
    ] = None


class ApiKeySpendLimitOutputs(SpendLimitOutputs):
    enforcement_status: Annotated[
        str,
        described(
            'As the API answers it (read-only, never diffs): "enforcing" while the limit blocks the key\'s '
            'requests, "inactive" otherwise.'
        ),
    ]
    key_name: Annotated[str, described("The key's name, as the API answers it.")]
    key_redacted_value: Annotated[str, described("The key's redacted value (never its secret).")]


class ApiKeySpendLimitKind(SingletonKind):
    """The limit held in a project API key; its scope (and id) is ``proj_…/key_…``."""

    name = "ApiKeySpendLimit"
    family = "key_limit"
    inputs = ApiKeySpendLimitInputs
    outputs = ApiKeySpendLimitOutputs
    setting = "api_keys"
    replace_on = frozenset({"api_key_id"})
    create_only = frozenset({"adopt_existing", "acknowledge_until"})

    # -- where it lives: a key of a project ------------------------------------------------------------------
    def scope_of(self, props: dict[str, Any]) -> str | None:
        project_id, api_key_id = props.get("project_id"), props.get("api_key_id")
        return f"{project_id}/{api_key_id}" if project_id and api_key_id else None

    def id_of(self, scope: str | None) -> str:
        assert scope, "an API key's limit always has a key"
        return scope

    def scope_from_id(self, id_: str) -> str | None:
        return id_

    def path(self, scope: str | None) -> str:
        project_id, _, api_key_id = (scope or "").partition("/")
        return f"organization/projects/{project_id}/api_keys/{api_key_id}"

    @staticmethod
    def describe(scope: str | None) -> str:
        project_id, _, api_key_id = (scope or "").partition("/")
        return f"API key {api_key_id} of project {project_id}"

    def on_missing(self, step: Step, scope: str | None) -> None:
        """A 404: the key is gone, once its project is known to be there (else: wrong organization)."""
        step.require_project((scope or "").partition("/")[0])

    # -- what it says ------------------------------------------------------------------------------------
    def validate(self, live: dict[str, Any], scope: str | None) -> None:
        limit = live.get("spend_limit")
        if isinstance(limit, dict):
            check_currency(limit, f"the spend limit of {self.describe(scope)}")

    def is_empty(self, live: dict[str, Any]) -> bool:
        return not isinstance(live.get("spend_limit"), dict)

    def show(self, live: dict[str, Any]) -> str:
        return f"a monthly spend limit of {usd_from_cents(cents_field(live['spend_limit']))} USD"

    def body(self, values: dict[str, Any]) -> dict[str, Any]:
        cents = to_cents(Decimal(values["monthly_limit_usd"]))
        return {"spend_limit": {"threshold_amount": cents, "currency": USD, "interval": MONTH}}

    def live_inputs(self, live: dict[str, Any], scope: str | None) -> dict[str, Any]:
        project_id, _, api_key_id = (scope or "").partition("/")
        monthly = usd_from_cents(cents_field(live["spend_limit"]))
        return {"project_id": project_id, "api_key_id": api_key_id, "monthly_limit_usd": monthly}

    def live_outputs(self, live: dict[str, Any]) -> dict[str, Any]:
        limit = live["spend_limit"]
        return ApiKeySpendLimitOutputs.of(
            monthly_limit_cents=cents_field(limit),
            currency=limit.get("currency", USD),
            interval=limit.get("interval", MONTH),
            enforcement_status=(limit.get("enforcement") or {}).get("status", "inactive"),
            key_name=live.get("name", ""),
            key_redacted_value=live.get("redacted_value", ""),
        )

    def remove(self, step: Step, scope: str | None) -> None:
        step.figures.forget(self.key(scope))
        step.client.post(self.path(scope), {"spend_limit": None}, idempotent=True)

    # -- reads shared by the step's checks and creates ------------------------------------------------------
    def shared_key(self, step: Step, scope: str) -> dict[str, Any] | None:
        """The key object (None: no such key in the project), read once for every check and create of the step."""

        def fetch() -> dict[str, Any] | None:
            key = step.find(self.path(scope))
            if key is None:
                self.on_missing(step, scope)
            else:
                self.validate(key, scope)
            return key

        found: dict[str, Any] | None = step.figures.get(self.key(scope), fetch)
        return found

    def shared_live(self, step: Step, scope: str | None) -> dict[str, Any] | None:
        key = self.shared_key(step, scope) if scope else None
        return None if key is None or self.is_empty(key) else key

    def check_live(self, step: Step, inputs: dict[str, Any], olds: dict[str, Any]) -> list[tuple[str, str]]:
        """At preview: the project is there, the key is one of its keys, create would not take over a limit
        unasked, and a lower limit passes the guardrails (by the key's own month-to-date spend)."""
        scope = self.scope_of(inputs)
        if scope is None:
            return []
        project_id, _, api_key_id = scope.partition("/")
        problem = step.project_problem(project_id)
        if problem:
            return [("project_id", problem)]
        try:
            key = self.shared_key(step, scope)
        except OpenAIError as exc:
            return [("api_key_id", f"api_key_id: reading API key {api_key_id} failed: {exc}")]
        if key is None:
            return [
                (
                    "api_key_id",
                    f"api_key_id: project {project_id} has no API key {api_key_id} (an unknown or deleted key, or "
                    "a key of another project); list the project's keys with get_api_key(project_id, name=...)",
                )
            ]
        problems = self.creation_problems(step, inputs, olds)
        if problems or inputs.get("monthly_limit_usd") is None:
            return problems
        declared = Decimal(inputs["monthly_limit_usd"])
        if olds.get("monthly_limit_usd") is not None and self.scope_of(olds) == scope:
            current: Decimal | None = Decimal(olds["monthly_limit_usd"])
        else:
            live = None if self.is_empty(key) else key
            current = None if live is None else from_cents(cents_field(live["spend_limit"]))
        return lowering_problems(
            step,
            self.describe(scope),
            project_id,
            current,
            declared,
            inputs.get("acknowledge_until"),
            spent=lambda: key_month_to_date_spend(step, api_key_id),
        )


class ApiKeySpendLimit(LimitResource):
    """A monthly hard limit on one project API key (a user's or a service account's): requests made with the key
    are refused once its month-to-date spend reaches it. The project's and organization's limits still apply.

    ``on_delete="retain"`` (the default) leaves the live limit on the key when the resource is destroyed,
    renamed or moved; ``"remove"`` clears it. The key itself is never deleted.
    """

    _kind: ClassVar = ApiKeySpendLimitKind
    project_id: pulumi.Output[str]
    api_key_id: pulumi.Output[str]
    key_name: pulumi.Output[str]
    key_redacted_value: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        *,
        project_id: pulumi.Input[str],
        api_key_id: pulumi.Input[str],
        monthly_limit_usd: pulumi.Input[int | float | str | Decimal],
        on_delete: pulumi.Input[str] = "retain",
        adopt_existing: pulumi.Input[bool] = False,
        acknowledge_until: pulumi.Input[str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(resource_name, locals(), opts)
