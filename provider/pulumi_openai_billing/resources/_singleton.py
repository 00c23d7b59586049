"""Settings an account holds at most once per scope (a spend limit, the auto-reload policy).

They share the rules that keep money safe: create reads the scope first and refuses a live setting unless
``adopt_existing=True``; an adoption that changes nothing writes nothing; update is the upsert POST;
``on_delete="retain"`` (the default) leaves the live setting in place, and ``"remove"`` is skipped when
another resource of this process wrote the same scope (a rename or a move took it over).
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, ClassVar

from .._api.client import transient
from .._api.fields import ORGANIZATION
from ..errors import OpenAIError, ProviderError, RequestFailed
from ._kind import Kind, unknown_scope
from ._step import Step


class SingletonKind(Kind):
    """A kind whose live object is addressed by its scope alone (no id of its own): the organization, or one
    project when its inputs have ``project_id``. A setting declares its path below the scope and what it says;
    where it lives, its id, its locks and the project checks come from here."""

    create_only: ClassVar[frozenset[str]] = frozenset({"adopt_existing"})
    setting: ClassVar[str]
    """The path below the scope: ``spend_limit`` is ``organization/spend_limit`` for the organization and
    ``organization/projects/{project_id}/spend_limit`` for a project."""
    organization_id: ClassVar[str] = ORGANIZATION
    """The resource id of the organization's setting (a project's is the project id)."""
    occupiable: ClassVar[bool] = True
    """False for a setting every scope always holds (a project's tool switches): there is nothing to take over
    unasked, so create sets it to the declared values (writing nothing when they already hold)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.project_scoped():
            cls.delete_before_replace = True  # a move never leaves two resources holding one scope's setting

    @abstractmethod
    def show(self, live: dict[str, Any]) -> str:
        """The live setting in words, e.g. ``a monthly spend limit of 1500.00 USD``."""

    @abstractmethod
    def body(self, values: dict[str, Any]) -> dict[str, Any]:
        """The upsert body for canonical input values."""

    @abstractmethod
    def live_inputs(self, live: dict[str, Any], scope: str | None) -> dict[str, Any]: ...

    @abstractmethod
    def live_outputs(self, live: dict[str, Any]) -> dict[str, Any]: ...

    def path(self, scope: str | None) -> str:
        return f"organization/projects/{scope}/{self.setting}" if scope else f"organization/{self.setting}"

    def scope_of(self, props: dict[str, Any]) -> str | None:
        return props.get("project_id") if self.project_scoped() else None

    def id_of(self, scope: str | None) -> str:
        return scope or self.organization_id

    def scope_from_id(self, id_: str) -> str | None:
        return None if id_ == self.organization_id else id_

    @staticmethod
    def describe(scope: str | None) -> str:
        """Who holds the setting, for messages: ``the organization``, ``project proj_1``."""
        return f"project {scope}" if scope else "the organization"

    def holds(self, live: dict[str, Any], scope: str | None, values: dict[str, Any]) -> bool:
        """Whether the live setting already holds ``values`` (what they leave unmanaged is not compared)."""
        held = self.live_inputs(live, scope)
        held.update({name: None for name in self.managed_when_declared if values.get(name) is None})
        return self.body(held) == self.body(values)

    def validate(self, live: dict[str, Any], scope: str | None) -> None:
        """Refuse an answer that cannot be read safely (e.g. another currency)."""

    def is_empty(self, live: dict[str, Any]) -> bool:
        """An answer that stands for "no setting" rather than a setting."""
        return False

    def on_missing(self, step: Step, scope: str | None) -> None:
        """A 404: "not set" for the organization; for a project, only once the project is known to be there
        (a project the key cannot see is an error: wrong organization)."""
        if scope:
            step.require_project(scope)

    def key(self, scope: str | None) -> str:
        """What the step keeps and locks per scope: ``spend_limit:proj_1``."""
        return f"{self.setting}:{scope or ORGANIZATION}"

    def live(self, step: Step, scope: str | None) -> dict[str, Any] | None:
        """The live setting, or None when the scope has none."""
        try:
            live = step.client.get(self.path(scope))
        except OpenAIError as exc:
            if not exc.gone:
                raise
            self.on_missing(step, scope)
            return None
        self.validate(live, scope)
        return None if self.is_empty(live) else live

    def shared_live(self, step: Step, scope: str | None) -> dict[str, Any] | None:
        """The live setting as this process reads it once for every check and create of the step."""
        return step.figures.get(self.key(scope), lambda: self.live(step, scope))

    def occupied(self, scope: str | None, live: dict[str, Any]) -> str:
        return (
            f"{self.describe(scope)} already has {self.show(live)}; set adopt_existing=True to take it over "
            "(it will be set to the declared values)"
        )

    def creation_problems(self, step: Step, inputs: dict[str, Any], olds: dict[str, Any]) -> list[tuple[str, str]]:
        """At preview, what create would refuse: a live setting in the scope without ``adopt_existing``."""
        if olds or not self.occupiable or inputs.get("adopt_existing") or unknown_scope(self, inputs):
            return []
        scope = self.scope_of(inputs)
        live = self.shared_live(step, scope)
        return [] if live is None else [("", self.occupied(scope, live))]

    def check_live(self, step: Step, inputs: dict[str, Any], olds: dict[str, Any]) -> list[tuple[str, str]]:
        """At preview: the project can hold the setting, and create would not take over a live one unasked."""
        scope = self.scope_of(inputs)
        if scope:
            problem = step.project_problem(scope)
            if problem:
                return [("project_id", problem)]
        return self.creation_problems(step, inputs, olds)

    def _set(self, step: Step, scope: str | None, values: dict[str, Any]) -> dict[str, Any]:
        step.figures.forget(self.key(scope))
        try:
            live = self.write(step, scope, self.body(values))
        except (OpenAIError, RequestFailed) as exc:
            if not transient(exc):
                raise
            live = self._reconcile(step, scope, values, exc)
        step.claims.claim(self.key(scope), "write")
        self.validate(live, scope)
        return live

    def write(self, step: Step, scope: str | None, body: dict[str, Any]) -> dict[str, Any]:
        """The upsert request (one POST to the setting's path); the live setting it answers."""
        return step.client.post(self.path(scope), body, idempotent=True)

    def _reconcile(self, step: Step, scope: str | None, values: dict[str, Any], failure: Exception) -> dict[str, Any]:
        """After the retries ran out: the live setting when it already holds the declared values (the write
        took effect and only its answer was lost), else an error saying what the scope holds now."""
        try:
            live = self.live(step, scope)
        except (OpenAIError, RequestFailed) as exc:
            raise ProviderError(
                f"{failure}. Reading {self.describe(scope)}'s setting back failed too ({exc}), so the write may or "
                "may not have taken effect; running `pulumi up` again is safe (the write replaces the setting)"
            ) from None
        if live is not None and self.holds(live, scope, values):
            return live
        now = self.show(live) if live is not None else "nothing"
        raise ProviderError(
            f"{failure}. The write did not take effect: {self.describe(scope)} still has {now}. Run `pulumi up` again"
        )

    def create(self, step: Step, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        scope = self.scope_of(inputs)
        with step.claims.scope_lock(self.key(scope)):
            # The read this step's check made of the scope (or a new one): a setting made elsewhere since then
            # is not seen, as an alert made elsewhere during the step is not (docs/reliability.md).
            live = self.shared_live(step, scope)
            if live is not None and self.occupiable and not inputs.get("adopt_existing"):
                raise ProviderError(self.occupied(scope, live))
            if live is None or not self.holds(live, scope, inputs):
                live = self._set(step, scope, inputs)
            else:
                step.claims.claim(self.key(scope), "adopt")
        return self.id_of(scope), self.live_outputs(live)

    def read(self, step: Step, id_: str, olds: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """The live setting; gone when the scope has none, or when its project is archived (OpenAI has no project
        delete: an archived project is a gone one, and its settings mean nothing)."""
        scope = self.scope_from_id(id_)
        project_id = (scope or "").partition("/")[0]
        if project_id and step.require_project(project_id).get("status") == "archived":
            return None
        live = self.live(step, scope)
        if live is None:
            return None
        return self.live_inputs(live, scope), self.live_outputs(live)

    def update(self, step: Step, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        if self.body(olds) != self.body(news):
            return self.live_outputs(self._set(step, self.scope_of(news), news))
        return self.kept(olds)

    def delete(self, step: Step, id_: str, olds: dict[str, Any]) -> None:
        if olds.get("on_delete", "retain") != "remove":
            return
        scope = self.scope_from_id(id_)
        if step.claims.claimed(self.key(scope)):
            # Another resource of this run took the scope over (a rename or a move): removing the setting
            # now would remove theirs.
            return
        try:
            self.remove(step, scope)
        except OpenAIError as exc:
            if not exc.gone:
                raise
            self.on_missing(step, scope)

    def remove(self, step: Step, scope: str | None) -> None:
        """Remove the live setting: ``DELETE`` its path (a setting held inside another object, such as an API
        key's limit, is removed by a write to that object instead)."""
        step.client.delete(self.path(scope))
