"""Hard monthly spend limits: a singleton per scope (the organization, or one project)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal

import pulumi
from pydantic import AfterValidator, Field, StrictBool, StrictStr

from .._api.fields import MAX_RECIPIENTS, canonical_recipients, check_recipients
from .._api.money import from_cents, to_cents
from ._fields import AcknowledgedMonth, InputModel, OutputModel, PositiveUsdAmount, ProjectId, WholeNumber, described
from ._guardrails import lowering_problems, would_have_blocked_problems
from ._kind import unknown_scope
from ._resource import BillingResource
from ._singleton import SingletonKind
from ._step import Step
from ._wire import MONTH, USD, cents_field, check_currency, usd_from_cents


def _notify_recipients(recipients: list[str] | None) -> list[str] | None:
    return None if recipients is None else check_recipients(recipients, "notify_recipients", empty=True)


class OrganizationSpendLimitInputs(InputModel):
    monthly_limit_usd: Annotated[
        PositiveUsdAmount,
        described(
            "The hard limit in US dollars for one UTC calendar month (at most two decimals; 100, 100.0 and "
            '"100.00" are the same); API traffic is refused once month-to-date spend reaches it.'
        ),
    ]
    on_delete: Annotated[
        Literal["retain", "remove"],
        described(
            '"retain" (default) leaves the live limit in place on destroy, rename or move, so the scope is never '
            'left uncapped by accident; "remove" deletes it.'
        ),
    ] = "retain"
    adopt_existing: Annotated[
        StrictBool,
        described(
            "Take over a limit that already exists in the scope (create refuses otherwise); it is set to the "
            "declared value, and nothing is written when they are equal. Create-only: never diffs."
        ),
    ] = False
    acknowledge_until: Annotated[
        AcknowledgedMonth | None,
        described(
            "The current UTC month as YYYY-MM, to acknowledge a change the guardrails refuse otherwise: lowering "
            "the limit below 110% of month-to-date spend, or by more than half. Expires by itself with the month; "
            "never diffs."
        ),
    ] = None
    notify_recipients: Annotated[
        list[StrictStr] | None,
        AfterValidator(_notify_recipients),
        described(
            "Who is e-mailed, besides the organization's owners (always notified), when the limit is reached; "
            f"up to {MAX_RECIPIENTS} addresses, canonical (order and the domain's case never diff). Left out, the "
            "live setting is kept and never diffs; [] removes the extra recipients."
        ),
    ] = None
    notify_subject_prefix: Annotated[
        StrictStr | None,
        described(
            "Text put before the subject of the limit-reached e-mail. Left out, the live prefix is kept and never "
            'diffs; "" removes it.'
        ),
    ] = None
    warn_if_would_have_blocked_days: Annotated[
        WholeNumber | None,
        Field(ge=0, le=31),
        described(
            "Replay last UTC month's costs against this limit at preview (as `openai-billing simulate` does) and "
            "refuse it when it would have blocked traffic on more than this many days. Check only: never diffs."
        ),
    ] = None


class ProjectSpendLimitInputs(OrganizationSpendLimitInputs):
    project_id: Annotated[ProjectId, described("The project (proj_…) whose traffic it caps; changing it replaces.")]


class SpendLimitOutputs(OutputModel):
    monthly_limit_cents: Annotated[int, described("The live limit in integer cents.")]
    currency: Annotated[str, described('Always "USD".')]
    interval: Annotated[str, described('Always "month" (UTC calendar months).')]
    enforcement_status: Annotated[
        str,
        described(
            "OpenAI's enforcement status, as the API answers it (read-only, never diffs): its examples answer "
            '"enforcing" while a limit is in force and "inactive" when none is; it does not say whether spend '
            "has reached the limit."
        ),
    ]


_CHANNEL = {"notify_recipients": "recipients", "notify_subject_prefix": "subject_prefix"}
"""The notification inputs, and their names in the limit's ``notification_channel``."""


