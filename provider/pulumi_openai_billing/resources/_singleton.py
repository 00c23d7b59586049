"""Settings an account holds at most once per scope (a spend limit, the auto-reload policy).

They share the rules that keep money safe: create reads the scope first and refuses a live setting unless
``adopt_existing=True``; an adoption that changes nothing writes nothing; update is the upsert POST;
``on_delete="retain"`` (the default) leaves the live setting in place, and ``"remove"`` is skipped when
another resource of this process wrote the same scope (a rename or a move took it over).
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, ClassVar

from .._api.client import OpenAIError, RequestFailed, transient
from ._base import Context, Kind, ProviderError, unknown_scope


class SingletonKind(Kind):
    """A kind whose live object is addressed by its scope alone (no id of its own)."""

    create_only = frozenset({"adopt_existing"})
    family: ClassVar[str]
    """Names the scope for locks and claims, e.g. ``limit`` -> ``limit:proj_123``."""

    @abstractmethod
    def path(self, scope: str | None) -> str: ...

    @abstractmethod
    def describe(self, scope: str | None) -> str:
        """Who holds the setting, for messages: ``the organization``, ``project proj_1``…"""

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

    def scope_of(self, props: dict[str, Any]) -> str | None:
        return None

    def id_of(self, scope: str | None) -> str:
        return scope or self.family

    def scope_from_id(self, id_: str) -> str | None:
        return None if id_ == self.family else id_

    def validate(self, live: dict[str, Any], scope: str | None) -> None:
        """Refuse an answer that cannot be read safely (e.g. another currency)."""

    def is_empty(self, live: dict[str, Any]) -> bool:
        """An answer that stands for "no setting" rather than a setting."""
        return False

    def on_missing(self, ctx: Context, scope: str | None) -> None:
        """Called on a 404: raise when it means something else than "not set" (an invisible project)."""

    def _key(self, scope: str | None) -> str:
        return f"{self.family}:{scope or 'organization'}"

    def live(self, ctx: Context, scope: str | None) -> dict[str, Any] | None:
        """The live setting, or None when the scope has none."""
        try:
            live = ctx.client.get(self.path(scope))
        except OpenAIError as exc:
            if not exc.gone:
                raise
            self.on_missing(ctx, scope)
            return None
        self.validate(live, scope)
        return None if self.is_empty(live) else live

    def shared_live(self, ctx: Context, scope: str | None) -> dict[str, Any] | None:
        """The live setting as this process reads it once for every check and create of the step."""
        return ctx.figure(self._key(scope), lambda: self.live(ctx, scope))

    def occupied(self, scope: str | None, live: dict[str, Any]) -> str:
        return (
            f"{self.describe(scope)} already has {self.show(live)}; set adopt_existing=True to take it over "
            "(it will be set to the declared values)"
        )

    def creation_problems(self, ctx: Context, inputs: dict[str, Any], olds: dict[str, Any]) -> list[tuple[str, str]]:
        """At preview, what create would refuse: a live setting in the scope without ``adopt_existing``."""
        if olds or inputs.get("adopt_existing") or unknown_scope(self, inputs):
            return []
        scope = self.scope_of(inputs)
        live = self.shared_live(ctx, scope)
        return [] if live is None else [("", self.occupied(scope, live))]

    def check_live(self, ctx: Context, inputs: dict[str, Any], olds: dict[str, Any]) -> list[tuple[str, str]]:
        return self.creation_problems(ctx, inputs, olds)

    def _set(self, ctx: Context, scope: str | None, values: dict[str, Any]) -> dict[str, Any]:
        ctx.forget(self._key(scope))
        try:
            live = ctx.client.post(self.path(scope), self.body(values), idempotent=True)
        except (OpenAIError, RequestFailed) as exc:
            if not transient(exc):
                raise
            live = self._reconcile(ctx, scope, values, exc)
        ctx.claim(self._key(scope), "write")
        self.validate(live, scope)
        return live

    def _reconcile(self, ctx: Context, scope: str | None, values: dict[str, Any], failure: Exception) -> dict[str, Any]:
        """After the retries ran out: the live setting when it already holds the declared values (the write
        took effect and only its answer was lost), else an error saying what the scope holds now."""
        try:
            live = self.live(ctx, scope)
        except (OpenAIError, RequestFailed) as exc:
            raise ProviderError(
                f"{failure}. Reading {self.describe(scope)}'s setting back failed too ({exc}), so the write may or "
                "may not have taken effect; running `pulumi up` again is safe (the write replaces the setting)"
            ) from None
        if live is not None and self.body(self.live_inputs(live, scope)) == self.body(values):
            return live
        now = self.show(live) if live is not None else "nothing"
        raise ProviderError(
            f"{failure}. The write did not take effect: {self.describe(scope)} still has {now}. Run `pulumi up` again"
        )

    def create(self, ctx: Context, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        scope = self.scope_of(inputs)
        with ctx.scope_lock(self._key(scope)):
            # The read this step's check made of the scope (or a new one): a setting made elsewhere since then
            # is not seen, as an alert made elsewhere during the step is not (docs/reliability.md).
            live = self.shared_live(ctx, scope)
            if live is not None and not inputs.get("adopt_existing"):
                raise ProviderError(self.occupied(scope, live))
            if live is None or self.body(self.live_inputs(live, scope)) != self.body(inputs):
                live = self._set(ctx, scope, inputs)
            else:
                ctx.claim(self._key(scope), "adopt")
        return self.id_of(scope), self.live_outputs(live)

    def read(self, ctx: Context, id_: str, olds: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]] | None:
        scope = self.scope_from_id(id_)
        live = self.live(ctx, scope)
        if live is None:
            return None
        return self.live_inputs(live, scope), self.live_outputs(live)

    def update(self, ctx: Context, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        if self.body(olds) != self.body(news):
            return self.live_outputs(self._set(ctx, self.scope_of(news), news))
        return self.kept(olds)

    def delete(self, ctx: Context, id_: str, olds: dict[str, Any]) -> None:
        if olds.get("on_delete", "retain") != "remove":
            return
        scope = self.scope_from_id(id_)
        if ctx.claimed(self._key(scope)):
            # Another resource of this run took the scope over (a rename or a move): removing the setting
            # now would remove theirs.
            return
        try:
            ctx.client.delete(self.path(scope))
        except OpenAIError as exc:
            if not exc.gone:
                raise
            self.on_missing(ctx, scope)
