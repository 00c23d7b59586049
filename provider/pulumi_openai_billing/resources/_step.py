"""One deployment step's view of one account: its settings (resolved once), its client (passed in or made once),
and what the step has read (:class:`Figures`), claimed (:class:`Claims`), declared (:class:`Declarations`) and
probed (:class:`Probes`) there.

Each ``pulumi preview``, ``up`` or ``refresh`` starts its own plugin process and calls it from many threads:
the provider builds its :class:`Step` once, when the engine configures it, and every call of the step shares
it. A program's functions and the commands find theirs with :func:`current_step`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import Any, TypeVar

from .._api import config
from .._api.client import BillingClient
from ..errors import OpenAIError, ProviderError

T = TypeVar("T")


class Figures:
    """Live figures read once and shared by every call of the step, with one fetch in flight per key."""

    def __init__(self) -> None:
        self._kept: dict[str, tuple[float, Any, float]] = {}
        """The monotonic time each figure expires at, its value, and when it was fetched."""
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def _lock(self, key: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def get(self, key: str, fetch: Callable[[], T], ttl: float | None = None, max_age: float | None = None) -> T:
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
            self._kept[key] = (now + (RUN_SECONDS if ttl is None else ttl), value, now)
            return value

    def forget(self, key: str) -> None:
        """Drop a figure; a fetch in flight (which may predate the change that makes it stale) is waited for."""
        with self._lock(key):
            self._kept.pop(key, None)

    def amend(self, key: str, change: Callable[[T], T]) -> None:
        """Apply the step's own completed write to a kept figure, after any fetch in flight (which it may
        predate); an expired figure is dropped instead."""
        with self._lock(key):
            hit = self._kept.pop(key, None)
            if hit is not None and time.monotonic() < hit[0]:
                self._kept[key] = (hit[0], change(hit[1]), hit[2])


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


class Declarations:
    """Values the step's program declares (a scope's new limit) for the checks of other resources. The engine
    checks resources concurrently, in no promised order, so a reader may wait for a declaration."""

    def __init__(self) -> None:
        self._values: dict[str, Any] = {}
        self._changed = threading.Condition()

    def declare(self, key: str, value: Any) -> None:
        with self._changed:
            self._values[key] = value
            self._changed.notify_all()

    def get(self, key: str, wait_seconds: float = 0.0) -> Any:
        with self._changed:
            self._changed.wait_for(lambda: key in self._values, timeout=wait_seconds)
            return self._values.get(key)


class Probes:
    """Answers about the API probed once per step: the billing extension's capabilities, and how many distinct
    projects the step has looked up one by one."""

    _UNPROBED: Any = object()

    def __init__(self) -> None:
        self._capabilities: frozenset[str] | Any | None = self._UNPROBED
        self._projects_asked: set[str] = set()
        self._guard = threading.Lock()

    def capabilities(self, probe: Callable[[], frozenset[str] | None]) -> frozenset[str] | None:
        with self._guard:
            if self._capabilities is not self._UNPROBED:
                found: frozenset[str] | None = self._capabilities
                return found
        found = probe()
        with self._guard:
            self._capabilities = found
        return found

    def ask_for_project(self, project_id: str) -> int:
        """Record a project looked up; how many distinct ones the step has asked for so far."""
        with self._guard:
            self._projects_asked.add(project_id)
            return len(self._projects_asked)


_CAPABILITIES: dict[str, tuple[str, bool]] = {
    "payment_methods": ("payment methods", True),
    "auto_reload": ("credit top-up (auto-reload) policies", True),
    "credit_purchases": ("credit purchases", True),
    "credit_balance": ("the credit balance", False),
    "invoices": ("invoices", True),
}
EXTENSION_DOC = "docs/billing-extension.md"


def project_not_visible(project_id: str, organization: str) -> ProviderError:
    return ProviderError(
        f"project {project_id} is not visible to the configured admin key ({organization}): "
        "wrong organization? Check openai-billing:organization and openai-billing:adminKey"
    )


PROJECT_LIST_AFTER = 2
"""Distinct projects a process reads one by one before it reads the organization's project list instead (one
request per 100 projects: under the Admin API's throttle, requests per endpoint are what a run costs)."""

RUN_SECONDS = 3600.0
"""How long a process keeps what it read of the account: the whole deployment step it serves (each
``pulumi preview``, ``up`` or ``refresh`` starts its own plugin process). Under OpenAI's throttle every read
costs a turn; a change made outside Pulumi during a step is seen by the next step."""


