"""Spend alerts, many per scope: list (cursor paged), create, retrieve, replace and delete.

An alert id that belongs to another scope answers 404, exactly as an unknown one.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from . import answers, wire
from .deps import ProjectScope, StoreDep
from .errors import ApiError
from .models import AlertListQuery, SpendAlertIn
from .store import ORG, Store

router = APIRouter()
ListQuery = Annotated[AlertListQuery, Query()]


def _not_found(alert_id: str) -> ApiError:
    return ApiError(404, f"No spend alert found with id '{alert_id}'.", code="spend_alert_not_found")


def _cursor(store: Store, scope: str, param: str, alert_id: str | None) -> int | None:
    if alert_id is None:
        return None
    seq = store.alert_seq(scope, alert_id)
    if seq is None:
        raise wire.cursor_not_found(param, alert_id)
    return seq


def _list(store: Store, scope: str, query: AlertListQuery) -> dict[str, Any]:
    after = _cursor(store, scope, "after", query.after)
    before = _cursor(store, scope, "before", query.before)
    rows, has_more = wire.cursor_page(
        store.alerts(scope), limit=query.limit, order=query.order, after=after, before=before
    )
    return wire.list_object([wire.spend_alert(r) for r in rows], has_more)


def _create(store: Store, scope: str, body: SpendAlertIn) -> dict[str, Any]:
    return wire.spend_alert(store.create_alert(scope, body.model_dump()))


def _retrieve(store: Store, scope: str, alert_id: str) -> dict[str, Any]:
    row = store.alert(scope, alert_id)
    if row is None:
        raise _not_found(alert_id)
    return wire.spend_alert(row)


def _replace(store: Store, scope: str, alert_id: str, body: SpendAlertIn) -> dict[str, Any]:
    row = store.replace_alert(scope, alert_id, body.model_dump())
    if row is None:
        raise _not_found(alert_id)
    return wire.spend_alert(row)


def _delete(store: Store, scope: str, alert_id: str) -> dict[str, Any]:
    if not store.delete_alert(scope, alert_id):
        raise _not_found(alert_id)
    return {"id": alert_id, "object": f"{wire.kind(scope)}.spend_alert.deleted", "deleted": True}


@router.get("/organization/spend_alerts", response_model=answers.SpendAlertList)
def list_org_alerts(query: ListQuery, store: StoreDep) -> dict[str, Any]:
    return _list(store, ORG, query)


@router.post("/organization/spend_alerts", response_model=answers.SpendAlert)
def create_org_alert(body: SpendAlertIn, store: StoreDep) -> dict[str, Any]:
    return _create(store, ORG, body)


@router.get("/organization/spend_alerts/{alert_id}", response_model=answers.SpendAlert)
def get_org_alert(alert_id: str, store: StoreDep) -> dict[str, Any]:
    return _retrieve(store, ORG, alert_id)


@router.post("/organization/spend_alerts/{alert_id}", response_model=answers.SpendAlert)
def update_org_alert(alert_id: str, body: SpendAlertIn, store: StoreDep) -> dict[str, Any]:
    return _replace(store, ORG, alert_id, body)


@router.delete("/organization/spend_alerts/{alert_id}", response_model=answers.SpendAlertDeleted)
def delete_org_alert(alert_id: str, store: StoreDep) -> dict[str, Any]:
    return _delete(store, ORG, alert_id)


@router.get("/organization/projects/{project_id}/spend_alerts", response_model=answers.SpendAlertList)
def list_project_alerts(project_id: ProjectScope, query: ListQuery, store: StoreDep) -> dict[str, Any]:
    return _list(store, project_id, query)


@router.post("/organization/projects/{project_id}/spend_alerts", response_model=answers.SpendAlert)
def create_project_alert(project_id: ProjectScope, body: SpendAlertIn, store: StoreDep) -> dict[str, Any]:
    return _create(store, project_id, body)


@router.get("/organization/projects/{project_id}/spend_alerts/{alert_id}", response_model=answers.SpendAlert)
def get_project_alert(project_id: ProjectScope, alert_id: str, store: StoreDep) -> dict[str, Any]:
    return _retrieve(store, project_id, alert_id)


@router.post("/organization/projects/{project_id}/spend_alerts/{alert_id}", response_model=answers.SpendAlert)
def update_project_alert(
    project_id: ProjectScope, alert_id: str, body: SpendAlertIn, store: StoreDep
) -> dict[str, Any]:
    return _replace(store, project_id, alert_id, body)


@router.delete("/organization/projects/{project_id}/spend_alerts/{alert_id}", response_model=answers.SpendAlertDeleted)
def delete_project_alert(project_id: ProjectScope, alert_id: str, store: StoreDep) -> dict[str, Any]:
    return _delete(store, project_id, alert_id)
