"""Projects: ``POST organization/projects`` creates one, ``POST organization/projects/{id}`` renames it,
``POST …/archive`` archives it (there is no delete). Names are not unique at OpenAI, so create adopts an active
project of the declared name only when asked, and never makes a second one.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

import pulumi
from pydantic import StrictBool, StringConstraints

from ..errors import OpenAIError, OutcomeUnknown, ProviderError, RequestFailed
from ._fields import InputModel, OutputModel, described
from ._kind import Kind
from ._resource import BillingResource
from ._step import Step

ProjectName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
Residency = Literal[
    "GLOBAL",
    "US_STORAGE_PROCESSING",
    "EU_STORAGE_PROCESSING",
    "JP_STORAGE",
    "JP_STORAGE_PROCESSING",
    "KR_STORAGE",
    "CA_STORAGE",
    "SG_STORAGE",
    "IN_STORAGE",
    "IN_STORAGE_PROCESSING",
    "AU_STORAGE",
    "AU_STORAGE_PROCESSING",
    "GB_STORAGE",
    "AE_STORAGE",
    "AE_STORAGE_PROCESSING",
]
"""OpenAI's project residencies (the ``openai`` SDK's ``ProjectResidency``)."""

PROJECTS = "organization/projects"


class ProjectInputs(InputModel):
    name: Annotated[
        ProjectName,
        described("The project's name, as reports show it; changing it renames the project (an update, same id)."),
    ]
    residency: Annotated[
        Residency | None,
        described(
            "The data residency the project is created with (the organization must have access to it). OpenAI "
            "cannot move a project, so a change is refused at preview. Left out, OpenAI's default applies and the "
            "live residency never diffs."
        ),
    ] = None
    external_key_id: Annotated[
        ProjectName | None,
        described(
            "The external (customer-managed) encryption key the project uses. Left out, the live setting is kept "
            "and never diffs."
        ),
    ] = None
    on_delete: Annotated[
        Literal["retain", "archive"],
        described(
            '"retain" (default) leaves the project on destroy (its keys, limits and traffic go on); "archive" '
            "archives it (OpenAI has no delete: an archived project serves no traffic and cannot be restored)."
        ),
    ] = "retain"
    adopt_existing: Annotated[
        StrictBool,
        described(
            "Manage the active project that already has this name (create refuses otherwise, so a project is never "
            "made twice). Create-only: never diffs."
        ),
    ] = False


class ProjectOutputs(OutputModel):
    status: Annotated[str, described('"active" (an archived project reads as gone).')]
    created_at: Annotated[int, described("When the project was created (Unix seconds).")]


class ProjectKind(Kind):
    """A project, addressed by its id; a name is looked up in the organization's project list."""

    name = "Project"
    family = "project"
    inputs = ProjectInputs
    outputs = ProjectOutputs
    create_only = frozenset({"adopt_existing"})
    managed_when_declared = frozenset({"residency", "external_key_id"})

    # -- preview ----------------------------------------------------------------------------------------
    def check_change(self, olds: dict[str, Any], news: dict[str, Any]) -> list[tuple[str, str]]:
        if None not in (olds.get("residency"), news.get("residency")) and olds["residency"] != news["residency"]:
            return [
                (
                    "residency",
                    f"residency cannot change from {olds['residency']} to {news['residency']}: OpenAI cannot move "
                    "a project. Declare a new Project (with its own name) for the new residency",
                )
            ]
        return []

    def check_live(self, step: Step, inputs: dict[str, Any], olds: dict[str, Any]) -> list[tuple[str, str]]:
        """At preview: create would not duplicate or silently take over a project, and a rename would not make
        two active projects of one name."""
        name = inputs.get("name")
        if name is None:
            return []
        if olds:
            if olds.get("name") == name:
                return []
            taken = named(step.all_projects(), name)
            return (
                [("name", f"name: another active project is already named {name!r} ({_ids(taken)})")] if taken else []
            )
        found = named(step.all_projects(), name)
        return [("name", problem)] if (problem := _adoption_problem(name, found, inputs)) else []

    # -- CRUD -------------------------------------------------------------------------------------------
    def create(self, step: Step, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        name = inputs["name"]
        with step.claims.scope_lock(f"project-name:{name}"):
            found = named(step.all_projects(), name)
            problem = _adoption_problem(name, found, inputs)
            if problem:
                raise ProviderError(problem)
            if found:
                project = found[0]
                if inputs.get("external_key_id") not in (None, project.get("external_key_id")):
                    project = self._post(step, project["id"], {"external_key_id": inputs["external_key_id"]})
            else:
                project = self._create(step, inputs)
            step.figures.amend("projects", lambda projects: {**projects, project["id"]: project})
        return project["id"], self._outputs(project)

    def _create(self, step: Step, inputs: dict[str, Any]) -> dict[str, Any]:
        """One POST; a lost answer is looked for in a fresh project list before anything is sent again."""
        known = set(step.all_projects())
        body = {k: inputs[k] for k in ("name", "residency", "external_key_id") if inputs.get(k) is not None}

        def made_by(lost: OutcomeUnknown) -> dict[str, Any] | None:
            try:
                listed = list(step.client.list_all(PROJECTS))
            except (OpenAIError, RequestFailed) as exc:
                raise ProviderError(
                    f"{lost}; the project may or may not have been created, and listing the projects to find out "
                    f"failed too ({exc}). Run `pulumi up` again with adopt_existing=True if a project named "
                    f"{inputs['name']!r} now exists"
                ) from None
            new = [p for p in listed if p["id"] not in known and p.get("name") == inputs["name"]]
            known.update(p["id"] for p in listed)
            return new[0] if new else None

        return step.client.create(PROJECTS, body, reconcile=made_by)

    def read(self, step: Step, id_: str, olds: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]] | None:
        project = step.all_projects().get(id_) or step.find(f"{PROJECTS}/{id_}")
        if project is None or project.get("status") == "archived" or project.get("archived_at"):
            return None
        live = {"name": project.get("name") or "", "external_key_id": project.get("external_key_id")}
        if project.get("residency") is not None:
            live["residency"] = project["residency"]
        return live, self._outputs(project)

    def update(self, step: Step, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        residency = news.get("residency")
        if residency is not None and olds.get("residency") is None:
            live = (step.all_projects().get(id_) or {}).get("residency")
            if live is not None and live != residency:
                raise ProviderError(f"residency: project {id_} has residency {live}, not {residency}: it cannot move")
        body = {k: news[k] for k in ("name", "external_key_id") if news.get(k) is not None and news[k] != olds.get(k)}
        if not body:
            return self.kept(olds)
        project = self._post(step, id_, body)
        return self._outputs(project)

    def delete(self, step: Step, id_: str, olds: dict[str, Any]) -> None:
        if olds.get("on_delete", "retain") != "archive":
            return
        try:
            step.client.post(f"{PROJECTS}/{id_}/archive", {}, idempotent=True)
        except OpenAIError as exc:
            if not exc.gone:
                raise

    def _post(self, step: Step, id_: str, body: dict[str, Any]) -> dict[str, Any]:
        project = step.client.post(f"{PROJECTS}/{id_}", body, idempotent=True)
        step.figures.amend("projects", lambda projects: {**projects, id_: project})
        return project

    @staticmethod
    def _outputs(project: dict[str, Any]) -> dict[str, Any]:
        return ProjectOutputs.of(status=project.get("status") or "active", created_at=project.get("created_at"))


def named(projects: dict[str, dict[str, Any]], name: str) -> list[dict[str, Any]]:
    """The active projects called ``name``, oldest first."""
    return [p for p in projects.values() if p.get("name") == name and p.get("status", "active") == "active"]


def _ids(projects: list[dict[str, Any]]) -> str:
    return ", ".join(p["id"] for p in projects)


def _adoption_problem(name: str, found: list[dict[str, Any]], inputs: dict[str, Any]) -> str | None:
    """Why create cannot make or take the project named ``name`` (None: it can)."""
    if not found:
        return None
    if not inputs.get("adopt_existing"):
        return (
            f"an active project named {name!r} already exists ({_ids(found)}); set adopt_existing=True to manage it, "
            "or choose another name (a second project of one name is never made)"
        )
    if len(found) > 1:
        return f"{len(found)} active projects are named {name!r} ({_ids(found)}): rename all but one to adopt it"
    residency = inputs.get("residency")
    live = found[0].get("residency")
    if residency is not None and live is not None and live != residency:
        return f"residency: project {found[0]['id']} ({name!r}) has residency {live}, not {residency}: it cannot move"
    return None


class Project(BillingResource):
    """An OpenAI project: made, or adopted by name with ``adopt_existing=True`` (an active project of the name is
    never duplicated). A rename is an update. Pass its ``id`` to every project-scoped resource.

    ``on_delete="retain"`` (the default) leaves the project when the resource is destroyed; ``"archive"``
    archives it. A project archived elsewhere reads as gone.
    """

    _kind: ClassVar = ProjectKind
    name: pulumi.Output[str]
    residency: pulumi.Output[str | None]
    external_key_id: pulumi.Output[str | None]
    on_delete: pulumi.Output[str]
    adopt_existing: pulumi.Output[bool]
    status: pulumi.Output[str]
    created_at: pulumi.Output[int]

    def __init__(
        self,
        resource_name: str,
        *,
        name: pulumi.Input[str],
        residency: pulumi.Input[str] | None = None,
        external_key_id: pulumi.Input[str] | None = None,
        on_delete: pulumi.Input[str] = "retain",
        adopt_existing: pulumi.Input[bool] = False,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(resource_name, locals(), opts)
