"""Per-app settings and the dependencies handlers share: the store, the clock and the scope of a path."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeVar

from fastapi import Depends, Request

from .answers import Scope
from .errors import project_not_found
from .store import ORG, Store

T = TypeVar("T")

EmptyLimit = Literal["404", "zero"]


@dataclass(frozen=True)
class Settings:
    """What one sandbox answers as: its admin key, organization and the no-limit behaviour."""

    admin_key: str
    org_id: str
    empty_limit: EmptyLimit
    billing_extension: bool = True

    def __repr__(self) -> str:
        return f"Settings(org_id={self.org_id!r}, empty_limit={self.empty_limit!r})"


class Clock:
    """The account's time: real time, or frozen at an instant that tests move forward (months in seconds)."""

    def __init__(self) -> None:
        self._frozen: int | None = None
        self._lock = threading.Lock()

    def now(self) -> int:
        with self._lock:
            return int(time.time()) if self._frozen is None else self._frozen

    @property
    def frozen(self) -> bool:
        return self._frozen is not None

    def freeze(self, at: int) -> None:
        with self._lock:
            self._frozen = at

    def advance(self, seconds: int) -> None:
        with self._lock:
            self._frozen = (int(time.time()) if self._frozen is None else self._frozen) + seconds

    def reset(self) -> None:
        with self._lock:
            self._frozen = None


def from_state(name: str, kind: type[T]) -> Callable[[Request], T]:
    """A dependency that answers the app's ``state.<name>`` (set once by ``create_app``) as a ``kind``."""

    def get(request: Request) -> T:
        value = getattr(request.app.state, name)
        assert isinstance(value, kind), f"app.state.{name} is not a {kind.__name__}"
        return value

    return get


_store = from_state("store", Store)
_settings = from_state("settings", Settings)
_clock = from_state("clock", Clock)


StoreDep = Annotated[Store, Depends(_store)]
ClockDep = Annotated[Clock, Depends(_clock)]
SettingsDep = Annotated[Settings, Depends(_settings)]


def _existing_project(project_id: str, store: StoreDep) -> str:
    """The path's project id, or 404 ``project_not_found`` when the account has no such project."""
    if store.project(project_id) is None:
        raise project_not_found(project_id)
    return project_id


ProjectScope = Annotated[str, Depends(_existing_project)]
SCOPES: dict[Scope, tuple[str, Any]] = {
    "organization": ("/organization", Annotated[str, Depends(lambda: ORG)]),
    "project": ("/organization/projects/{project_id}", ProjectScope),
}
"""Where each kind of scope's objects live, and the dependency that answers a path's scope."""
