"""Which service tiers a project may use, and its default tier.

``GET``/``POST organization/projects/{project_id}/service_tier_settings``; every project always has them, and a
``POST`` changes only the fields it names. ``enabled_tiers`` is ``"all"`` (future tiers too) or a list from
``flex``, ``fast`` and ``ultrafast`` (``[]``: Standard only); here ``"all"`` is the list ``["all"]``.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

import pulumi
from pydantic import AfterValidator, BeforeValidator

from ._fields import InputModel, NoOutputs, ProjectId, described
from ._resource import BillingResource
from ._singleton import SingletonKind

ALL = "all"
Tier = Literal["flex", "fast", "ultrafast", "all"]


def _listed(value: object) -> object:
    return [ALL] if value == ALL else value


def _canonical_tiers(tiers: list[str] | None) -> list[str] | None:
    if tiers is None:
        return None
    if ALL in tiers and len(set(tiers)) > 1:
        raise ValueError('"all" already enables every tier: list it alone')
    return sorted(set(tiers))


class ProjectServiceTiersInputs(InputModel):
    project_id: Annotated[ProjectId, described("The project (proj_…) whose tiers it sets; changing it replaces.")]
    default: Annotated[
        Literal["standard", "fast", "scale"] | None,
        described(
            'The tier of requests that omit service_tier or ask for "auto": "standard", "fast" or "scale" (the '
            "dearer ones bill more per token). Left out, it is not managed."
        ),
    ] = None
    enabled_tiers: Annotated[
        list[Tier] | None,
        BeforeValidator(_listed),
        AfterValidator(_canonical_tiers),
        described(
            'The tiers besides Standard a request may ask for, from "flex", "fast" and "ultrafast"; ["all"] (or '
            '"all") enables every tier, future ones too; [] allows Standard only. Order never diffs. Left out, it '
            "is not managed."
        ),
    ] = None


class ProjectServiceTiersKind(SingletonKind):
    name = "ProjectServiceTiers"
    family = "tiers"
    inputs = ProjectServiceTiersInputs
    outputs = NoOutputs
    setting = "service_tier_settings"
    occupiable = False
    managed_when_declared = frozenset({"default", "enabled_tiers"})
    one_of = ("default", "enabled_tiers")

    def show(self, live: dict[str, Any]) -> str:
        tiers = live.get("enabled_tiers")
        return f"default tier {live.get('default')}, enabled tiers {tiers if tiers == ALL else list(tiers or [])}"

    def body(self, values: dict[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if values.get("default") is not None:
            body["default"] = values["default"]
        tiers = values.get("enabled_tiers")
        if tiers is not None:
            body["enabled_tiers"] = ALL if tiers == [ALL] else tiers
        return body

    def live_inputs(self, live: dict[str, Any], scope: str | None) -> dict[str, Any]:
        tiers = live.get("enabled_tiers")
        listed = [ALL] if tiers == ALL else sorted(set(tiers or []))
        return {"project_id": scope, "default": live.get("default"), "enabled_tiers": listed}

    def live_outputs(self, live: dict[str, Any]) -> dict[str, Any]:
        return NoOutputs.of()


class ProjectServiceTiers(BillingResource):
    """A project's service tiers: the default tier of requests that do not pick one, and which tiers besides
    Standard its requests may ask for (``["all"]``, a list from flex, fast and ultrafast, or ``[]``).

    Only the fields it declares are managed. Destroying it leaves the live setting as it is (a project always
    has one).
    """

    _kind: ClassVar = ProjectServiceTiersKind
    project_id: pulumi.Output[str]
    default: pulumi.Output[str | None]
    enabled_tiers: pulumi.Output[list[str] | None]

    def __init__(
        self,
        resource_name: str,
        *,
        project_id: pulumi.Input[str],
        default: pulumi.Input[str] | None = None,
        enabled_tiers: pulumi.Input[str | list[str]] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(resource_name, locals(), opts)
