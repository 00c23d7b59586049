"""Projects: create (with a residency and an external key), list (archived hidden unless asked), retrieve, update
(name, external key) and archive (again is harmless)."""

from __future__ import annotations

from typing import Annotated, Any, get_args

from fastapi import APIRouter, Query

from . import answers, wire
from .deps import ClockDep, ProjectScope, StoreDep
from .errors import ApiError, project_not_found
from .models import ProjectCreateIn, ProjectListQuery, ProjectUpdateIn
from .store import Store

router = APIRouter()


def _project(store: Store, project_id: str) -> dict[str, Any]:
    row = store.project(project_id)
    if row is None:
        raise project_not_found(project_id)
    return wire.project(row)


@router.get("/organization/projects", response_model=answers.ProjectList)
def list_projects(query: Annotated[ProjectListQuery, Query()], store: StoreDep) -> dict[str, Any]:
    after = None
    if query.after is not None:
        row = store.project(query.after)
        if row is None:
            raise wire.cursor_not_found("after", query.after)
        after = int(row["seq"])
    rows, has_more = wire.cursor_page(
        store.projects(include_archived=query.include_archived), limit=query.limit, after=after
    )
    return wire.list_object([wire.project(r) for r in rows], has_more)


def _residency(body: ProjectCreateIn) -> str | None:
    """The residency a create asks for: ``residency``, or the deprecated ``geography`` (a residency's name, or a
    region such as ``EU``: that region's storage and processing where OpenAI offers both, else its storage)."""
    if body.geography is None:
        return body.residency
    if body.residency is not None:
        raise ApiError(400, "Provide either 'residency' or the deprecated 'geography', not both.", param="geography")
    offered = get_args(answers.Residency)
    region = body.geography.upper()
    for residency in (region, f"{region}_STORAGE_PROCESSING", f"{region}_STORAGE"):
        if residency in offered:
            return residency
    raise ApiError(
        400,
        f"Invalid value for 'geography': '{body.geography[:64]}' is no data residency region.",
        param="geography",
        code="invalid_value",
    )


@router.post("/organization/projects", response_model=answers.Project)
def create_project(body: ProjectCreateIn, store: StoreDep, clock: ClockDep) -> dict[str, Any]:
    residency = _residency(body)
    return wire.project(
        store.create_project(body.name, clock.now(), external_key_id=body.external_key_id, residency=residency)
    )


@router.get("/organization/projects/{project_id}", response_model=answers.Project)
def get_project(project_id: ProjectScope, store: StoreDep) -> dict[str, Any]:
    return _project(store, project_id)


@router.post("/organization/projects/{project_id}", response_model=answers.Project)
def update_project(project_id: ProjectScope, body: ProjectUpdateIn, store: StoreDep) -> dict[str, Any]:
    changes = body.model_dump(include={"name", "external_key_id"}, exclude_unset=True)
    if changes.get("name") is None:
        changes.pop("name", None)
    store.update_project(project_id, **changes)
    return _project(store, project_id)


@router.post("/organization/projects/{project_id}/archive", response_model=answers.Project)
def archive_project(project_id: ProjectScope, store: StoreDep, clock: ClockDep) -> dict[str, Any]:
    store.archive_project(project_id, clock.now())
    return _project(store, project_id)
