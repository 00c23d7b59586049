"""Read live billing configuration from a Pulumi program or a script: projects, limits and alerts.

These run where they are called (the program's process), with the same settings as the provider.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .resources._base import Context, ProviderError
from .resources.spend_alerts import OrganizationSpendAlertKind, live_values
from .resources.spend_limits import OrganizationSpendLimitKind


@dataclass(frozen=True)
class Project:
    id: str
    name: str
    status: str
    created_at: int | None
    archived_at: int | None

    @classmethod
    def from_api(cls, obj: dict[str, Any]) -> Project:
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


@dataclass(frozen=True)
class SpendAlert:
    id: str
    project_id: str | None
    threshold_usd: str
    threshold_cents: int
    recipients: tuple[str, ...]
    subject_prefix: str | None


def list_projects(*, include_archived: bool = False) -> list[Project]:
    """Every project the admin key can see (archived ones only when asked)."""
    params = {"include_archived": "true"} if include_archived else None
    return [Project.from_api(p) for p in Context.current().client.list_all("organization/projects", params)]


def get_project(*, name: str | None = None, id: str | None = None, include_archived: bool = False) -> Project:
    """The one project with this name (or id); an error when none or several match."""
    if (name is None) == (id is None):
        raise ValueError("get_project takes exactly one of name= or id=")
    ctx = Context.current()
    if id is not None:
        return Project.from_api(ctx.require_project(id))
    matches = [p for p in list_projects(include_archived=include_archived) if p.name == name]
    if len(matches) != 1:
        found = "no project" if not matches else f"{len(matches)} projects ({', '.join(p.id for p in matches)})"
        raise ProviderError(f"get_project(name={name!r}): {found} with that name in {ctx.organization}")
    return matches[0]


def get_spend_limit(project_id: str | None = None) -> SpendLimit | None:
    """The live monthly spend limit of the organization (or of a project), or None when there is none."""
    ctx = Context.current()
    live = OrganizationSpendLimitKind().live_limit(ctx, project_id)
    if live is None:
        return None
    outputs = OrganizationSpendLimitKind.live_outputs(live)
    return SpendLimit(project_id, OrganizationSpendLimitKind.usd(live), **outputs)


def list_spend_alerts(project_id: str | None = None) -> list[SpendAlert]:
    """The live spend alerts of the organization (or of a project)."""
    alerts = OrganizationSpendAlertKind().list_live(Context.current(), project_id)
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
