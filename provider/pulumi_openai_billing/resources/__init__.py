"""The resource kinds: one module per family (input model, CRUD, public class), and ``KINDS``, the one list of
them that the providers, ``schema``, the policy pack, ``plan-report`` and the tests read."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from pydantic.alias_generators import to_camel

from ._guardrails import SPEND_MARGIN, SPEND_MARGIN_PERCENT
from ._kind import Kind
from ._resource import TYPE_MODULE, TYPE_PREFIX
from .api_key_spend_limits import ApiKeySpendLimitKind
from .credit_purchases import CreditPurchaseKind
from .hosted_tools import ProjectHostedToolsKind
from .model_permissions import ProjectModelPermissionsKind
from .payment_methods import DefaultPaymentMethodKind, PaymentMethodKind
from .projects import ProjectKind
from .rate_limits import ProjectRateLimitKind
from .service_tiers import ProjectServiceTiersKind
from .spend_alerts import OrganizationSpendAlertKind, ProjectSpendAlertKind
from .spend_limits import OrganizationSpendLimitKind, ProjectSpendLimitKind
from .top_up import CreditTopUpPolicyKind

__all__ = [
    "ALERT_KINDS",
    "BOOKKEEPING",
    "KEY_LIMIT_KINDS",
    "KINDS",
    "LIMIT_KINDS",
    "PLUGIN_PREFIX",
    "SPEND_MARGIN",
    "SPEND_MARGIN_PERCENT",
    "TYPE_MODULE",
    "TYPE_PREFIX",
    "Kind",
    "kind_of",
    "model_props",
    "schema_names",
    "type_token",
    "wire_names",
]

KINDS: tuple[Kind, ...] = (
    ProjectKind(),
    OrganizationSpendLimitKind(),
    ProjectSpendLimitKind(),
    ApiKeySpendLimitKind(),
    OrganizationSpendAlertKind(),
    ProjectSpendAlertKind(),
    PaymentMethodKind(),
    DefaultPaymentMethodKind(),
    CreditTopUpPolicyKind(),
    CreditPurchaseKind(),
    ProjectModelPermissionsKind(),
    ProjectHostedToolsKind(),
    ProjectServiceTiersKind(),
    ProjectRateLimitKind(),
)
"""Every resource kind, once. A new kind is added here (and in its own module): nothing else lists them."""

LIMIT_KINDS = frozenset(k.name for k in KINDS if k.family == "limit")
ALERT_KINDS = frozenset(k.name for k in KINDS if k.family == "alert")
KEY_LIMIT_KINDS = frozenset(k.name for k in KINDS if k.family == "key_limit")
"""Limits on one project API key: inside a project's limit, never a scope of their own."""


def type_token(name: str) -> str:
    """``pulumi-python:dynamic/openai-billing:OrganizationSpendLimit`` for a kind's name."""
    return TYPE_PREFIX + name


PLUGIN_PREFIX = f"{TYPE_MODULE}:index:"
"""The provider plugin's type tokens (programs in every other language): this plus the kind's name."""
BOOKKEEPING = {"organization": "organization", "schema_version": "schemaVersion"}
"""Outputs every resource has besides its model's: the organization it was made in, the version of its shape."""


def wire_names(fields: Iterable[str]) -> dict[str, str]:
    """``{"monthly_limit_usd": "monthlyLimitUsd", …}``: each model field's name in the package schema (Pulumi's
    camelCase, what the plugin, the SDKs and YAML programs speak). One field, one name."""
    names = {name: to_camel(name) for name in fields}
    if len(set(names.values())) != len(names):
        raise ValueError(f"two fields share a schema name: {sorted(names)}")
    return names


def schema_names(kind: Kind) -> dict[str, str]:
    """Every property of the kind, schema name -> model name (inputs, computed outputs and bookkeeping)."""
    fields = [*kind.inputs.model_fields, *kind.outputs.model_fields]
    return {wire: name for name, wire in {**wire_names(fields), **BOOKKEEPING}.items()}


_SCHEMA_NAMES = {kind.name: schema_names(kind) for kind in KINDS}


def kind_of(resource_type: str) -> str | None:
    """The kind's name for one of this package's type tokens (the Python dynamic resource's or the plugin's),
    else None."""
    for prefix in (TYPE_PREFIX, PLUGIN_PREFIX):
        name = resource_type.removeprefix(prefix)
        if resource_type.startswith(prefix) and name in _SCHEMA_NAMES:
            return name
    return None


def model_props(resource_type: str, props: Mapping[str, Any]) -> Mapping[str, Any]:
    """A resource's properties under the model's names, whichever form declared it: the plugin's resources spell
    them as the schema does (``monthlyLimitUsd``), so a policy rule or a report reads both alike. No value is read
    until asked for (a policy's props raise on an unknown one)."""
    kind = kind_of(resource_type)
    if kind is None or not resource_type.startswith(PLUGIN_PREFIX):
        return props
    return _SchemaSpelled(props, _SCHEMA_NAMES[kind])


class _SchemaSpelled(Mapping[str, Any]):
    def __init__(self, props: Mapping[str, Any], names: Mapping[str, str]) -> None:
        self._props = props
        self._model = dict(names)
        self._wire = {model: wire for wire, model in names.items()}

    def __getitem__(self, key: str) -> Any:
        return self._props[self._wire.get(key, key)]

    def __iter__(self) -> Iterator[str]:
        return (self._model.get(key, key) for key in self._props)

    def __len__(self) -> int:
        return len(self._props)