class _SpendLimitKind(SingletonKind):
    outputs = SpendLimitOutputs
    family = "limit"
    setting = "spend_limit"
    create_only = frozenset({"adopt_existing", "acknowledge_until", "warn_if_would_have_blocked_days"})
    managed_when_declared = frozenset({"notify_recipients", "notify_subject_prefix"})

    def show(self, live: dict[str, Any]) -> str:
        return f"a monthly spend limit of {self.usd(live)} USD"

    def body(self, values: dict[str, Any]) -> dict[str, Any]:
        """The upsert; ``notification_channel`` carries only what is declared (OpenAI keeps what it leaves out)."""
        body: dict[str, Any] = {
            "threshold_amount": to_cents(Decimal(values["monthly_limit_usd"])),
            "currency": USD,
            "interval": MONTH,
        }
        channel = {wire: values[name] for name, wire in _CHANNEL.items() if values.get(name) is not None}
        if channel:
            body["notification_channel"] = {"type": "email", **channel}
        return body

    def validate(self, live: dict[str, Any], scope: str | None) -> None:
        check_currency(live, f"the spend limit of {self.describe(scope)}")

    def is_empty(self, live: dict[str, Any]) -> bool:
        status = (live.get("enforcement") or {}).get("status")
        return cents_field(live) == 0 and status in (None, "inactive")

    @staticmethod
    def usd(live: dict[str, Any]) -> str:
        return usd_from_cents(cents_field(live))

    def live_inputs(self, live: dict[str, Any], scope: str | None) -> dict[str, Any]:
        channel = live.get("notification_channel") or {}
        values: dict[str, Any] = {
            "monthly_limit_usd": self.usd(live),
            "notify_recipients": canonical_recipients([str(r) for r in channel.get("recipients") or []]),
            "notify_subject_prefix": channel.get("subject_prefix") or "",
        }
        if scope:
            values["project_id"] = scope
        return values

    def live_outputs(self, live: dict[str, Any]) -> dict[str, Any]:
        return SpendLimitOutputs.of(
            monthly_limit_cents=cents_field(live),
            currency=live.get("currency", USD),
            interval=live.get("interval", MONTH),
            enforcement_status=(live.get("enforcement") or {}).get("status", "inactive"),
        )

    def check_live(self, step: Step, inputs: dict[str, Any], olds: dict[str, Any]) -> list[tuple[str, str]]:
        if unknown_scope(self, inputs):
            return []
        scope = self.scope_of(inputs)
        if inputs.get("monthly_limit_usd") is not None:
            step.declarations.declare(self.key(scope), Decimal(inputs["monthly_limit_usd"]))
        problems = super().check_live(step, inputs, olds)
        if problems or inputs.get("monthly_limit_usd") is None:
            return problems
        declared = Decimal(inputs["monthly_limit_usd"])
        same_scope = olds.get("monthly_limit_usd") is not None and self.scope_of(olds) == scope
        current = Decimal(olds["monthly_limit_usd"]) if same_scope else self.live_limit(step, scope)
        problems = lowering_problems(
            step, self.describe(scope), scope, current, declared, inputs.get("acknowledge_until")
        )
        allowed_days = inputs.get("warn_if_would_have_blocked_days")
        if allowed_days is not None:
            problems += would_have_blocked_problems(step, self.describe(scope), scope, declared, allowed_days)
        return problems

    def check_unchanged(self, step: Step, inputs: dict[str, Any]) -> list[tuple[str, str]]:
        """Unchanged, it still tells the alerts of its scope which limit holds after this run."""
        step.declarations.declare(self.key(self.scope_of(inputs)), Decimal(inputs["monthly_limit_usd"]))
        return []

    def live_limit(self, step: Step, scope: str | None) -> Decimal | None:
        """The scope's live limit in dollars (None: no limit), shared by every check of this process."""

        live = self.shared_live(step, scope)
        return None if live is None else from_cents(cents_field(live))


DECLARATION_WAIT_SECONDS = 5.0
"""How long an alert's check waits for its scope's limit to be checked before it judges by the live limit."""


