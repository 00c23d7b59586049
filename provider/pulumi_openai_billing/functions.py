"""Read the live account from a Pulumi program or a script: projects, API keys, limits, alerts, costs, credit.

These run where they are called (the program's process), with the same settings as the provider.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from ._api.costs import CostResult, read_costs
from ._api.money import from_cents
from .errors import CostsError, ProviderError
from .resources._step import Step, current_step
from .resources._wire import cents_field, check_currency, usd_from_cents
from .resources.spend_alerts import ALERT_OF_SCOPE, live_values
from .resources.spend_limits import LIMIT_OF_SCOPE
from .resources.top_up import CreditTopUpPolicyKind


@dataclass(frozen=True)
class ProjectInfo:
    """A project as the Admin API lists it."""

    id: str
    name: str
    status: str
    created_at: int | None
    archived_at: int | None

    @classmethod
    def from_api(cls, obj: dict[str, Any]) -> ProjectInfo:
        return cls(
            obj["id"], obj.get("name", ""), obj.get("status", "active"), obj.get("created_at"), obj.get("archived_at")
        )


@dataclass(frozen=True)
class SpendLimit:
    project_id: str | None
    monthly_limit_usd: str
    monthly_limit_cents: int
    currency: str
    interval: str
    enforcement_status: str
    notify_recipients: tuple[str, ...] = ()
    """Who is e-mailed, besides the owners, when the limit is reached."""
    notify_subject_prefix: str | None = None


@dataclass(frozen=True)
class SpendAlert:
    """A live spend alert of the organization or of a project."""

    id: str
    project_id: str | None
    threshold_usd: str
    threshold_cents: int
    recipients: tuple[str, ...]
    subject_prefix: str | None


def list_projects(*, include_archived: bool = False) -> list[ProjectInfo]:
    """Every project the admin key can see (archived ones only when asked). In a Pulumi program, one read of
    the organization's project list serves every call (``get_project`` by name too); elsewhere each call reads
    it afresh."""
    step = current_step()
    if _in_a_program():
        projects = list(step.all_projects().values())
    else:
        projects = list(step.client.list_all("organization/projects", {"include_archived": "true"}))
    return [ProjectInfo.from_api(p) for p in projects if include_archived or p.get("status") != "archived"]


def _in_a_program() -> bool:
    """Whether this process runs a Pulumi program (a deployment: its reads may be shared)."""
    from pulumi.runtime.settings import get_monitor

    return get_monitor() is not None


def get_project(*, name: str | None = None, id: str | None = None, include_archived: bool = False) -> ProjectInfo:
    """The one project with this name (or id); an error when none or several match."""
    if (name is None) == (id is None):
        raise ValueError("get_project takes exactly one of name= or id=")
    step = current_step()
    if id is not None:
        return ProjectInfo.from_api(step.require_project(id))
    matches = [p for p in list_projects(include_archived=include_archived) if p.name == name]
    if len(matches) != 1:
        found = "no project" if not matches else f"{len(matches)} projects ({', '.join(p.id for p in matches)})"
        raise ProviderError(f"get_project(name={name!r}): {found} with that name in {step.organization}")
    return matches[0]


def get_spend_limit(project_id: str | None = None) -> SpendLimit | None:
    """The live monthly spend limit of the organization (or of a project), or None when there is none."""
    step = current_step()
    kind = LIMIT_OF_SCOPE[project_id is not None]
    live = kind.live(step, project_id)
    if live is None:
        return None
    held = kind.live_inputs(live, project_id)
    return SpendLimit(
        project_id,
        kind.usd(live),
        **kind.live_outputs(live),
        notify_recipients=tuple(held["notify_recipients"]),
        notify_subject_prefix=held["notify_subject_prefix"] or None,
    )


def list_spend_alerts(project_id: str | None = None) -> list[SpendAlert]:
    """The live spend alerts of the organization (or of a project)."""
    alerts = ALERT_OF_SCOPE[project_id is not None].list_live(current_step(), project_id)
    result = []
    for alert in alerts:
        values = live_values(alert)
        result.append(
            SpendAlert(
                alert["id"],
                project_id,
                values["threshold_usd"],
                alert["threshold_amount"],
                tuple(values["recipients"]),
                values["subject_prefix"],
            )
        )
    return result


@dataclass(frozen=True)
class TopUpPolicy:
    enabled: bool
    balance_threshold_usd: str
    target_balance_usd: str
    monthly_reload_limit_usd: str
    payment_method_id: str | None
    reloaded_this_month_usd: str | None
    disabled_reason: str | None


@dataclass(frozen=True)
class Invoice:
    id: str
    amount_usd: Decimal
    status: str
    description: str
    created_at: int
    purchase_id: str | None
    charge_id: str | None


def get_costs(
    start: datetime | int, end: datetime | int | None = None, group_by: Sequence[str] = ()
) -> list[CostResult]:
    """Daily costs from ``GET /organization/costs`` in ``[start, end)``, every page followed, in exact Decimal."""
    try:
        return read_costs(current_step().client, start, end, group_by)
    except CostsError as exc:
        raise ProviderError(str(exc)) from None


def _top_up_policy(step: Step) -> TopUpPolicy | None:
    kind = CreditTopUpPolicyKind()
    live = kind.live(step, None)
    if live is None:
        return None
    values = kind.live_inputs(live, None)
    reloaded = live.get("reloaded_this_month_amount")
    return TopUpPolicy(
        values["enabled"],
        values["balance_threshold_usd"],
        values["target_balance_usd"],
        values["monthly_reload_limit_usd"],
        values["payment_method_id"],
        None if reloaded is None else str(from_cents(cents_field(live, "reloaded_this_month_amount"))),
        live.get("disabled_reason"),
    )


def get_top_up_policy() -> TopUpPolicy | None:
    """The auto-reload policy, or None where there is none or the API has no billing extension."""
    step = current_step()
    return _top_up_policy(step) if "auto_reload" in (step.extension() or frozenset()) else None


def list_invoices() -> list[Invoice]:
    """Invoices of the account (billing extension only: an error names the missing capability)."""
    step = current_step()
    step.require_capability("invoices")
    invoices = []
    for obj in step.client.list_all("organization/billing/invoices"):
        check_currency(obj, f"invoice {obj.get('id')}")
        invoices.append(
            Invoice(
                obj["id"],
                from_cents(cents_field(obj, "amount")),
                str(obj.get("status", "")),
                str(obj.get("description") or ""),
                int(obj.get("created_at") or 0),
                obj.get("purchase_id"),
                obj.get("charge_id"),
            )
        )
    return invoices


@dataclass(frozen=True)
class ApiKey:
    """A project API key as the Admin API shows it (never its secret), with its own monthly limit if any."""

    id: str
    project_id: str
    name: str
    redacted_value: str
    created_at: int | None
    last_used_at: int | None
    owner_type: str | None
    monthly_limit_usd: str | None
    """The key's hard limit in dollars (None: no limit of its own)."""

    @classmethod
    def from_api(cls, project_id: str, obj: dict[str, Any]) -> ApiKey:
        limit = obj.get("spend_limit")
        if isinstance(limit, dict):
            check_currency(limit, f"the spend limit of API key {obj.get('id')}")
        return cls(
            obj["id"],
            project_id,
            str(obj.get("name") or ""),
            str(obj.get("redacted_value") or ""),
            obj.get("created_at"),
            obj.get("last_used_at"),
            (obj.get("owner") or {}).get("type"),
            usd_from_cents(cents_field(limit)) if isinstance(limit, dict) else None,
        )


def get_api_key(project_id: str, *, name: str) -> ApiKey:
    """The one API key of the project with this name; an error naming the ids when none or several match (key
    names are not unique: pass the id you mean to a resource instead)."""
    step = current_step()
    step.require_project(project_id)
    keys = [
        ApiKey.from_api(project_id, obj)
        for obj in step.client.list_all(f"organization/projects/{project_id}/api_keys", {"owner_project_access": "any"})
        if obj.get("name") == name
    ]
    if len(keys) != 1:
        found = "no API key" if not keys else f"{len(keys)} API keys ({', '.join(k.id for k in keys)})"
        raise ProviderError(f"get_api_key(project_id={project_id!r}, name={name!r}): {found} with that name")
    return keys[0]
