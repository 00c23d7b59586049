"""Reusable policy rules for billing stacks (``pulumi_policy``): put them in your own pack, or use
``examples/policy-pack``. Each is configurable through the pack's config and has a sensible default.

A pack sees one stack at a time: the stack rules (``limit-needs-alert``, ``require-organization-limit``,
``project-needs-model-policy``) only see the resources declared in the stack being previewed. Unknown values
(outputs of other resources during preview) are never judged: the framework reports the rule as not run for that
resource.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from ._api.money import MoneyError, format_usd, parse_usd
from .resources import ALERT_KINDS as ALERTS
from .resources import KEY_LIMIT_KINDS as KEY_LIMITS
from .resources import KINDS, kind_of, model_props
from .resources import LIMIT_KINDS as LIMITS
from .resources.rate_limits import MAXIMA

ORGANIZATION = "the organization"


def _family(family: str) -> frozenset[str]:
    return frozenset(k.name for k in KINDS if k.family == family)


PROJECTS, MODEL_POLICIES, TIERS, RATE_LIMITS = (_family(f) for f in ("project", "model_policy", "tiers", "rate_limit"))


def _props(resource: ResourceValidationArgs | PolicyResource) -> Mapping[str, Any]:
    """Its properties under the model's names (a program in another language declares them in camelCase)."""
    return model_props(resource.resource_type, resource.props)


def _dollars(value: object, field: str) -> Decimal:
    """A declared amount, exactly; a value no resource would accept is itself a violation."""
    return parse_usd(value, field)


def _setting(config: Mapping[str, Any] | None, name: str, default: Any) -> Any:
    value = (config or {}).get(name)
    return default if value is None else value


def _scope(props: Mapping[str, Any]) -> str:
    project = props.get("project_id")
    return f"project {project}" if project else ORGANIZATION


def _amount_rule(
    name: str,
    description: str,
    kinds: frozenset[str],
    field: str,
    maximum_usd: int | float | str,
    what: str,
    enforcement_level: EnforcementLevel,
) -> ResourceValidationPolicy:
    """A resource rule refusing ``field`` above a configured ``maximum_usd``."""

    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        if kind_of(args.resource_type) not in kinds:
            return
        maximum = _dollars(_setting(args.get_config(), "maximum_usd", maximum_usd), "maximum_usd")
        try:
            amount = _dollars(_props(args).get(field), field)
        except MoneyError as exc:
            report(f"{args.name}: {exc}", args.urn)
            return
        if amount > maximum:
            report(
                f"{args.name}: {what} of {format_usd(amount)} USD is above the maximum of {format_usd(maximum)} USD",
                args.urn,
            )

    return ResourceValidationPolicy(
        name=name,
        description=description,
        validate=validate,
        enforcement_level=enforcement_level,
        config_schema=PolicyConfigSchema(
            {"maximum_usd": {"type": "number", "default": float(maximum_usd), "description": "In US dollars."}}
        ),
    )


def max_spend_limit(
    maximum_usd: int | float | str = 10000, enforcement_level: EnforcementLevel = EnforcementLevel.MANDATORY
) -> ResourceValidationPolicy:
    """No spend limit (organization or project) above ``maximum_usd`` (config ``maximum_usd``)."""
    return _amount_rule(
        "openai-billing-max-spend-limit",
        "Spend limits must not exceed a maximum.",
        LIMITS,
        "monthly_limit_usd",
        maximum_usd,
        "a monthly spend limit",
        enforcement_level,
    )


def max_credit_purchase(
    maximum_usd: int | float | str = 1000, enforcement_level: EnforcementLevel = EnforcementLevel.MANDATORY
) -> ResourceValidationPolicy:
    """No ``CreditPurchase`` above ``maximum_usd`` (config ``maximum_usd``)."""
    return _amount_rule(
        "openai-billing-max-credit-purchase",
        "Credit purchases must not exceed a maximum.",
        frozenset({"CreditPurchase"}),
        "amount_usd",
        maximum_usd,
        "a credit purchase",
        enforcement_level,
    )


