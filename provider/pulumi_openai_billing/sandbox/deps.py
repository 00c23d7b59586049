"""Per-app settings and the dependencies handlers share: the store and an existing project's scope."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Depends, Request

from .errors import project_not_found
from .store import Store

EmptyLimit = Literal["404", "zero"]


@dataclass(frozen=True)
class Settings:
    """What one sandbox answers as: its admin key, organization and the no-limit behaviour."""

    admin_key: str
    org_id: str
    empty_limit: EmptyLimit

    def __repr__(self) -> str:
        return f"Settings(org_id={self.org_id!r}, empty_limit={self.empty_limit!r})"


def _store(request: Request) -> Store:
    return request.app.state.store


def _settings(request: Request) -> Settings:
    return request.app.state.settings


StoreDep = Annotated[Store, Depends(_store)]
SettingsDep = Annotated[Settings, Depends(_settings)]


def _existing_project(project_id: str, store: StoreDep) -> str:
    """The path's project id, or 404 ``project_not_found`` when the account has no such project."""
    if store.project(project_id) is None:
        raise project_not_found(project_id)
    return project_id


ProjectScope = Annotated[str, Depends(_existing_project)]
