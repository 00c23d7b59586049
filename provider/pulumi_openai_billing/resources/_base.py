"""What every resource kind shares: the kind interface, the run-time context, field types and the
``pulumi.dynamic.Resource`` base the public classes derive from."""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from decimal import Decimal
from typing import Annotated, Any, ClassVar, TypeVar

import pulumi
import pulumi.dynamic
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, ValidationError, ValidationInfo

from .._api import config
from .._api.cards import is_card_number
from .._api.client import BillingClient, OpenAIError, get_client
from .._api.money import format_usd, from_cents, parse_usd
from ._run import RUN, Key

T = TypeVar("T")
SCHEMA_VERSION = 1
TYPE_MODULE = "openai-billing"
TYPE_PREFIX = f"pulumi-python:dynamic/{TYPE_MODULE}:"
"""Every kind's type token is this plus its name (``pulumi.dynamic.Resource`` builds it from the class)."""
USD = "USD"
MONTH = "month"


class ProviderError(Exception):
    """An operation refused or failed for a reason the user can act on; the message says which."""


class InputModel(BaseModel):
    """Base of every resource's input model: strict, closed, canonical when dumped."""

    model_config = ConfigDict(extra="forbid", strict=True)


def field_problem(prop: str, error: Mapping[str, Any]) -> str:
    """An actionable sentence that starts with the property's name."""
    if error.get("type") == "missing":
        return f"{prop} is required"
    if error.get("type") == "extra_forbidden":
        return f"{prop} is not a property of this resource"
    message = str(error.get("msg", "is invalid"))
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    message = message.replace("Input should be", "must be").replace("String should", "must")
    if len(error.get("loc", ())) > 1:
        message = f"item {error['loc'][1]} {message}"
    return message if message.startswith(prop) else f"{prop} {message}"


class OutputModel(BaseModel):
    """Base of each kind's computed outputs: their types and descriptions (schema.json and the docs), and the
    one way a kind builds them (:meth:`of`), so a misnamed or mistyped output cannot reach state."""

    model_config = ConfigDict(extra="forbid", strict=True)

    @classmethod
    def of(cls, **values: Any) -> dict[str, Any]:
        try:
            return cls(**values).model_dump()
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(part) for part in error.get("loc", ()))
            raise ProviderError(
                f"the API answered an unexpected {where}: {error.get('input')!r} ({error['msg']})"
            ) from None


def described(text: str) -> Any:
    """A field description: it reaches ``schema.json``, ``docs/reference.md`` and the CLI help."""
    return Field(description=text)


def usd_validator(minimum: Decimal) -> BeforeValidator:
    """Dollars (int, float, str or Decimal) -> the canonical two-decimal string, at least ``minimum``."""

    def validate(value: object, info: ValidationInfo) -> str:
        return format_usd(parse_usd(value, info.field_name or "amount", minimum=minimum))

    return BeforeValidator(validate)


UsdAmount = Annotated[str, usd_validator(Decimal("0"))]
"""A dollar amount ≥ 0 with at most two decimals, canonical as a two-decimal string."""

PositiveUsdAmount = Annotated[str, usd_validator(Decimal("0.01"))]
"""A dollar amount ≥ 0.01 with at most two decimals, canonical as a two-decimal string."""


def _whole_number(value: object) -> object:
    """Numbers reach the provider as floats (the engine's protobuf Struct has no integers): 3.0 is 3."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


WholeNumber = Annotated[int, BeforeValidator(_whole_number), Field(strict=True)]
"""An integer, given as a whole number (3 or 3.0, never "3", 3.5 or true)."""

ProjectId = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")
]

AcknowledgedMonth = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
"""A UTC calendar month as ``YYYY-MM``."""

CARD_NUMBER_MESSAGE = (
    "looks like a payment card number: card numbers never belong in a program, its state or its logs. "
    "Create a payment method token with your payment processor (such as pm_card_visa or pm_1Abc…) and pass "
    "the token instead"
)


def looks_like_card_number(value: object) -> bool:
    """13 to 19 digits (spaces and dashes allowed between them) that pass the Luhn check."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a JSON number, as a card typed without quotes arrives through the engine
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return False
    return is_card_number(str(value))


