"""OpenAI billing configuration as Pulumi resources: spend limits and alerts (the Admin API), and payment
methods, auto-reload and prepaid credits (the billing extension, experimental)."""

from ._api.costs import CostResult
from ._version import __version__
from .account import BillingOverview, ScopeOverview, get_billing_overview
from .errors import (
    BillingError,
    ConfigError,
    CostsError,
    OpenAIError,
    OutcomeUnknown,
    ProviderError,
    RequestFailed,
    ThrottleWaitExceeded,
)
from .functions import (
    ApiKey,
    Invoice,
    ProjectInfo,
    SpendAlert,
    SpendLimit,
    TopUpPolicy,
    get_api_key,
    get_costs,
    get_project,
    get_spend_limit,
    get_top_up_policy,
    list_invoices,
    list_projects,
    list_spend_alerts,
)
from .resources.api_key_spend_limits import ApiKeySpendLimit
from .resources.budget import Budget
from .resources.credit_purchases import CreditPurchase
from .resources.hosted_tools import ProjectHostedTools
from .resources.model_permissions import ProjectModelPermissions
from .resources.payment_methods import DefaultPaymentMethod, PaymentMethod
from .resources.projects import Project
from .resources.rate_limits import ProjectRateLimit
from .resources.service_tiers import ProjectServiceTiers
from .resources.spend_alerts import OrganizationSpendAlert, ProjectSpendAlert
from .resources.spend_limits import OrganizationSpendLimit, ProjectSpendLimit
from .resources.top_up import CreditTopUpPolicy

__all__ = [
    "ApiKey",
    "ApiKeySpendLimit",
    "BillingError",
    "BillingOverview",
    "Budget",
    "ConfigError",
    "CostResult",
    "CostsError",
    "CreditPurchase",
    "CreditTopUpPolicy",
    "DefaultPaymentMethod",
    "Invoice",
    "OpenAIError",
    "OrganizationSpendAlert",
    "OrganizationSpendLimit",
    "OutcomeUnknown",
    "PaymentMethod",
    "Project",
    "ProjectHostedTools",
    "ProjectInfo",
    "ProjectModelPermissions",
    "ProjectRateLimit",
    "ProjectServiceTiers",
    "ProjectSpendAlert",
    "ProjectSpendLimit",
    "ProviderError",
    "RequestFailed",
    "ScopeOverview",
    "SpendAlert",
    "SpendLimit",
    "ThrottleWaitExceeded",
    "TopUpPolicy",
    "__version__",
    "get_api_key",
    "get_billing_overview",
    "get_costs",
    "get_project",
    "get_spend_limit",
    "get_top_up_policy",
    "list_invoices",
    "list_projects",
    "list_spend_alerts",
]
