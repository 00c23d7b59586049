"""The resource kinds: one module per family (input model, CRUD, public class), and ``KINDS``, the one list of
them that the providers, ``schema``, the policy pack, ``plan-report`` and the tests read."""

from __future__ import annotations

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
    "KEY_LIMIT_KINDS",
    "KINDS",
    "LIMIT_KINDS",
    "SPEND_MARGIN",
    "SPEND_MARGIN_PERCENT",
    "TYPE_MODULE",
    "TYPE_PREFIX",
    "Kind",
    "kind_of",
    "type_token",
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


def kind_of(resource_type: str) -> str | None:
    """The kind's name for one of this package's type tokens, else None."""
    name = resource_type.removeprefix(TYPE_PREFIX)
    return name if resource_type.startswith(TYPE_PREFIX) and name in {k.name for k in KINDS} else None