def contains_card_number(value: object) -> bool:
    if isinstance(value, dict):
        return any(contains_card_number(v) for v in value.values())
    if isinstance(value, list):
        return any(contains_card_number(v) for v in value)
    return looks_like_card_number(value)


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
LIVE_FIGURES_TTL = RUN_SECONDS


class Context:
    """One call's view of the step: its settings, the pooled client, and what the plugin process keeps for the
    step (``RUN``: figures, claims, declarations, probes), keyed by this call's account."""

    def __init__(self, settings: config.Settings) -> None:
        self.settings = settings

    @classmethod
    def current(cls) -> Context:
        return cls(config.resolve())

    @classmethod
    def forget_everything(cls) -> None:
        """Drop what this process has kept (figures, claims, declarations, probes): for a long-lived process
        that talks to a new account at a URL an old one had, such as a test session's sandboxes."""
        RUN.clear()

    @property
    def client(self) -> BillingClient:
        return get_client(self.settings)

    @property
    def organization(self) -> str:
        return self.settings.organization_binding

    def scope_lock(self, scope: str) -> AbstractContextManager[None]:
        """Serialise list-compare-create sequences on one scope within this process."""
        return RUN.claims.scope_lock(scope)

    def claim(self, scope: str, what: str) -> None:
        """Record that a resource of this process created, adopted or wrote ``what`` in ``scope``."""
        RUN.claims.claim(scope, what)

    def claimed(self, scope: str) -> set[str]:
        return RUN.claims.claimed(scope)

    def _key(self, key: str) -> Key:
        return (self.settings.base_url, self.settings.organization, key)

    def figure(
        self, key: str, fetch: Callable[[], T], ttl: float = LIVE_FIGURES_TTL, max_age: float | None = None
    ) -> T:
        """A live figure (``spend:2026-11``, ``limit:proj_1``, a scope's alert list…) shared by every call of
        this process for ``ttl`` seconds (or, for this call, only when fetched at most ``max_age`` seconds
        ago), with one fetch in flight per key. Errors are not kept."""
        return RUN.figures.get(self._key(key), fetch, ttl, max_age)

    def forget(self, key: str) -> None:
        """Drop a live figure after this process changed it."""
        RUN.figures.forget(self._key(key))

    def amend(self, key: str, change: Callable[[T], T]) -> None:
        """Apply this process's own completed write to a kept figure (``change`` returns the new value), so the
        reads that follow see it without a new fetch."""
        RUN.figures.amend(self._key(key), change)

    def declare(self, key: str, value: Any) -> None:
        """Record a value this run's program declares (e.g. a scope's new limit) for other resources' checks."""
        RUN.declarations.declare(self._key(key), value)

    def declared(self, key: str, wait_seconds: float = 0.0) -> Any:
        """The declared value, waiting up to ``wait_seconds`` for a check that has not declared it yet."""
        return RUN.declarations.get(self._key(key), wait_seconds)

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

        return RUN.probes.capabilities((self.settings.base_url, self.settings.organization), probe)

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
        """The project object, read once per process for :data:`LIVE_FIGURES_TTL` (from the organization's
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

        return self.figure(f"project:{project_id}", fetch)

    def _project_list(self, project_id: str) -> dict[str, dict[str, Any]] | None:
        """Every project (archived ones too) by id, once this process has looked up enough distinct ones that
        one paged list costs fewer requests than a read each; None before that."""
        if RUN.probes.ask_for_project(self._key("projects"), project_id) < PROJECT_LIST_AFTER:
            return None
        return self.all_projects()

    def all_projects(self) -> dict[str, dict[str, Any]]:
        """Every project (archived ones too) by id, from one read of the list shared by this process."""
        return self.figure(
            "projects",
            lambda: {p["id"]: p for p in self.client.list_all("organization/projects", {"include_archived": "true"})},
        )


def check_currency(obj: dict[str, Any], what: str) -> None:
    """Amounts in any other currency than USD must never be read as dollars."""
    currency = obj.get("currency")
    if currency is not None and str(currency).upper() != USD:
        raise ProviderError(f"{what} is in {currency!r}, not USD: this provider only manages USD amounts")


def cents_field(obj: dict[str, Any], name: str = "threshold_amount") -> int:
    value = obj.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProviderError(f"the API answered a non-integer {name}: {value!r}")
    return value


def usd_from_cents(cents: int) -> str:
    return format_usd(from_cents(cents))


class Kind(ABC):
    """One resource kind: its input model and its CRUD against the API.

    ``create``/``read``/``update`` return the *live* values: for ``read``, the input fields the API holds
    (the machinery keeps the rest from the previous state) and the computed outputs.
    """

    name: ClassVar[str]
    family: ClassVar[str] = ""
    """What the kind sets in a scope (``limit``, ``alert``…): rules and reports group kinds by it."""
    inputs: ClassVar[type[InputModel]]
    outputs: ClassVar[type[OutputModel]]
    """The computed outputs (outputs also repeat every input, plus ``organization`` and ``schema_version``)."""
    computed: ClassVar[tuple[str, ...]] = ()
    replace_on: ClassVar[frozenset[str]] = frozenset()
    create_only: ClassVar[frozenset[str]] = frozenset()
    delete_before_replace: ClassVar[bool] = False
    capability: ClassVar[str | None] = None
    """The billing-extension capability the kind needs (None: a real Admin API endpoint)."""
    secret_inputs: ClassVar[frozenset[str]] = frozenset()
    """Inputs the resource wraps as secrets; never echoed back when check fails."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "outputs" in cls.__dict__:
            cls.computed = tuple(cls.outputs.model_fields)

    def kept(self, olds: dict[str, Any]) -> dict[str, Any]:
        """The previous computed outputs, for an update that sends nothing."""
        return {name: olds.get(name) for name in self.computed}

    def check_change(self, olds: dict[str, Any], news: dict[str, Any]) -> list[tuple[str, str]]:
        """Changes refused at preview, from the previous canonical inputs (empty on create)."""
        return []

    def check_live(self, ctx: Context, inputs: dict[str, Any], olds: dict[str, Any]) -> list[tuple[str, str]]:
        """Checks at preview that need settings or the API (e.g. the project exists); known values only.
        ``olds`` are the previous canonical inputs (empty on create)."""
        return []

    @abstractmethod
    def create(self, ctx: Context, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]: ...

    @abstractmethod
    def read(self, ctx: Context, id_: str, olds: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """``(live input values, computed outputs)``, or None when the resource is gone."""

    @abstractmethod
    def update(self, ctx: Context, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]: ...

    @abstractmethod
    def delete(self, ctx: Context, id_: str, olds: dict[str, Any]) -> None: ...


def unknown_scope(kind: Kind, inputs: dict[str, Any]) -> bool:
    """A project resource whose ``project_id`` is not known yet (preview): its scope cannot be checked."""
    return "project_id" in kind.inputs.model_fields and not inputs.get("project_id")


def _plain(value: Any) -> Any:
    """Decimals become strings before registration, so an exact amount never passes through a float."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, pulumi.Output):
        return value.apply(_plain)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


class BillingResource(pulumi.dynamic.Resource):
    """Base of the public resources: registers inputs plus every output name with the kind's provider;
    secret inputs are wrapped as secrets and stay secret as outputs."""

    _kind: ClassVar[type[Kind]]

    organization: pulumi.Output[str]
    schema_version: pulumi.Output[int]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Every public class gets its type token from its kind: ``dynamic/openai-billing:<kind name>``."""
        kind = cls.__dict__.get("_kind")
        super().__init_subclass__(module=TYPE_MODULE, name=kind.name if kind else cls.__name__, **kwargs)

    def __init__(
        self, resource_name: str, arguments: Mapping[str, Any], opts: pulumi.ResourceOptions | None = None
    ) -> None:
        """``arguments`` may hold more than the inputs (a subclass passes its ``locals()``): only the kind's input
        model's fields are taken, so each keyword is written once, in the subclass's signature."""
        kind = self._kind
        fields = kind.inputs.model_fields
        props: dict[str, Any] = {k: _plain(v) for k, v in arguments.items() if k in fields and v is not None}
        for name in (*kind.inputs.model_fields, *kind.computed, "organization", "schema_version"):
            props.setdefault(name, None)
        secret = sorted(kind.secret_inputs)
        if secret:
            for name in secret:
                if props[name] is not None:
                    props[name] = pulumi.Output.secret(props[name])
            opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(additional_secret_outputs=secret))
        providers = importlib.import_module("pulumi_openai_billing.providers")
        provider = providers.PROVIDERS[kind.name]()
        super().__init__(provider, resource_name, props, opts)
