"""What a plugin process keeps for the deployment step it serves, one class per job: the reads it made
(:class:`Figures`), the scopes it writes in and what it claimed there (:class:`Claims`), the values its program
declares (:class:`Declarations`) and the billing extension's capabilities (:class:`Probes`).

Each ``pulumi preview``, ``up`` or ``refresh`` starts its own plugin process and calls it from many threads, so
these live once per process (:data:`RUN`) and are thread-safe. Keys name the account (base URL, organization)
as well as the thing, so a process that meets two accounts never mixes them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")
Key = tuple[str, str | None, str]
"""The account's base URL and organization, and the thing kept (``limit:proj_1``, ``alerts:organization``…)."""


class Figures:
    """Live figures read once and shared by every call of the step, with one fetch in flight per key."""

    def __init__(self) -> None:
        self._kept: dict[Key, tuple[float, Any, float]] = {}
        """The monotonic time each figure expires at, its value, and when it was fetched."""
        self._locks: dict[Key, threading.Lock] = {}
        self._guard = threading.Lock()

    def _lock(self, key: Key) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def get(self, key: Key, fetch: Callable[[], T], ttl: float, max_age: float | None = None) -> T:
        """The kept figure (only if fetched at most ``max_age`` seconds ago, when given), else ``fetch()``'s,
        kept for ``ttl`` seconds. Errors are not kept."""
        with self._lock(key):
            hit = self._kept.get(key)
            now = time.monotonic()
            if hit is not None and now < hit[0] and (max_age is None or now - hit[2] <= max_age):
                kept: T = hit[1]
                return kept
            value = fetch()
            now = time.monotonic()
            self._kept[key] = (now + ttl, value, now)
            return value

    def forget(self, key: Key) -> None:
        """Drop a figure; a fetch in flight (which may predate the change that makes it stale) is waited for."""
        with self._lock(key):
            self._kept.pop(key, None)

    def amend(self, key: Key, change: Callable[[T], T]) -> None:
        """Apply the step's own completed write to a kept figure, after any fetch in flight (which it may
        predate); an expired figure is dropped instead."""
        with self._lock(key):
            hit = self._kept.pop(key, None)
            if hit is not None and time.monotonic() < hit[0]:
                self._kept[key] = (hit[0], change(hit[1]), hit[2])

    def clear(self) -> None:
        with self._guard:
            self._kept.clear()


class Claims:
    """One lock per scope for list-compare-create sequences, and what the step created, adopted or wrote there."""

    def __init__(self) -> None:
        self._locks: dict[str, threading.Lock] = {}
        self._claims: dict[str, set[str]] = {}
        self._guard = threading.Lock()

    @contextmanager
    def scope_lock(self, scope: str) -> Iterator[None]:
        with self._guard:
            lock = self._locks.setdefault(scope, threading.Lock())
        with lock:
            yield

    def claim(self, scope: str, what: str) -> None:
        with self._guard:
            self._claims.setdefault(scope, set()).add(what)

    def claimed(self, scope: str) -> set[str]:
        with self._guard:
            return set(self._claims.get(scope, ()))

    def clear(self) -> None:
        with self._guard:
            self._claims.clear()


class Declarations:
    """Values the step's program declares (a scope's new limit) for the checks of other resources. The engine
    checks resources concurrently, in no promised order, so a reader may wait for a declaration."""

    def __init__(self) -> None:
        self._values: dict[Key, Any] = {}
        self._changed = threading.Condition()

    def declare(self, key: Key, value: Any) -> None:
        with self._changed:
            self._values[key] = value
            self._changed.notify_all()

    def get(self, key: Key, wait_seconds: float = 0.0) -> Any:
        with self._changed:
            self._changed.wait_for(lambda: key in self._values, timeout=wait_seconds)
            return self._values.get(key)

    def clear(self) -> None:
        with self._changed:
            self._values.clear()


class Probes:
    """Answers about the API probed once per account: the billing extension's capabilities, and how many
    distinct projects the step has looked up one by one."""

    def __init__(self) -> None:
        self._capabilities: dict[tuple[str, str | None], frozenset[str] | None] = {}
        self._projects_asked: dict[Key, set[str]] = {}
        self._guard = threading.Lock()

    def capabilities(
        self, account: tuple[str, str | None], probe: Callable[[], frozenset[str] | None]
    ) -> frozenset[str] | None:
        with self._guard:
            if account in self._capabilities:
                return self._capabilities[account]
        found = probe()
        with self._guard:
            self._capabilities[account] = found
        return found

    def ask_for_project(self, key: Key, project_id: str) -> int:
        """Record a project looked up; how many distinct ones the step has asked for so far."""
        with self._guard:
            asked = self._projects_asked.setdefault(key, set())
            asked.add(project_id)
            return len(asked)

    def clear(self) -> None:
        with self._guard:
            self._capabilities.clear()
            self._projects_asked.clear()


class Run:
    """Everything a plugin process keeps for its step."""

    def __init__(self) -> None:
        self.figures = Figures()
        self.claims = Claims()
        self.declarations = Declarations()
        self.probes = Probes()

    def clear(self) -> None:
        """Forget it all: for a long-lived process that meets a new account at a URL an old one had (tests)."""
        for part in (self.figures, self.claims, self.declarations, self.probes):
            part.clear()


RUN = Run()