def alert_recipient_domains(
    allowed_domains: Iterable[str] = (), enforcement_level: EnforcementLevel = EnforcementLevel.MANDATORY
) -> ResourceValidationPolicy:
    """Alert recipients only at ``allowed_domains`` (config ``allowed_domains``; case-insensitive; an empty
    list allows every domain, so the rule does nothing until a pack configures it)."""
    default = [d.lower() for d in allowed_domains]

    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        if kind_of(args.resource_type) not in ALERTS:
            return
        allowed = {str(d).strip().lower().lstrip("@") for d in _setting(args.get_config(), "allowed_domains", default)}
        if not allowed:
            return
        recipients = _props(args).get("recipients") or []
        outside = sorted(str(r) for r in recipients if str(r).rpartition("@")[2].strip().lower() not in allowed)
        if outside:
            report(
                f"{args.name}: alert recipients outside the allowed domains ({', '.join(sorted(allowed))}): "
                f"{', '.join(outside)}",
                args.urn,
            )

    return ResourceValidationPolicy(
        name="openai-billing-alert-recipient-domains",
        description="Spend alerts may only e-mail addresses at allowed domains.",
        validate=validate,
        enforcement_level=enforcement_level,
        config_schema=PolicyConfigSchema(
            {
                "allowed_domains": {
                    "type": "array",
                    "items": {"type": "string"},
                    "default": default,
                    "description": "Domains such as example.com; empty allows every domain.",
                }
            }
        ),
    )


def _billing(resources: Iterable[Any], kinds: frozenset[str]) -> list[Any]:
    return [r for r in resources if kind_of(r.resource_type) in kinds]


def limit_needs_alert(
    alert_at_or_below_percent: int | float = 80, enforcement_level: EnforcementLevel = EnforcementLevel.MANDATORY
) -> StackValidationPolicy:
    """Every limit in the stack has an alert in its scope at or below ``alert_at_or_below_percent`` of it
    (config ``alert_at_or_below_percent``): traffic should never stop without a warning first."""

    def validate(args: StackValidationArgs, report: ReportViolation) -> None:
        percent = Decimal(str(_setting(args.get_config(), "alert_at_or_below_percent", alert_at_or_below_percent)))
        thresholds: dict[str, list[Decimal]] = {}
        for alert in _billing(args.resources, ALERTS):
            try:
                thresholds.setdefault(_scope(_props(alert)), []).append(
                    _dollars(_props(alert).get("threshold_usd"), "threshold_usd")
                )
            except MoneyError:
                continue
        for limit in _billing(args.resources, LIMITS):
            scope = _scope(_props(limit))
            try:
                amount = _dollars(_props(limit).get("monthly_limit_usd"), "monthly_limit_usd")
            except MoneyError as exc:
                report(f"{limit.name}: {exc}", limit.urn)
                continue
            needed = (amount * percent / 100).quantize(Decimal("0.01"))
            found = sorted(thresholds.get(scope, []))
            if not any(t <= needed for t in found):
                shown = ", ".join(f"{format_usd(t)} USD" for t in found) or "none"
                report(
                    f"{limit.name}: the spend limit of {scope} ({format_usd(amount)} USD) needs an alert at or below "
                    f"{percent.normalize():f}% of it ({format_usd(needed)} USD) in this stack; alerts found: {shown}",
                    limit.urn,
                )

    return StackValidationPolicy(
        name="openai-billing-limit-needs-alert",
        description="Every spend limit has a spend alert below it in the same scope.",
        validate=validate,
        enforcement_level=enforcement_level,
        config_schema=PolicyConfigSchema(
            {"alert_at_or_below_percent": {"type": "number", "default": alert_at_or_below_percent}}
        ),
    )