class Step:
    """One deployment step's view of one account: its settings, its client, and what the step keeps there."""

    def __init__(self, settings: config.Settings, client: BillingClient | None = None) -> None:
        self.settings = settings
        self.organization = settings.organization_binding
        """What state records as the account a resource lives in (the organization id, else the API host)."""
        if client is not None:
            self.client = client
        self.figures = Figures()
        self.claims = Claims()
        self.declarations = Declarations()
        self.probes = Probes()

    @cached_property
    def client(self) -> BillingClient:
        """The step's client, made on first use (a check that fails for a missing key never needs one)."""
        return BillingClient(self.settings)

    def close(self) -> None:
        if "client" in self.__dict__:
            self.client.close()

    def extension(self) -> frozenset[str] | None:
        """The billing-extension capabilities of the configured API (None: no extension), probed once."""

        def probe() -> frozenset[str] | None:
            try:
                answer = self.client.get("organization/billing/capabilities")
            except OpenAIError as exc:
                if exc.status not in (404, 405):  # "Invalid URL" too: the API offers no extension
                    raise
                return None
            return frozenset(str(c) for c in answer.get("capabilities") or ())

        return self.probes.capabilities(probe)

    def capability_problem(self, capability: str) -> str | None:
        """Why ``capability`` cannot be used here, or None when the API offers it."""
        offered = self.extension()
        if offered is not None and capability in offered:
            return None
        what, plural = _CAPABILITIES.get(capability, (capability, True))
        where = f"{what} {'are' if plural else 'is'} not available at {self.settings.base_url}"
        if offered is None:
            return (
                f"{where}: OpenAI has no public API for {'them' if plural else 'it'}; use the sandbox or a "
                f"gateway that implements {EXTENSION_DOC}"
            )
        offers = ", ".join(sorted(offered)) or "nothing"
        return f"{where}: its billing extension does not offer {capability!r} (it offers: {offers})"

    def require_capability(self, capability: str) -> None:
        problem = self.capability_problem(capability)
        if problem:
            raise ProviderError(problem)

    def find(self, path: str) -> dict[str, Any] | None:
        """The object at ``path``, or None when the API answers 404."""
        try:
            return self.client.get(path)
        except OpenAIError as exc:
            if exc.gone:
                return None
            raise

    def project_problem(self, project_id: str) -> str | None:
        """Why a resource cannot be declared in ``project_id`` (invisible or archived), else None."""
        try:
            project = self.require_project(project_id)
        except ProviderError as exc:
            return str(exc)
        if project.get("status") == "archived":
            name = project.get("name")
            return (
                f"project {project_id}{f' ({name})' if name else ''} is archived: it serves no traffic, so its "
                "limits and alerts mean nothing; remove them from the program"
            )
        return None

    def require_project(self, project_id: str) -> dict[str, Any]:
        """The project object, read once per process for :data:`RUN_SECONDS` (from the organization's
        project list once a run has asked for :data:`PROJECT_LIST_AFTER` projects); a project the key cannot
        see is an error, never "gone"."""
        listed = self._project_list(project_id)
        if listed is not None and project_id in listed:
            return listed[project_id]

        def fetch() -> dict[str, Any]:
            try:
                return self.client.get(f"organization/projects/{project_id}")
            except OpenAIError as exc:
                if exc.gone:
                    raise project_not_visible(project_id, self.organization) from None
                raise

        return self.figures.get(f"project:{project_id}", fetch)

    def _project_list(self, project_id: str) -> dict[str, dict[str, Any]] | None:
        """Every project (archived ones too) by id, once this process has looked up enough distinct ones that
        one paged list costs fewer requests than a read each; None before that."""
        if self.probes.ask_for_project(project_id) < PROJECT_LIST_AFTER:
            return None
        return self.all_projects()

    def all_projects(self) -> dict[str, dict[str, Any]]:
        """Every project (archived ones too) by id, from one read of the list shared by this process."""
        return self.figures.get(
            "projects",
            lambda: {p["id"]: p for p in self.client.list_all("organization/projects", {"include_archived": "true"})},
        )


_steps: dict[config.Settings, Step] = {}
_steps_lock = threading.Lock()


def step_for(settings: config.Settings) -> Step:
    """This process's step for these settings, made on first use."""
    with _steps_lock:
        step = _steps.get(settings)
        if step is None:
            step = _steps[settings] = Step(settings)
        return step


def current_step() -> Step:
    """The step for the settings in force here (stack config, then the environment)."""
    return step_for(config.resolve())


def use_step(step: Step) -> None:
    """Make ``step`` the one for its settings: e.g. a step whose client sends through a transport of your own
    (``BillingClient(settings, transport=...)``), as tests do."""
    with _steps_lock:
        old = _steps.get(step.settings)
        _steps[step.settings] = step
    if old is not None and old is not step:
        old.close()


def forget_steps() -> None:
    """Close and drop every step of this process: a long-lived process that meets a new account at a URL an
    old one had (a test session's sandboxes, ``testing.Stack``'s in-process programs) must start afresh."""
    with _steps_lock:
        steps = list(_steps.values())
        _steps.clear()
    for step in steps:
        step.close()
