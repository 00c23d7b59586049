"""One read of an account's billing configuration, through the read functions programs use: its projects, the
organization's and each active project's limit and alerts, and, when asked, an enabled auto-reload policy, the
limits of the projects' API keys, and each project's cost controls (model policy, hosted tools, service tiers and,
when asked apart, rate limits).
``export`` and ``simulate --live`` read the account here; ``get_billing_overview`` adds the month's spend and the
credit balance."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from decimal import Decimal

from ._api.costs import spend_by_project
from ._api.money import from_cents
from ._api.months import month_bounds, month_name
from .errors import CostsError, ProviderError
from .functions import (
    ApiKey,
    ProjectInfo,
    SpendAlert,
    SpendLimit,
    TopUpPolicy,
    get_spend_limit,
    get_top_up_policy,
    list_projects,
    list_spend_alerts,
)
from .model.config import AlertConfig, ApiKeyConfig, BillingConfig, OrganizationConfig, ProjectConfig, TopUpConfig
from .resources._step import Step, current_step
from .resources._wire import cents_field, check_currency
from .resources.hosted_tools import TOOLS, ProjectHostedToolsKind
from .resources.model_permissions import ProjectModelPermissionsKind
from .resources.rate_limits import MAXIMA, ProjectRateLimitKind
from .resources.service_tiers import ALL, ProjectServiceTiersKind

__all__ = [
    "Account",
    "BillingOverview",
    "ModelPolicy",
    "ProjectControls",
    "RateLimit",
    "Scope",
    "ScopeOverview",
    "ServiceTiers",
    "config_of",
    "get_billing_overview",
    "read_account",
]


@dataclass(frozen=True)
class ModelPolicy:
    """A project's model policy: only these models (``allow_list``) or all but these (``deny_list``)."""

    mode: str
    model_ids: tuple[str, ...]


@dataclass(frozen=True)
class ServiceTiers:
    default: str
    enabled_tiers: tuple[str, ...]
    """The tiers enabled besides Standard, or ``("all",)``: every tier, future ones too."""


@dataclass(frozen=True)
class RateLimit:
    """A project's rate limit for one model: the maxima the model has, by name, in ``MAXIMA``'s order."""

    model: str
    maxima: tuple[tuple[str, int], ...]


UNTOUCHED_TIERS = ServiceTiers("standard", (ALL,))
"""What a project never changed answers: the Standard default, every tier enabled (every tool is enabled, too, and
there is no model policy)."""


@dataclass(frozen=True)
class ProjectControls:
    """A project's cost controls, each None where the project has what a project never changed has (no model
    policy, every hosted tool on, the Standard default tier with every tier enabled); rate limits only when read."""

    model_policy: ModelPolicy | None = None
    hosted_tools: tuple[tuple[str, bool], ...] | None = None
    """Every tool's switch (``TOOLS``' order), when one is off."""
    service_tiers: ServiceTiers | None = None
    rate_limits: tuple[RateLimit, ...] = ()
    """Every model's rate limit, by model name (read only when asked: their defaults cannot be told apart)."""

    @property
    def empty(self) -> bool:
        return (
            self.model_policy is None
            and self.hosted_tools is None
            and self.service_tiers is None
            and not self.rate_limits
        )


@dataclass(frozen=True)
class Scope:
    """The organization (``project`` None) or one active project, with its live limit and alerts (and, when read,
    its API keys that have a limit of their own and its cost controls)."""

    project: ProjectInfo | None
    limit: SpendLimit | None
    alerts: tuple[SpendAlert, ...]
    api_keys: tuple[ApiKey, ...] = ()
    controls: ProjectControls = ProjectControls()

    @property
    def empty(self) -> bool:
        return self.limit is None and not self.alerts


@dataclass(frozen=True)
class Account:
    organization: Scope
    projects: tuple[Scope, ...]
    """Active projects, oldest first (ties in the API's order)."""
    archived: tuple[ProjectInfo, ...]
    top_up: TopUpPolicy | None = None


def _sorted(alerts: Iterable[SpendAlert]) -> tuple[SpendAlert, ...]:
    return tuple(sorted(alerts, key=lambda a: (a.threshold_cents, a.recipients, a.subject_prefix or "", a.id)))


def read_account(
    *, top_up: bool = False, api_keys: bool = False, controls: bool = False, rate_limits: bool = False
) -> Account:
    """Projects, limits and alerts (and, when asked, an enabled auto-reload policy and the API keys' limits: one
    more paced request per active project; the projects' controls: three more, and their rate limits one more
    list), through the same functions programs use: the same settings (those in force here), pacing and
    errors."""
    every = sorted(list_projects(include_archived=True), key=lambda p: p.created_at or 0)
    active = [p for p in every if p.status != "archived" and p.archived_at is None]
    policy = get_top_up_policy() if top_up else None

    def scope(p: ProjectInfo) -> Scope:
        limited = _limited_keys(p.id) if api_keys else ()
        found = Scope(p, get_spend_limit(p.id), _sorted(list_spend_alerts(p.id)), limited)
        if not (controls or rate_limits):
            return found
        return replace(found, controls=_controls(current_step(), p.id, settings=controls, rate_limits=rate_limits))

    return Account(
        organization=Scope(None, get_spend_limit(), _sorted(list_spend_alerts())),
        projects=tuple(scope(p) for p in active),
        archived=tuple(p for p in every if p not in active),
        top_up=policy if policy is not None and policy.enabled else None,
    )


