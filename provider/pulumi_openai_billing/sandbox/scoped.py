"""Settings held once per scope, such as the spend limits: ``GET`` reads one, ``POST`` creates or replaces it,
``DELETE`` removes it. A setting is a ``ScopedSetting`` declared in a module of its own and listed in
``app.SCOPED_SETTINGS``; from there it is served at each of its scopes, stored and shown in ``/sandbox/state``.

No ``from __future__ import annotations``: the handlers' annotations are each setting's own, read by FastAPI.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from . import wire
from .answers import Scope
from .deps import SCOPES, Settings, SettingsDep, StoreDep
from .errors import ApiError
from .store import ORG, Store

Fields = dict[str, Any]


@dataclass(frozen=True)
class ScopedSetting:
    """A setting held at most once per scope: its name, models and the hooks where it differs from the default."""

    name: str
    """Its last path segment and store key; it answers ``<scope>.<name>`` and ``<scope>.<name>.deleted`` objects."""
    state: str
    """Its key in ``/sandbox/state``."""
    body: type[BaseModel]
    answer: type[BaseModel]
    deleted: type[BaseModel] | None
    """What ``DELETE`` answers; None serves no ``DELETE``."""
    scopes: tuple[Scope, ...] = ("organization", "project")
    shape: Callable[[Fields], Fields] = lambda value: value
    """The answer's fields (``object`` aside) for a stored value."""
    unset: Callable[[Settings], Fields | None] = lambda settings: None
    """The answer's fields for a scope without the setting; None answers 404."""
    update: Callable[[Fields | None, BaseModel], Fields] = lambda current, body: body.model_dump()
    """The value a ``POST`` stores, from the current one (None when unset) and the body."""

    def not_found(self, scope: str) -> ApiError:
        what = self.name.replace("_", " ")
        verb = "are" if what.endswith("s") else "is"
        return ApiError(404, f"No {what} {verb} set for this {wire.kind(scope)}.", code=f"{self.name}_not_found")

    def answer_of(self, scope: str, fields: Fields) -> Fields:
        return {"object": f"{wire.kind(scope)}.{self.name}", **fields}

    def read(self, store: Store, scope: str, settings: Settings) -> Fields:
        value = store.setting(self.name, scope)
        fields = self.unset(settings) if value is None else self.shape(value)
        if fields is None:
            raise self.not_found(scope)
        return self.answer_of(scope, fields)

    def upsert(self, store: Store, scope: str, body: BaseModel) -> Fields:
        with store.transaction():
            value = self.update(store.setting(self.name, scope), body)
            store.put_setting(self.name, value, scope)
        return self.answer_of(scope, self.shape(value))

    def delete(self, store: Store, scope: str) -> Fields:
        if not store.delete_setting(self.name, scope):
            raise self.not_found(scope)
        return {"object": f"{wire.kind(scope)}.{self.name}.deleted", "deleted": True}

    def report(self, store: Store) -> Fields:
        """The organization's value (None when unset; only where it has one) and each project's, as
        ``/sandbox/state`` shows them."""
        held = {scope: self.answer_of(scope, self.shape(value)) for scope, value in store.settings(self.name).items()}
        organization = held.pop(ORG, None)
        return {"organization": organization, "projects": held} if "organization" in self.scopes else {"projects": held}


def router(settings: Sequence[ScopedSetting]) -> APIRouter:
    """The routes of every setting, at each of its scopes."""
    routes = APIRouter()
    for setting in settings:
        for kind in setting.scopes:
            _serve(routes, setting, kind, *SCOPES[kind])
    return routes


def _serve(routes: APIRouter, setting: ScopedSetting, kind: Scope, prefix: str, in_scope: Any) -> None:
    path, name = f"{prefix}/{setting.name}", f"{kind}_{setting.name}"
    body_model: Any = setting.body

    @routes.get(path, response_model=setting.answer, name=f"read_{name}")
    def read(scope: in_scope, store: StoreDep, settings: SettingsDep) -> Fields:
        return setting.read(store, scope, settings)

    @routes.post(path, response_model=setting.answer, name=f"upsert_{name}")
    def upsert(scope: in_scope, body: body_model, store: StoreDep) -> Fields:
        return setting.upsert(store, scope, body)

    if setting.deleted is not None:

        @routes.delete(path, response_model=setting.deleted, name=f"delete_{name}")
        def delete(scope: in_scope, store: StoreDep) -> Fields:
            return setting.delete(store, scope)
