"""``Budget``: a monthly budget for the organization or one project, as alerts at percentages of it and,
only when asked, a hard limit; for a project, also (when asked) the project itself, its model allow-list and
its hosted-tool switches.

Like every cloud budget it alerts and does not block traffic unless ``hard_limit_percent`` is set. Its
children are ordinary resources, so everything about them (adoption, retention, guardrails) holds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any

import pulumi
from pydantic import AfterValidator, BeforeValidator, Field, StrictBool, StrictStr, ValidationError

from .._api.fields import check_recipients
from .._api.money import MoneyError, format_usd, parse_usd
from ._fields import InputModel, PositiveUsdAmount, ProjectId, described, field_problem
from .hosted_tools import TOOLS, ProjectHostedTools
from .model_permissions import ModelId, ProjectModelPermissions
from .projects import Project, ProjectName
from .spend_alerts import OrganizationSpendAlert, ProjectSpendAlert
from .spend_limits import OrganizationSpendLimit, OrganizationSpendLimitInputs, ProjectSpendLimit

DEFAULT_ALERT_PERCENTS = (50, 80, 100)
_MAX_PERCENT = Decimal(1000)
_CENT = Decimal("0.01")
_LIMIT_OPTIONS = frozenset(OrganizationSpendLimitInputs.model_fields) - {"monthly_limit_usd"}
"""The keyword arguments a Budget passes to its limit: the limit's own, but the amount (the Budget sets it)."""


def _percent(value: object) -> Decimal:
    try:
        percent = parse_usd(value, "percentage", minimum=_CENT)
    except MoneyError as exc:
        raise ValueError(str(exc).replace(" USD", "").replace("dollar amount", "percentage")) from None
    if percent > _MAX_PERCENT:
        raise ValueError(f"percentages must be at most {_MAX_PERCENT}, got {percent.normalize():f}")
    return percent


def _percents(values: object) -> list[str]:
    if not isinstance(values, (list, tuple)) or not values:
        raise ValueError("alert_at_percent must be a non-empty list of percentages such as [50, 80, 100]")
    percents = [_percent(v) for v in values]
    duplicates = sorted({p for p in percents if percents.count(p) > 1})
    if duplicates:
        shown = ", ".join(f"{p.normalize():f}" for p in duplicates)
        raise ValueError(f"alert_at_percent names {shown} more than once: one alert per percentage")
    return [percent_text(p) for p in sorted(percents)]


def _optional_percent(value: object) -> str | None:
    return None if value is None else percent_text(_percent(value))


def _known_tools(switches: dict[str, bool] | None) -> dict[str, bool] | None:
    if switches is None:
        return None
    unknown = sorted(set(switches) - set(TOOLS))
    if unknown:
        raise ValueError(
            f"hosted_tools names {', '.join(repr(t) for t in unknown)}, not a hosted tool; the tools are "
            f"{', '.join(TOOLS)}"
        )
    if not switches:
        raise ValueError(f"hosted_tools must switch at least one tool ({', '.join(TOOLS)}) on or off")
    return switches


def _as_number(text: str) -> int | float:
    """A percentage as the engine shows it (50, 12.5), not as the text it is kept in ("50")."""
    value = Decimal(text)
    return int(value) if value == value.to_integral_value() else float(value)


def percent_text(percent: Decimal) -> str:
    """``80`` for 80, ``12.5`` for 12.50: the spelling used in child names and subject prefixes."""
    return f"{percent.normalize():f}"


