"""Which models a project may call: an allow-list or a deny-list, one policy per project.

``GET``/``POST``/``DELETE organization/projects/{project_id}/model_permissions``; a project without a policy
answers a deny-list of no models (or 404), which reads as "no policy".
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

import pulumi
from pydantic import AfterValidator, Field, StrictBool, StringConstraints

from ._fields import InputModel, NoOutputs, ProjectId, described
from ._resource import BillingResource
from ._singleton import SingletonKind
from ._step import Step

ModelId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=256)]


def canonical_models(model_ids: list[str]) -> list[str]:
    """Sorted, each once: the order a policy is written in never diffs."""
    return sorted(set(model_ids))


class ProjectModelPermissionsInputs(InputModel):
    project_id: Annotated[ProjectId, described("The project (proj_…) the policy governs; changing it replaces.")]
    mode: Annotated[
        Literal["allow_list", "deny_list"],
        described('"allow_list" (default): only the listed models may be called; "deny_list": all but them.'),
    ] = "allow_list"
    model_ids: Annotated[
        list[ModelId],
        Field(max_length=1000),
        AfterValidator(canonical_models),
        described("The model ids (gpt-4o-mini, …) the policy lists; order and repeats never diff."),
    ]
    on_delete: Annotated[
        Literal["retain", "remove"],
        described(
            '"retain" (default) leaves the live policy on destroy, so the project never opens to every model by '
            'accident; "remove" deletes the policy.'
        ),
    ] = "retain"
    adopt_existing: Annotated[
        StrictBool,
        described(
            "Take over a policy the project already has (create refuses otherwise); it is set to the declared one, "
            "and nothing is written when they are equal. Create-only: never diffs."
        ),
    ] = False


class ProjectModelPermissionsKind(SingletonKind):
    name = "ProjectModelPermissions"
    family = "model_policy"
    inputs = ProjectModelPermissionsInputs
    outputs = NoOutputs
    setting = "model_permissions"

    def check_live(self, step: Step, inputs: dict[str, Any], olds: dict[str, Any]) -> list[tuple[str, str]]:
        """A deny-list of no models is how OpenAI answers "no policy": declared, it would read back as gone."""
        if inputs.get("mode") == "deny_list" and inputs.get("model_ids") == []:
            return [("model_ids", "model_ids: a deny-list of no models denies nothing (it is no policy); list models")]
        return super().check_live(step, inputs, olds)

    def show(self, live: dict[str, Any]) -> str:
        models = canonical_models([str(m) for m in live.get("model_ids") or []])
        kind = "an allow-list" if live.get("mode") == "allow_list" else "a deny-list"
        return f"{kind} of {len(models)} model{'s' * (len(models) != 1)} ({', '.join(models) or 'none'})"

    def body(self, values: dict[str, Any]) -> dict[str, Any]:
        return {"mode": values["mode"], "model_ids": values["model_ids"]}

    def is_empty(self, live: dict[str, Any]) -> bool:
        return live.get("mode") == "deny_list" and not live.get("model_ids")

    def live_inputs(self, live: dict[str, Any], scope: str | None) -> dict[str, Any]:
        models = canonical_models([str(m) for m in live.get("model_ids") or []])
        return {"project_id": scope, "mode": live.get("mode"), "model_ids": models}

    def live_outputs(self, live: dict[str, Any]) -> dict[str, Any]:
        return NoOutputs.of()


class ProjectModelPermissions(BillingResource):
    """The models a project may call: an allow-list (only these) or a deny-list (all but these).

    Create refuses a policy the project already has unless ``adopt_existing=True``. ``on_delete="retain"`` (the
    default) leaves the live policy when the resource is destroyed; ``"remove"`` deletes it, opening the project
    to every model the organization may use.
    """

    _kind: ClassVar = ProjectModelPermissionsKind
    project_id: pulumi.Output[str]
    mode: pulumi.Output[str]
    model_ids: pulumi.Output[list[str]]
    on_delete: pulumi.Output[str]
    adopt_existing: pulumi.Output[bool]

    def __init__(
        self,
        resource_name: str,
        *,
        project_id: pulumi.Input[str],
        model_ids: pulumi.Input[list[str]],
        mode: pulumi.Input[str] = "allow_list",
        on_delete: pulumi.Input[str] = "retain",
        adopt_existing: pulumi.Input[bool] = False,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(resource_name, locals(), opts)
