"""Projects: create, list (archived hidden unless asked), retrieve, rename and archive."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from . import answers, wire
from .deps import ClockDep, ProjectScope, StoreDep
from .errors import project_not_found
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


@router.post("/organization/projects", response_model=answers.Project)
def create_project(body: ProjectCreateIn, store: StoreDep, clock: ClockDep) -> dict[str, Any]:
    return wire.project(store.create_project(body.name, clock.now()))


@router.get("/organization/projects/{project_id}", response_model=answers.Project)
def get_project(project_id: ProjectScope, store: StoreDep) -> dict[str, Any]:
    return _project(store, project_id)


@router.post("/organization/projects/{project_id}", response_model=answers.Project)
def update_project(project_id: ProjectScope, body: ProjectUpdateIn, store: StoreDep) -> dict[str, Any]:
    if body.name is not None:
        store.rename_project(project_id, body.name)
    return _project(store, project_id)


@router.post("/organization/projects/{project_id}/archive", response_model=answers.Project)
def archive_project(project_id: ProjectScope, store: StoreDep, clock: ClockDep) -> dict[str, Any]:
    store.archive_project(project_id, clock.now())
    return _project(store, project_id)