def declared_limit(step: Step, project_id: str | None, wait_seconds: float = 0.0) -> Decimal | None:
    """The limit this run's program has declared for a scope (None: none, after waiting up to ``wait_seconds``
    for one); never a read."""
    declared: Decimal | None = step.declarations.get(
        LIMIT_OF_SCOPE[project_id is not None].key(project_id), wait_seconds
    )
    return declared


def scope_limit(step: Step, project_id: str | None, above: Decimal | None = None) -> Decimal | None:
    """The limit that will hold in a scope after this run: the one its program declares, else the live one.

    When the live limit is below ``above`` (an alert would be refused by it), the program may still raise it in
    a check the engine has not run yet: wait a little for that declaration before answering with the live one."""
    declared = declared_limit(step, project_id)
    if declared is not None:
        return declared
    live = LIMIT_OF_SCOPE[project_id is not None].live_limit(step, project_id)
    if above is not None and live is not None and above > live:
        declared = declared_limit(step, project_id, DECLARATION_WAIT_SECONDS)
    return declared if declared is not None else live


class OrganizationSpendLimitKind(_SpendLimitKind):
    name = "OrganizationSpendLimit"
    inputs = OrganizationSpendLimitInputs


class ProjectSpendLimitKind(_SpendLimitKind):
    name = "ProjectSpendLimit"
    inputs = ProjectSpendLimitInputs


LIMIT_OF_SCOPE: dict[bool, _SpendLimitKind] = {False: OrganizationSpendLimitKind(), True: ProjectSpendLimitKind()}
"""The limit kind of a scope, by whether it is a project's."""


class LimitResource(BillingResource):
    """The outputs every hard limit has (an organization's, a project's, an API key's)."""

    monthly_limit_usd: pulumi.Output[str]
    monthly_limit_cents: pulumi.Output[int]
    currency: pulumi.Output[str]
    interval: pulumi.Output[str]
    enforcement_status: pulumi.Output[str]
    on_delete: pulumi.Output[str]
    adopt_existing: pulumi.Output[bool]
    acknowledge_until: pulumi.Output[str | None]


class _SpendLimitResource(LimitResource):
    """The outputs both scope limits add."""

    notify_recipients: pulumi.Output[list[str] | None]
    notify_subject_prefix: pulumi.Output[str | None]
    warn_if_would_have_blocked_days: pulumi.Output[int | None]


class OrganizationSpendLimit(_SpendLimitResource):
    """The organization's hard monthly spend limit (API traffic is refused once it is reached).

    ``on_delete="retain"`` (the default) leaves the live limit in place when the resource is destroyed,
    renamed or moved, so the organization is never left uncapped by accident.
    """

    _kind: ClassVar = OrganizationSpendLimitKind

    def __init__(
        self,
        resource_name: str,
        *,
        monthly_limit_usd: pulumi.Input[int | float | str | Decimal],
        on_delete: pulumi.Input[str] = "retain",
        adopt_existing: pulumi.Input[bool] = False,
        acknowledge_until: pulumi.Input[str] | None = None,
        notify_recipients: pulumi.Input[list[pulumi.Input[str]]] | None = None,
        notify_subject_prefix: pulumi.Input[str] | None = None,
        warn_if_would_have_blocked_days: pulumi.Input[int] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(resource_name, locals(), opts)


class ProjectSpendLimit(_SpendLimitResource):
    """One project's hard monthly spend limit; both it and the organization's limit apply to its traffic."""

    _kind: ClassVar = ProjectSpendLimitKind
    project_id: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        *,
        project_id: pulumi.Input[str],
        monthly_limit_usd: pulumi.Input[int | float | str | Decimal],
        on_delete: pulumi.Input[str] = "retain",
        adopt_existing: pulumi.Input[bool] = False,
        acknowledge_until: pulumi.Input[str] | None = None,
        notify_recipients: pulumi.Input[list[pulumi.Input[str]]] | None = None,
        notify_subject_prefix: pulumi.Input[str] | None = None,
        warn_if_would_have_blocked_days: pulumi.Input[int] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(resource_name, locals(), opts)
