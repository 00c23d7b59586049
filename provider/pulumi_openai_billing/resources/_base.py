"""What every resource kind shares: the kind interface, the run-time context, field types and the
``pulumi.dynamic.Resource`` base the public classes derive from."""

from __future__ import annotations

import importlib
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Annotated, Any, ClassVar

import pulumi
import pulumi.dynamic
from pydantic import BaseModel, BeforeValidator, ConfigDict, StringConstraints, ValidationInfo

from .. import config
from ..client import BillingClient, OpenAIError, get_client
from ..money import format_usd, from_cents, parse_usd

SCHEMA_VERSION = 1
TYPE_MODULE = "openai-billing"
USD = "USD"
MONTH = "month"


class ProviderError(Exception):
    """An operation refused or failed for a reason the user can act on; the message says which."""


class InputModel(BaseModel):
    """Base of every resource's input model: strict, closed, canonical when dumped."""

    model_config = ConfigDict(extra="forbid", strict=True)


def _usd_validator(minimum: Decimal):
    def validate(value: object, info: ValidationInfo) -> str:
        return format_usd(parse_usd(value, info.field_name or "amount", minimum=minimum))

    return BeforeValidator(validate)


UsdAmount = Annotated[str, _usd_validator(Decimal("0"))]
"""A dollar amount ≥ 0 with at most two decimals, canonical as a two-decimal string."""

PositiveUsdAmount = Annotated[str, _usd_validator(Decimal("0.01"))]
"""A dollar amount ≥ 0.01 with at most two decimals, canonical as a two-decimal string."""

ProjectId = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")
]


def project_not_visible(project_id: str, organization: str) -> ProviderError:
    return ProviderError(
        f"project {project_id} is not visible to the configured admin key ({organization}): "
        "wrong organization? Check openai-billing:organization and openai-billing:adminKey"
    )


class Context:
    """Per-call access to settings and the process's pooled client, plus process-wide coordination."""

    _scope_locks: ClassVar[dict[str, threading.Lock]] = {}
    _claims: ClassVar[dict[str, set[str]]] = {}
    _guard = threading.Lock()

    def __init__(self, settings: config.Settings) -> None:
        self.settings = settings

    @classmethod
    def current(cls) -> Context:
        return cls(config.resolve())

    @property
    def client(self) -> BillingClient:
        return get_client(self.settings)

    @property
    def organization(self) -> str:
        return self.settings.organization_binding

    @contextmanager
    def scope_lock(self, scope: str) -> Iterator[None]:
        """Serialise list-compare-create sequences on one scope within this process."""
        with self._guard:
            lock = self._scope_locks.setdefault(scope, threading.Lock())
        with lock:
            yield

    def claim(self, scope: str, what: str) -> None:
        """Record that a resource of this process created, adopted or wrote ``what`` in ``scope``."""
        with self._guard:
            self._claims.setdefault(scope, set()).add(what)

    def claimed(self, scope: str) -> set[str]:
        with self._guard:
            return set(self._claims.get(scope, ()))

    def require_project(self, project_id: str) -> dict[str, Any]:
        """The project object; a project the key cannot see is an error, never "gone"."""
        try:
            return self.client.get(f"organization/projects/{project_id}")
        except OpenAIError as exc:
            if exc.status == 404:
                raise project_not_visible(project_id, self.organization) from None
            raise


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
    inputs: ClassVar[type[InputModel]]
    computed: ClassVar[tuple[str, ...]]
    replace_on: ClassVar[frozenset[str]] = frozenset()
    create_only: ClassVar[frozenset[str]] = frozenset()
    delete_before_replace: ClassVar[bool] = False

    def check_live(self, ctx: Context, inputs: dict[str, Any]) -> list[tuple[str, str]]:
        """Checks at preview that need the API (e.g. the project exists); only known values are given."""
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
    """Base of the public resources: registers inputs plus every output name with the kind's provider."""

    _kind: ClassVar[type[Kind]]

    organization: pulumi.Output[str]
    schema_version: pulumi.Output[int]

    def __init__(self, resource_name: str, inputs: dict[str, Any], opts: pulumi.ResourceOptions | None = None) -> None:
        kind = self._kind
        props: dict[str, Any] = {k: _plain(v) for k, v in inputs.items() if v is not None}
        for name in (*kind.inputs.model_fields, *kind.computed, "organization", "schema_version"):
            props.setdefault(name, None)
        providers = importlib.import_module("pulumi_openai_billing.providers")
        provider = getattr(providers, f"{kind.name}Provider")()
        super().__init__(provider, resource_name, props, opts)