def key_limit_within_project_limit(
    enforcement_level: EnforcementLevel = EnforcementLevel.ADVISORY,
) -> StackValidationPolicy:
    """Warn when an API key's limit is above its project's limit in the same stack: the project's limit stops the
    key's traffic first, so the key's can never be reached (a sign one of the two is mistyped)."""

    def validate(args: StackValidationArgs, report: ReportViolation) -> None:
        projects: dict[str, Decimal] = {}
        for limit in _billing(args.resources, LIMITS):
            project = _props(limit).get("project_id")
            try:
                if project:
                    projects[str(project)] = _dollars(_props(limit).get("monthly_limit_usd"), "monthly_limit_usd")
            except MoneyError:
                continue
        for key_limit in _billing(args.resources, KEY_LIMITS):
            project = str(_props(key_limit).get("project_id"))
            if project not in projects:
                continue
            try:
                amount = _dollars(_props(key_limit).get("monthly_limit_usd"), "monthly_limit_usd")
            except MoneyError as exc:
                report(f"{key_limit.name}: {exc}", key_limit.urn)
                continue
            if amount > projects[project]:
                report(
                    f"{key_limit.name}: the limit of API key {_props(key_limit).get('api_key_id')} "
                    f"({format_usd(amount)} USD) is above the spend limit of project {project} "
                    f"({format_usd(projects[project])} USD) in this stack, so it can never be reached",
                    key_limit.urn,
                )

    return StackValidationPolicy(
        name="openai-billing-key-limit-within-project-limit",
        description="An API key's spend limit is not above its project's spend limit.",
        validate=validate,
        enforcement_level=enforcement_level,
    )


def require_organization_limit(
    enforcement_level: EnforcementLevel = EnforcementLevel.DISABLED,
) -> StackValidationPolicy:
    """The stack declares an ``OrganizationSpendLimit``. Off by default: turn it on (config
    ``{"enforcementLevel": "mandatory"}``) only for the one stack that owns the organization's billing."""

    def validate(args: StackValidationArgs, report: ReportViolation) -> None:
        if not _billing(args.resources, frozenset({"OrganizationSpendLimit"})):
            report("this stack owns the organization's billing but declares no OrganizationSpendLimit", None)

    return StackValidationPolicy(
        name="openai-billing-require-organization-limit",
        description="The stack that owns the organization declares its spend limit.",
        validate=validate,
        enforcement_level=enforcement_level,
    )


def _projects_named(resource: Any) -> list[str]:
    """How ``resource`` names its project: the URNs of the stack's resources its ``project_id`` comes from (a
    ``Project``'s id), else the id it holds (an unknown id without such a resource is not judged)."""
    dependencies = resource.property_dependencies
    urns = [d.urn for d in dependencies.get("project_id") or dependencies.get("projectId") or []]
    if urns:
        return urns
    project = _props(resource).get("project_id")
    return [str(project)] if project else []


def project_needs_model_policy(
    enforcement_level: EnforcementLevel = EnforcementLevel.ADVISORY,
) -> StackValidationPolicy:
    """Every project the stack governs (each ``Project``, and each project with a spend limit) has a
    ``ProjectModelPermissions`` in the stack: which models a project may call is a decision, not a default. A
    project is recognised by how the program names it: the same ``Project`` resource (its ``id``), or the same
    project id. Advisory by default (stacks written before the kind existed warn, not fail)."""

    def validate(args: StackValidationArgs, report: ReportViolation) -> None:
        governed = {p for policy in _billing(args.resources, MODEL_POLICIES) for p in _projects_named(policy)}
        needing: dict[str, Any] = {p.urn: p for p in _billing(args.resources, PROJECTS)}
        for limit in _billing(args.resources, LIMITS):
            for project in _projects_named(limit):
                needing.setdefault(project, limit)
        for key, resource in needing.items():
            if key in governed:
                continue
            if kind_of(resource.resource_type) in PROJECTS:
                what = f"project {_props(resource).get('name')!r}"
            else:
                what = f"the project of its spend limit ({_props(resource).get('project_id')})"
            report(
                f"{resource.name}: {what} has no ProjectModelPermissions in this stack: declare which models it may "
                "call (an allow-list, or a deny-list)",
                resource.urn,
            )

    return StackValidationPolicy(
        name="openai-billing-project-needs-model-policy",
        description="Every project the stack governs declares which models it may call.",
        validate=validate,
        enforcement_level=enforcement_level,
    )


