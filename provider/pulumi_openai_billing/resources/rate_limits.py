"""How fast a project may go on one model: the maxima of the project's rate limit for that model.

``GET organization/projects/{project_id}/rate_limits`` lists one rate limit per model (paged; read once per
project and step, shared by every resource of the project); ``POST …/rate_limits/{rate_limit_id}`` changes the
maxima it names. Rate limits exist for every model and cannot be created or deleted: the resource manages the
maxima it declares, and ``on_delete="restore"`` puts back the values it found.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

import pulumi
from pydantic import Field, StringConstraints

from ..errors import OpenAIError, ProviderError, RequestFailed
from ._fields import InputModel, OutputModel, ProjectId, WholeNumber, described
from ._kind import unknown_scope
from ._resource import BillingResource
from ._singleton import SingletonKind
from ._step import Step

MAXIMA = (
    "max_requests_per_1_minute",
    "max_tokens_per_1_minute",
    "max_images_per_1_minute",
    "max_audio_megabytes_per_1_minute",
    "max_requests_per_1_day",
    "batch_1_day_max_input_tokens",
)
"""The maxima of a rate limit; the last four exist only for some models."""

Maximum = Annotated[WholeNumber | None, Field(ge=0)]
ModelName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=256)]


def _maximum(what: str) -> Any:
    return described(f"The most {what} (a whole number ≥ 0); left out, it is not managed.")


class ProjectRateLimitInputs(InputModel):
    project_id: Annotated[ProjectId, described("The project (proj_…) whose rate limit it sets; changing it replaces.")]
    model: Annotated[
        ModelName,
        described(
            "The model (gpt-4o, …) whose rate limit it sets; the provider finds the rate limit's id. A model the "
            "project has no rate limit for is refused at preview. Changing it replaces."
        ),
    ]
    max_requests_per_1_minute: Annotated[Maximum, _maximum("requests per minute")] = None
    max_tokens_per_1_minute: Annotated[Maximum, _maximum("tokens per minute")] = None
    max_images_per_1_minute: Annotated[Maximum, _maximum("images per minute (image models only)")] = None
    max_audio_megabytes_per_1_minute: Annotated[Maximum, _maximum("audio megabytes per minute (audio models only)")] = (
        None
    )
    max_requests_per_1_day: Annotated[Maximum, _maximum("requests per day (models that have a daily cap)")] = None
    batch_1_day_max_input_tokens: Annotated[
        Maximum, _maximum("batch input tokens queued per day (models served in batches)")
    ] = None
    on_delete: Annotated[
        Literal["retain", "restore"],
        described(
            '"retain" (default) leaves the live maxima on destroy; "restore" puts back the values read when the '
            "resource was created (a rate limit cannot be deleted)."
        ),
    ] = "retain"


class ProjectRateLimitOutputs(OutputModel):
    rate_limit_id: Annotated[str, described("The rate limit's id at OpenAI (rl-…).")]
    restore_to: Annotated[
        dict[str, int],
        described('The declared maxima as they were before this resource first set them: what "restore" puts back.'),
    ]


class ProjectRateLimitKind(SingletonKind):
    """The rate limit of one model in one project; its scope (and id) is ``proj_…/model``."""

    name = "ProjectRateLimit"
    family = "rate_limit"
    inputs = ProjectRateLimitInputs
    outputs = ProjectRateLimitOutputs
    setting = "rate_limits"
    replace_on = frozenset({"model"})
    occupiable = False
    managed_when_declared = frozenset(MAXIMA)
    one_of = MAXIMA

    # -- where it lives: a model of a project ----------------------------------------------------------------
    def scope_of(self, props: dict[str, Any]) -> str | None:
        project_id, model = props.get("project_id"), props.get("model")
        return f"{project_id}/{model}" if project_id and model else None

    def id_of(self, scope: str | None) -> str:
        assert scope, "a rate limit always has a model"
        return scope

    def scope_from_id(self, id_: str) -> str | None:
        return id_

    @staticmethod
    def describe(scope: str | None) -> str:
        project_id, _, model = (scope or "").partition("/")
        return f"the {model} rate limit of project {project_id}"

    def on_missing(self, step: Step, scope: str | None) -> None:
        step.require_project((scope or "").partition("/")[0])

    def key(self, scope: str | None) -> str:
        return f"rate_limit:{scope}"

    # -- the project's list, read once per step ------------------------------------------------------------
    @staticmethod
    def _list_key(project_id: str) -> str:
        return f"rate_limits:{project_id}"

    def listed(self, step: Step, project_id: str) -> dict[str, dict[str, Any]]:
        """The project's rate limits by model: one paged list per project, shared by the step's resources."""

        def fetch() -> dict[str, dict[str, Any]]:
            path = f"organization/projects/{project_id}/rate_limits"
            try:
                return {str(r["model"]): r for r in step.client.list_all(path)}
            except OpenAIError as exc:
                if exc.gone:
                    step.require_project(project_id)
                raise

        found: dict[str, dict[str, Any]] = step.figures.get(self._list_key(project_id), fetch)
        return found

    def live(self, step: Step, scope: str | None) -> dict[str, Any] | None:
        project_id, _, model = (scope or "").partition("/")
        return self.listed(step, project_id).get(model)

    def shared_live(self, step: Step, scope: str | None) -> dict[str, Any] | None:
        return self.live(step, scope)

    def write(self, step: Step, scope: str | None, body: dict[str, Any]) -> dict[str, Any]:
        project_id, _, model = (scope or "").partition("/")
        current = self.live(step, scope)
        if current is None:
            raise self._no_model(step, project_id, model)
        try:
            live = step.client.post(
                f"organization/projects/{project_id}/rate_limits/{current['id']}", body, idempotent=True
            )
        except (OpenAIError, RequestFailed):
            step.figures.forget(self._list_key(project_id))  # a retry or reconcile reads the list afresh
            raise
        step.figures.amend(self._list_key(project_id), lambda limits: {**limits, model: live})
        return live

    def _no_model(self, step: Step, project_id: str, model: str) -> ProviderError:
        models = ", ".join(sorted(self.listed(step, project_id))) or "none"
        return ProviderError(f"model: project {project_id} has no rate limit for {model!r} (its models: {models})")

    # -- what it says ------------------------------------------------------------------------------------
    def show(self, live: dict[str, Any]) -> str:
        return ", ".join(f"{name} {live[name]}" for name in MAXIMA if live.get(name) is not None)

    def body(self, values: dict[str, Any]) -> dict[str, Any]:
        """The declared maxima as JSON integers (numbers reach the provider as floats: 100.0 is 100)."""
        return {name: int(values[name]) for name in MAXIMA if values.get(name) is not None}

    def live_inputs(self, live: dict[str, Any], scope: str | None) -> dict[str, Any]:
        project_id, _, model = (scope or "").partition("/")
        return {"project_id": project_id, "model": model, **{name: live.get(name) for name in MAXIMA}}

    def live_outputs(self, live: dict[str, Any]) -> dict[str, Any]:
        return ProjectRateLimitOutputs.of(rate_limit_id=live["id"], restore_to={})

    # -- preview -----------------------------------------------------------------------------------------
    def check_live(self, step: Step, inputs: dict[str, Any], olds: dict[str, Any]) -> list[tuple[str, str]]:
        """At preview: the project is there, it has a rate limit for the model, and the model has each declared
        maximum."""
        model = inputs.get("model")
        if not model:
            return []
        if unknown_scope(self, inputs):
            return self._check_in_a_new_project(step, inputs, model)
        project_id = inputs["project_id"]
        problem = step.project_problem(project_id)
        if problem:
            return [("project_id", problem)]
        live = self.live(step, self.scope_of(inputs))
        if live is None:
            return [("model", str(self._no_model(step, project_id, model)))]
        return self._lacking(inputs, model, live)

    def _check_in_a_new_project(self, step: Step, inputs: dict[str, Any], model: str) -> list[tuple[str, str]]:
        """A project made by this run has no rate limits to read yet: judge by another active project's (every
        project of an organization has the same models), read once per step; nothing when there is none."""
        other = next((p["id"] for p in step.all_projects().values() if p.get("status", "active") == "active"), None)
        if other is None:
            return []
        live = self.listed(step, other).get(model)
        if live is None:
            models = ", ".join(sorted(self.listed(step, other))) or "none"
            return [
                (
                    "model",
                    f"model: the organization's projects have no rate limit for {model!r} (judged by project {other}, "
                    f"as this one is not made yet; its models: {models})",
                )
            ]
        return self._lacking(inputs, model, live)

    @staticmethod
    def _lacking(inputs: dict[str, Any], model: str, live: dict[str, Any]) -> list[tuple[str, str]]:
        """A maximum declared for a model that does not have it."""
        lacking = [name for name in MAXIMA if inputs.get(name) is not None and live.get(name) is None]
        if lacking:
            has = ", ".join(name for name in MAXIMA if live.get(name) is not None)
            return [(lacking[0], f"{lacking[0]}: model {model} has no {', '.join(lacking)} (it has: {has})")]
        return []

    # -- CRUD: what it found is kept, so "restore" can put it back ---------------------------------------
    def create(self, step: Step, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        before = self.live(step, self.scope_of(inputs))
        id_, outputs = super().create(step, inputs)
        return id_, {**outputs, "restore_to": _found(before, inputs)}

    def update(self, step: Step, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        before = self.live(step, self.scope_of(news)) if self.body(olds) != self.body(news) else None
        outputs = super().update(step, id_, olds, news)
        kept = dict(olds.get("restore_to") or {})
        newly = {k: v for k, v in _found(before, news).items() if k not in kept}
        return {**outputs, "restore_to": {**kept, **newly}}

    def read(self, step: Step, id_: str, olds: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]] | None:
        found = super().read(step, id_, olds)
        if found is None:
            return None
        live, outputs = found
        return live, {**outputs, "restore_to": dict(olds.get("restore_to") or {})}

    def delete(self, step: Step, id_: str, olds: dict[str, Any]) -> None:
        restore = olds.get("restore_to") or {}
        if olds.get("on_delete", "retain") != "restore" or not restore:
            return
        scope = self.scope_from_id(id_)
        if self.live(step, scope) is None:
            return  # the project or the model is gone: nothing to put back
        self._set(step, scope, dict(restore))


def _found(live: dict[str, Any] | None, declared: dict[str, Any]) -> dict[str, int]:
    """The live values of the maxima ``declared`` names."""
    if live is None:
        return {}
    return {name: int(live[name]) for name in MAXIMA if declared.get(name) is not None and live.get(name) is not None}


class ProjectRateLimit(BillingResource):
    """How fast one project may go on one model: the maxima of its rate limit for that model (named by model; the
    provider finds the rate limit). Only the declared maxima are managed.

    ``on_delete="retain"`` (the default) leaves the live maxima when the resource is destroyed; ``"restore"`` puts
    back the values read when it was created.
    """

    _kind: ClassVar = ProjectRateLimitKind
    project_id: pulumi.Output[str]
    model: pulumi.Output[str]
    max_requests_per_1_minute: pulumi.Output[int | None]
    max_tokens_per_1_minute: pulumi.Output[int | None]
    max_images_per_1_minute: pulumi.Output[int | None]
    max_audio_megabytes_per_1_minute: pulumi.Output[int | None]
    max_requests_per_1_day: pulumi.Output[int | None]
    batch_1_day_max_input_tokens: pulumi.Output[int | None]
    on_delete: pulumi.Output[str]
    rate_limit_id: pulumi.Output[str]
    restore_to: pulumi.Output[dict[str, int]]

    def __init__(
        self,
        resource_name: str,
        *,
        project_id: pulumi.Input[str],
        model: pulumi.Input[str],
        max_requests_per_1_minute: pulumi.Input[int] | None = None,
        max_tokens_per_1_minute: pulumi.Input[int] | None = None,
        max_images_per_1_minute: pulumi.Input[int] | None = None,
        max_audio_megabytes_per_1_minute: pulumi.Input[int] | None = None,
        max_requests_per_1_day: pulumi.Input[int] | None = None,
        batch_1_day_max_input_tokens: pulumi.Input[int] | None = None,
        on_delete: pulumi.Input[str] = "retain",
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(resource_name, locals(), opts)
