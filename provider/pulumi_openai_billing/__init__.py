"""OpenAI billing configuration as Pulumi resources: spend limits and spend alerts, as code."""

__version__ = "0.1.0"

from .functions import (
    Project,
    SpendAlert,
    SpendLimit,
    get_project,
    get_spend_limit,
    list_projects,
    list_spend_alerts,
)
from .resources.spend_alerts import OrganizationSpendAlert, ProjectSpendAlert
from .resources.spend_limits import OrganizationSpendLimit, ProjectSpendLimit

__all__ = [
    "OrganizationSpendAlert",
    "OrganizationSpendLimit",
    "Project",
    "ProjectSpendAlert",
    "ProjectSpendLimit",
    "SpendAlert",
    "SpendLimit",
    "__version__",
    "get_project",
    "get_spend_limit",
    "list_projects",
    "list_spend_alerts",
]