class BudgetInputs(InputModel):
    monthly_budget_usd: Annotated[PositiveUsdAmount, described("The budget in US dollars for one UTC calendar month.")]
    recipients: Annotated[
        list[StrictStr], AfterValidator(check_recipients), described("E-mail addresses every alert goes to.")
    ]
    alert_at_percent: Annotated[
        list[str],
        BeforeValidator(_percents),
        described(
            "Percentages of the budget that each send an alert (one child alert per percentage, its threshold "
            "rounded half up to whole cents); duplicates are refused."
        ),
    ] = [str(p) for p in DEFAULT_ALERT_PERCENTS]
    project_id: Annotated[
        ProjectId | None,
        described(
            "The project the budget watches (a project id, or a Project's id output); none (and no project_name) "
            "means the whole organization."
        ),
    ] = None
    project_name: Annotated[
        ProjectName | None,
        described(
            "Make the project the budget watches: a child Project of this name (<name>-project) whose id every other "
            "child uses. Not with project_id."
        ),
    ] = None
    project_adopt_existing: Annotated[
        StrictBool,
        described(
            "With project_name: manage the active project that already has this name (the child Project's "
            "adopt_existing)."
        ),
    ] = False
    allowed_models: Annotated[
        list[ModelId] | None,
        Field(max_length=1000),
        described(
            "The only models the project may call: a child ProjectModelPermissions allow-list (<name>-models). "
            "Needs project_id or project_name."
        ),
    ] = None
    hosted_tools: Annotated[
        dict[str, StrictBool] | None,
        AfterValidator(_known_tools),
        described(
            "Hosted tools switched on (true) or off (false), by name (code_interpreter, file_search, "
            "image_generation, mcp, web_search): a child ProjectHostedTools (<name>-tools); tools left out are not "
            "managed. Needs project_id or project_name."
        ),
    ] = None
    hard_limit_percent: Annotated[
        str | None,
        BeforeValidator(_optional_percent),
        described(
            "Also declare a hard spend limit at this percentage of the budget (traffic is refused once reached). "
            "None (default): the budget only alerts."
        ),
    ] = None


def amount_at(budget_usd: str, percent: str) -> str:
    """``percent`` of ``budget_usd``, rounded half up to whole cents."""
    return format_usd((Decimal(budget_usd) * Decimal(percent) / 100).quantize(_CENT, rounding=ROUND_HALF_UP))


