"""Hard monthly spend limits: a singleton per scope (the organization, or one project)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar, Literal

import pulumi
from pydantic import StrictBool

from ..client import OpenAIError
from ..money import to_cents
from ._base import (
    MONTH,
    USD,
    BillingResource,
    Context,
    InputModel,
    Kind,
    PositiveUsdAmount,
    ProjectId,
    ProviderError,
    cents_field,
    check_currency,
    usd_from_cents,
)

ORGANIZATION_ID = "organization"


class OrganizationSpendLimitInputs(InputModel):
    monthly_limit_usd: PositiveUsdAmount
    on_delete: Literal["retain", "remove"] = "retain"
    adopt_existing: StrictBool = False


class ProjectSpendLimitInputs(OrganizationSpendLimitInputs):
    project_id: ProjectId


class _SpendLimitKind(Kind):
    computed = ("monthly_limit_cents", "currency", "interval", "enforcement_status")
    create_only = frozenset({"adopt_existing"})

    def _path(self, project_id: str | None) -> str:
        return f"organization/projects/{project_id}/spend_limit" if project_id else "organization/spend_limit"

    def _scope(self, project_id: str | None) -> str:
        return f"limit:{project_id or ORGANIZATION_ID}"

    def _describe(self, project_id: str | None) -> str:
        return f"project {project_id}" if project_id else "the organization"

    def live_limit(self, ctx: Context, project_id: str | None) -> dict[str, Any] | None:
        """The live limit, or None when the scope has none (a 404 or a zero-amount inactive object)."""
        try:
            live = ctx.client.get(self._path(project_id))
        except OpenAIError as exc:
            if exc.status != 404:
                raise
            if project_id:
                ctx.require_project(project_id)
            return None
        check_currency(live, f"the spend limit of {self._describe(project_id)}")
        status = (live.get("enforcement") or {}).get("status")
        if cents_field(live) == 0 and status in (None, "inactive"):
            return None
        return live

    def _set(self, ctx: Context, project_id: str | None, monthly_limit_usd: str) -> dict[str, Any]:
        body = {"threshold_amount": to_cents(Decimal(monthly_limit_usd)), "currency": USD, "interval": MONTH}
        live = ctx.client.post(self._path(project_id), body, idempotent=True)
        ctx.claim(self._scope(project_id), "write")
        check_currency(live, f"the spend limit of {self._describe(project_id)}")
        return live

    @staticmethod
    def usd(live: dict[str, Any]) -> str:
        return usd_from_cents(cents_field(live))

    @staticmethod
    def live_outputs(live: dict[str, Any]) -> dict[str, Any]:
        return {
            "monthly_limit_cents": cents_field(live),
            "currency": live.get("currency", USD),
            "interval": live.get("interval", MONTH),
            "enforcement_status": (live.get("enforcement") or {}).get("status", "inactive"),
        }

    @staticmethod
    def _project(props: dict[str, Any]) -> str | None:
        return props.get("project_id")

    def check_live(self, ctx: Context, inputs: dict[str, Any]) -> list[tuple[str, str]]:
        project_id = self._project(inputs)
        if project_id:
            try:
                ctx.require_project(project_id)
            except ProviderError as exc:
                return [("project_id", str(exc))]
        return []

    def create(self, ctx: Context, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        project_id = self._project(inputs)
        scope = self._scope(project_id)
        with ctx.scope_lock(scope):
            live = self.live_limit(ctx, project_id)
            if live is not None and not inputs.get("adopt_existing"):
                raise ProviderError(
                    f"{self._describe(project_id)} already has a monthly spend limit of "
                    f"{usd_from_cents(cents_field(live))} USD; set adopt_existing=True to take it over "
                    "(it will be set to the declared value)"
                )
            declared = to_cents(Decimal(inputs["monthly_limit_usd"]))
            if live is None or cents_field(live) != declared:
                live = self._set(ctx, project_id, inputs["monthly_limit_usd"])
            else:
                ctx.claim(scope, "adopt")
        return project_id or ORGANIZATION_ID, self.live_outputs(live)

    def read(self, ctx: Context, id_: str, olds: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]] | None:
        project_id = None if id_ == ORGANIZATION_ID else id_
        live = self.live_limit(ctx, project_id)
        if live is None:
            return None
        values: dict[str, Any] = {"monthly_limit_usd": self.usd(live)}
        if project_id:
            values["project_id"] = project_id
        return values, self.live_outputs(live)

    def update(self, ctx: Context, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        project_id = self._project(news)
        if olds.get("monthly_limit_usd") != news["monthly_limit_usd"]:
            return self.live_outputs(self._set(ctx, project_id, news["monthly_limit_usd"]))
        return {name: olds.get(name) for name in self.computed}

    def delete(self, ctx: Context, id_: str, olds: dict[str, Any]) -> None:
        if olds.get("on_delete", "retain") != "remove":
            return
        project_id = None if id_ == ORGANIZATION_ID else id_
        if ctx.claimed(self._scope(project_id)):
            # Another resource of this run took the scope over (a rename or a move): removing the limit now
            # would remove theirs.
            return
        try:
            ctx.client.delete(self._path(project_id))
        except OpenAIError as exc:
            if exc.status != 404:
                raise
            if project_id:
                ctx.require_project(project_id)


class OrganizationSpendLimitKind(_SpendLimitKind):
    name = "OrganizationSpendLimit"
    inputs = OrganizationSpendLimitInputs


class ProjectSpendLimitKind(_SpendLimitKind):
    name = "ProjectSpendLimit"
    inputs = ProjectSpendLimitInputs
    replace_on = frozenset({"project_id"})
    delete_before_replace = True


class _SpendLimitResource(BillingResource):
    """The outputs both limit resources share."""

    monthly_limit_usd: pulumi.Output[str]
    monthly_limit_cents: pulumi.Output[int]
    currency: pulumi.Output[str]
    interval: pulumi.Output[str]
    enforcement_status: pulumi.Output[str]
    on_delete: pulumi.Output[str]
    adopt_existing: pulumi.Output[bool]


class OrganizationSpendLimit(_SpendLimitResource, module="openai-billing", name="OrganizationSpendLimit"):
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
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(
            resource_name,
            {"monthly_limit_usd": monthly_limit_usd, "on_delete": on_delete, "adopt_existing": adopt_existing},
            opts,
        )


class ProjectSpendLimit(_SpendLimitResource, module="openai-billing", name="ProjectSpendLimit"):
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
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(
            resource_name,
            {
                "project_id": project_id,
                "monthly_limit_usd": monthly_limit_usd,
                "on_delete": on_delete,
                "adopt_existing": adopt_existing,
            },
            opts,
        )