def _limited_keys(project_id: str) -> tuple[ApiKey, ...]:
    """The project's API keys that have a limit of their own, by id (every page of the key list)."""
    path = f"organization/projects/{project_id}/api_keys"
    keys = (ApiKey.from_api(project_id, obj) for obj in current_step().client.list_all(path, _ANY_OWNER))
    return tuple(sorted((k for k in keys if k.monthly_limit_usd is not None), key=lambda k: k.id))


_ANY_OWNER = {"owner_project_access": "any"}
"""As ``get_api_key`` lists them: users' and service accounts' keys alike."""

_MODELS, _TOOLS, _TIERS, _RATES = (
    ProjectModelPermissionsKind(),
    ProjectHostedToolsKind(),
    ProjectServiceTiersKind(),
    ProjectRateLimitKind(),
)


def _controls(step: Step, project_id: str, *, settings: bool, rate_limits: bool) -> ProjectControls:
    """The project's controls that differ from a project never changed (``settings``), and every model's rate
    limit (``rate_limits``), read as the resources read them."""
    found = ProjectControls()
    if settings:
        policy = _MODELS.live(step, project_id)
        if policy is not None:
            held = _MODELS.live_inputs(policy, project_id)
            found = replace(found, model_policy=ModelPolicy(str(held["mode"]), tuple(held["model_ids"])))
        tools = _TOOLS.live(step, project_id)
        if tools is not None:
            switches = _TOOLS.live_inputs(tools, project_id)
            if not all(switches[tool] for tool in TOOLS):
                found = replace(found, hosted_tools=tuple((tool, bool(switches[tool])) for tool in TOOLS))
        tiers = _TIERS.live(step, project_id)
        if tiers is not None:
            held = _TIERS.live_inputs(tiers, project_id)
            live = ServiceTiers(str(held["default"]), tuple(held["enabled_tiers"]))
            found = replace(found, service_tiers=None if live == UNTOUCHED_TIERS else live)
    if rate_limits:
        listed = _RATES.listed(step, project_id)
        limits = (
            RateLimit(model, tuple((name, int(limit[name])) for name in MAXIMA if limit.get(name) is not None))
            for model, limit in sorted(listed.items())
        )
        found = replace(found, rate_limits=tuple(limits))
    return found


@dataclass(frozen=True)
class ScopeOverview:
    """One scope (the organization when ``project_id`` is None): its spend, limit and alerts."""

    project_id: str | None
    name: str
    month_to_date_spend_usd: Decimal
    spend_limit: SpendLimit | None
    spend_alerts: tuple[SpendAlert, ...]


@dataclass(frozen=True)
class BillingOverview:
    """The account at a glance. Credit figures are None where the API has no billing extension."""

    organization: str
    month: str
    month_to_date_spend_usd: Decimal
    credit_balance_usd: Decimal | None
    top_up_policy: TopUpPolicy | None
    scopes: tuple[ScopeOverview, ...]


def get_billing_overview(now: datetime | None = None) -> BillingOverview:
    """Month-to-date spend (from the costs endpoint), limits and alerts of the organization and of every
    active project, and, where the billing extension exists, the credit balance and top-up policy."""
    step = current_step()
    start, end = month_bounds(now or datetime.now(timezone.utc))
    try:
        spend = spend_by_project(step.client, start, end)
    except CostsError as exc:
        raise ProviderError(str(exc)) from None
    total = sum(spend.values(), Decimal(0))
    account = read_account()
    org = account.organization
    scopes = [ScopeOverview(None, step.organization, total, org.limit, org.alerts)]
    for scope in account.projects:
        assert scope.project is not None
        project_id = scope.project.id
        scopes.append(
            ScopeOverview(project_id, scope.project.name, spend.get(project_id, Decimal(0)), scope.limit, scope.alerts)
        )
    balance = None
    if "credit_balance" in (step.extension() or frozenset()):
        answer = step.client.get("organization/billing/credit_balance")
        check_currency(answer, "the credit balance")
        balance = from_cents(cents_field(answer, "available_amount"))
    return BillingOverview(
        organization=step.organization,
        month=month_name(start),
        month_to_date_spend_usd=total,
        credit_balance_usd=balance,
        top_up_policy=get_top_up_policy(),
        scopes=tuple(scopes),
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
        api_keys = {
            k.id: ApiKeyConfig.model_validate({"monthly_limit_usd": k.monthly_limit_usd}) for k in scope.api_keys
        }
        projects[key] = ProjectConfig(
            project_id=scope.project.id, monthly_limit_usd=limit(scope), alerts=alerts(scope), api_keys=api_keys
        )
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
