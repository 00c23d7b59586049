"""One read of an account's billing configuration: its projects, the organization's and each active project's
limit and alerts, and the auto-reload policy where the billing extension has one. ``get_billing_overview``,
``export``, ``simulate --live`` and ``plan-report`` read the account here, through the read functions."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from ._api import config
from .functions import (
    Project,
    SpendAlert,
    SpendLimit,
    TopUpPolicy,
    get_spend_limit,
    get_top_up_policy,
    list_projects,
    list_spend_alerts,
)
from .model.config import AlertConfig, BillingConfig, OrganizationConfig, ProjectConfig, TopUpConfig

__all__ = ["Account", "Scope", "config_of", "read_account"]


@dataclass(frozen=True)
class Scope:
    """The organization (``project`` None) or one active project, with its live limit and alerts."""

    project: Project | None
    limit: SpendLimit | None
    alerts: tuple[SpendAlert, ...]

    @property
    def empty(self) -> bool:
        return self.limit is None and not self.alerts


@dataclass(frozen=True)
class Account:
    settings: config.Settings
    organization: Scope
    projects: tuple[Scope, ...]
    """Active projects, oldest first (ties in the API's order)."""
    archived: tuple[Project, ...]
    top_up: TopUpPolicy | None = None


def _sorted(alerts: Iterable[SpendAlert]) -> tuple[SpendAlert, ...]:
    return tuple(sorted(alerts, key=lambda a: (a.threshold_cents, a.recipients, a.subject_prefix or "", a.id)))


def read_account(settings: config.Settings, *, top_up: bool = False) -> Account:
    """Projects, limits and alerts (and, when asked, an enabled auto-reload policy), through the same functions
    programs use: the same settings, pacing and errors."""
    every = sorted(list_projects(include_archived=True), key=lambda p: p.created_at or 0)
    active = [p for p in every if p.status != "archived" and p.archived_at is None]
    policy = get_top_up_policy() if top_up else None
    return Account(
        settings=settings,
        organization=Scope(None, get_spend_limit(), _sorted(list_spend_alerts())),
        projects=tuple(Scope(p, get_spend_limit(p.id), _sorted(list_spend_alerts(p.id))) for p in active),
        archived=tuple(p for p in every if p not in active),
        top_up=policy if policy is not None and policy.enabled else None,
    )


def config_of(account: Account) -> BillingConfig:
    """The account as a billing configuration (the file ``simulate`` and ``export --format yaml`` read)."""

    def alerts(scope: Scope) -> tuple[AlertConfig, ...]:
        return tuple(
            AlertConfig(
                threshold_usd=Decimal(a.threshold_usd), recipients=a.recipients, subject_prefix=a.subject_prefix
            )
            for a in scope.alerts
        )

    def limit(scope: Scope) -> Decimal | None:
        return Decimal(scope.limit.monthly_limit_usd) if scope.limit else None

    names = [s.project.name for s in account.projects if s.project]
    projects = {}
    for scope in account.projects:
        assert scope.project is not None
        name = scope.project.name
        key = name if names.count(name) == 1 else f"{name} ({scope.project.id})"
        projects[key] = ProjectConfig(project_id=scope.project.id, monthly_limit_usd=limit(scope), alerts=alerts(scope))
    organization = OrganizationConfig(
        monthly_limit_usd=limit(account.organization), alerts=alerts(account.organization)
    )
    billing = BillingConfig(organization=organization, projects=projects)
    if account.top_up is None:
        return billing
    top_up = TopUpConfig(
        balance_threshold_usd=Decimal(account.top_up.balance_threshold_usd),
        target_balance_usd=Decimal(account.top_up.target_balance_usd),
        monthly_reload_limit_usd=Decimal(account.top_up.monthly_reload_limit_usd),
    )
    return billing.model_copy(update={"top_up": top_up})