def denied_default_tiers(
    denied_tiers: Iterable[str] = ("scale",), enforcement_level: EnforcementLevel = EnforcementLevel.MANDATORY
) -> ResourceValidationPolicy:
    """No ``ProjectServiceTiers`` makes a denied tier its ``default`` (config ``denied_tiers``; default
    ``["scale"]``): every request that picks no tier would be billed at it."""
    default = [str(t).lower() for t in denied_tiers]

    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        if kind_of(args.resource_type) not in TIERS:
            return
        denied = {str(t).strip().lower() for t in _setting(args.get_config(), "denied_tiers", default)}
        tier = _props(args).get("default")
        if tier is not None and str(tier).lower() in denied:
            report(
                f"{args.name}: the default service tier {tier} is denied (denied: {', '.join(sorted(denied))}): "
                "every request that picks no tier would be billed at it",
                args.urn,
            )

    return ResourceValidationPolicy(
        name="openai-billing-denied-default-tiers",
        description="No project defaults to a denied service tier.",
        validate=validate,
        enforcement_level=enforcement_level,
        config_schema=PolicyConfigSchema(
            {
                "denied_tiers": {
                    "type": "array",
                    "items": {"type": "string"},
                    "default": default,
                    "description": 'Default tiers no project may have ("standard", "fast", "scale").',
                }
            }
        ),
    )


def _whole(value: object) -> int | None:
    """A declared maximum as an integer (the engine sends numbers as floats), or None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value if isinstance(value, int) else None


def max_rate_limits(
    ceilings: Mapping[str, int] | None = None, enforcement_level: EnforcementLevel = EnforcementLevel.MANDATORY
) -> ResourceValidationPolicy:
    """No ``ProjectRateLimit`` maximum above its ceiling (config: one property per maximum, such as
    ``max_tokens_per_1_minute``). A maximum without a ceiling is not judged, so the rule does nothing until a pack
    configures it."""
    default = dict(ceilings or {})
    unknown = sorted(set(default) - set(MAXIMA))
    if unknown:
        raise ValueError(f"max_rate_limits: no maximum {', '.join(unknown)} (the maxima: {', '.join(MAXIMA)})")

    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        if kind_of(args.resource_type) not in RATE_LIMITS:
            return
        config = args.get_config()
        above = []
        for field in MAXIMA:
            ceiling, value = _setting(config, field, default.get(field)), _props(args).get(field)
            if ceiling is None or value is None:
                continue
            number = _whole(value)
            if number is None:
                report(f"{args.name}: {field} must be a whole number, got {value!r}", args.urn)
                return
            if number > ceiling:
                whole = _whole(ceiling)
                above.append(f"{field} {number:,} > {ceiling if whole is None else whole:,}")
        if above:
            report(
                f"{args.name}: the {_props(args).get('model')} rate limit is above its ceilings: {', '.join(above)}",
                args.urn,
            )

    properties = {
        field: {
            "type": "integer",
            "minimum": 0,
            "description": f"The most a ProjectRateLimit may declare for {field}; unset, it is not judged.",
            **({"default": default[field]} if field in default else {}),
        }
        for field in MAXIMA
    }
    return ResourceValidationPolicy(
        name="openai-billing-max-rate-limits",
        description="Rate-limit maxima must not exceed their ceilings.",
        validate=validate,
        enforcement_level=enforcement_level,
        config_schema=PolicyConfigSchema(properties),
    )


def all_policies(**overrides: Any) -> list[ResourceValidationPolicy | StackValidationPolicy]:
    """Every rule with its defaults; ``overrides`` map a factory name to its keyword arguments, e.g.
    ``all_policies(max_spend_limit={"maximum_usd": 50000})``."""
    factories: dict[str, Callable[..., Any]] = {
        "max_spend_limit": max_spend_limit,
        "limit_needs_alert": limit_needs_alert,
        "alert_recipient_domains": alert_recipient_domains,
        "max_credit_purchase": max_credit_purchase,
        "require_organization_limit": require_organization_limit,
        "key_limit_within_project_limit": key_limit_within_project_limit,
        "project_needs_model_policy": project_needs_model_policy,
        "denied_default_tiers": denied_default_tiers,
        "max_rate_limits": max_rate_limits,
    }
    unknown = set(overrides) - set(factories)
    if unknown:
        raise TypeError(f"no such rule: {', '.join(sorted(unknown))} (rules: {', '.join(factories)})")
    return [factory(**overrides.get(name, {})) for name, factory in factories.items()]