class Budget(pulumi.ComponentResource):
    """A monthly budget: one spend alert per percentage in ``alert_at_percent`` (default 50, 80 and 100%) and,
    when ``hard_limit_percent`` is set, a hard spend limit.

    Children are named ``<name>-alert-<percent>`` and ``<name>-limit``; each alert's default subject prefix
    is ``[budget <name> <percent>%]`` so mail rules can route it. Inputs must be known when the program runs
    (plain values), because they decide which children exist; ``project_id`` alone may be an output (a
    ``Project``'s id). Extra keyword arguments reach the limit
    (``on_delete``, ``adopt_existing``, ``acknowledge_until``, ``warn_if_would_have_blocked_days``; the limit
    e-mails the budget's ``recipients`` when it is reached, prefixed ``[budget <name> limit]``, unless
    ``notify_recipients`` / ``notify_subject_prefix`` say otherwise);
    ``limit_aliases`` moves a limit declared
    before under the budget without recreating it, e.g.
    ``limit_aliases=[pulumi.Alias(name="team-a-limit", parent=pulumi.ROOT_STACK_RESOURCE)]``.

    A project budget can also make its project and govern it: ``project_name`` (instead of ``project_id``) adds a
    child ``Project`` (``<name>-project``; ``project_adopt_existing=True`` takes over the active project of that
    name) whose id every other child uses; ``allowed_models`` adds an allow-list (``<name>-models``, a
    ``ProjectModelPermissions``; with ``project_adopt_existing=True`` it takes over a policy the project has);
    ``hosted_tools`` (``{"web_search": False, …}``) adds the tool switches (``<name>-tools``, a
    ``ProjectHostedTools``).
    """

    limit: ProjectSpendLimit | OrganizationSpendLimit | None
    alerts: dict[str, ProjectSpendAlert | OrganizationSpendAlert]
    project: Project | None
    model_permissions: ProjectModelPermissions | None
    hosted_tools: ProjectHostedTools | None

    def __init__(
        self,
        resource_name: str,
        *,
        monthly_budget_usd: int | float | str | Decimal,
        recipients: list[str],
        alert_at_percent: list[int | float | str | Decimal] | None = None,
        project_id: pulumi.Input[str] | None = None,
        project_name: str | None = None,
        project_adopt_existing: bool = False,
        allowed_models: list[str] | None = None,
        hosted_tools: dict[str, bool] | None = None,
        hard_limit_percent: int | float | str | Decimal | None = None,
        limit_aliases: Sequence[pulumi.Alias | str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
        **limit_options: Any,
    ) -> None:
        # An output (a Project's id) is known only once the project exists: it is passed on as it is.
        project_output = None if project_id is None or isinstance(project_id, str) else project_id
        values: dict[str, Any] = {
            "monthly_budget_usd": str(monthly_budget_usd)
            if isinstance(monthly_budget_usd, Decimal)
            else monthly_budget_usd,
            "recipients": recipients,
            "project_id": None if project_output is not None else project_id,
            "project_name": project_name,
            "project_adopt_existing": project_adopt_existing,
            "allowed_models": list(allowed_models) if isinstance(allowed_models, tuple) else allowed_models,
            "hosted_tools": dict(hosted_tools) if isinstance(hosted_tools, Mapping) else hosted_tools,
            "hard_limit_percent": hard_limit_percent,
        }
        if alert_at_percent is not None:
            values["alert_at_percent"] = list(alert_at_percent)
        try:
            inputs = BudgetInputs.model_validate({k: v for k, v in values.items() if v is not None})
        except ValidationError as exc:
            error = exc.errors()[0]
            prop = str(error["loc"][0]) if error["loc"] else "inputs"
            raise ValueError(f"Budget {resource_name!r}: {field_problem(prop, error)}") from None
        unknown = set(limit_options) - _LIMIT_OPTIONS
        if unknown:
            raise TypeError(f"Budget {resource_name!r} got unexpected arguments: {', '.join(sorted(unknown))}")
        _check_project(resource_name, inputs, has_project_id=project_id is not None)
        hard = inputs.hard_limit_percent
        never = [p for p in inputs.alert_at_percent if hard is not None and Decimal(p) > Decimal(hard)]
        if never:
            raise ValueError(
                f"Budget {resource_name!r}: alerts at {', '.join(p + '%' for p in never)} are above "
                f"hard_limit_percent ({hard}%): traffic stops at the limit, so they could never fire"
            )

        shown: dict[str, Any] = inputs.model_dump(mode="json")
        shown["alert_at_percent"] = [_as_number(p) for p in inputs.alert_at_percent]
        if hard is not None:
            shown["hard_limit_percent"] = _as_number(hard)
        if project_output is not None:
            shown["project_id"] = project_output
        super().__init__("openai-billing:index:Budget", resource_name, shown, opts)
        children = pulumi.ResourceOptions(parent=self)
        self.project = None
        project: pulumi.Input[str] | None = project_output if project_output is not None else inputs.project_id
        if inputs.project_name is not None:
            self.project = self._child(
                "Project",
                f"{resource_name}-project",
                name=inputs.project_name,
                adopt_existing=inputs.project_adopt_existing,
                opts=children,
            )
            project = self.project.id
        child = pulumi.ResourceOptions(parent=self, aliases=list(limit_aliases) if limit_aliases else None)
        self.limit = None
        if hard is not None:
            amount = amount_at(inputs.monthly_budget_usd, hard)
            # The budget's people hear when its hard cap stops traffic, unless the program says otherwise.
            limit_options.setdefault("notify_recipients", inputs.recipients)
            limit_options.setdefault("notify_subject_prefix", f"[budget {resource_name} limit]")
            if project is not None:
                self.limit = self._child(
                    "ProjectSpendLimit",
                    f"{resource_name}-limit",
                    project_id=project,
                    monthly_limit_usd=amount,
                    opts=child,
                    **limit_options,
                )
            else:
                self.limit = self._child(
                    "OrganizationSpendLimit",
                    f"{resource_name}-limit",
                    monthly_limit_usd=amount,
                    opts=child,
                    **limit_options,
                )
        elif limit_options:
            raise TypeError(f"Budget {resource_name!r}: {', '.join(sorted(limit_options))} need hard_limit_percent")
        # Alerts are checked after the limit, so the guardrail sees the limit this program declares.
        alert_opts = pulumi.ResourceOptions(parent=self, depends_on=[self.limit] if self.limit else None)
        self.alerts = {}
        for percent in inputs.alert_at_percent:
            common: dict[str, Any] = {
                "threshold_usd": amount_at(inputs.monthly_budget_usd, percent),
                "recipients": inputs.recipients,
                "subject_prefix": f"[budget {resource_name} {percent}%]",
                "opts": alert_opts,
            }
            name = f"{resource_name}-alert-{percent}"
            self.alerts[percent] = (
                self._child("ProjectSpendAlert", name, project_id=project, **common)
                if project is not None
                else self._child("OrganizationSpendAlert", name, **common)
            )
        self.model_permissions = None
        self.hosted_tools = None
        if project is not None and inputs.allowed_models is not None:
            self.model_permissions = self._child(
                "ProjectModelPermissions",
                f"{resource_name}-models",
                project_id=project,
                model_ids=inputs.allowed_models,
                mode="allow_list",
                adopt_existing=inputs.project_adopt_existing,
                opts=children,
            )
        if project is not None and inputs.hosted_tools is not None:
            self.hosted_tools = self._child(
                "ProjectHostedTools", f"{resource_name}-tools", project_id=project, opts=children, **inputs.hosted_tools
            )
        self.register_outputs(
            {
                "monthly_budget_usd": inputs.monthly_budget_usd,
                "alert_thresholds_usd": {p: amount_at(inputs.monthly_budget_usd, p) for p in inputs.alert_at_percent},
                "monthly_limit_usd": amount_at(inputs.monthly_budget_usd, hard) if hard is not None else None,
                "project_id": project,
            }
        )

    def _child(self, kind: str, resource_name: str, **inputs: Any) -> Any:
        """One child of ``kind``, made with the model's input names: this package's Python class (the provider
        plugin's Budget, which other languages use, makes the plugin's resources instead)."""
        return _CLASSES[kind](resource_name, **inputs)


_CLASSES: dict[str, Any] = {
    cls.__name__: cls
    for cls in (
        Project,
        OrganizationSpendLimit,
        ProjectSpendLimit,
        OrganizationSpendAlert,
        ProjectSpendAlert,
        ProjectModelPermissions,
        ProjectHostedTools,
    )
}


def _check_project(resource_name: str, inputs: BudgetInputs, *, has_project_id: bool) -> None:
    """What the inputs say about the project together: one project, named once; project controls need one."""
    if has_project_id and inputs.project_name is not None:
        raise ValueError(
            f"Budget {resource_name!r}: project_id and project_name are mutually exclusive: project_id watches an "
            "existing project, project_name makes (or with project_adopt_existing=True, adopts) one; pass only one"
        )
    if inputs.project_adopt_existing and inputs.project_name is None:
        raise ValueError(f"Budget {resource_name!r}: project_adopt_existing needs project_name (the project to adopt)")
    needing = [name for name in ("allowed_models", "hosted_tools") if getattr(inputs, name) is not None]
    if needing and not has_project_id and inputs.project_name is None:
        raise ValueError(
            f"Budget {resource_name!r}: {' and '.join(needing)} {'needs' if len(needing) == 1 else 'need'} a "
            "project: pass project_id or project_name (the organization has no model allow-list or tool switches)"
        )
