"""Hard monthly spend limits: one per scope (organization or project), read, upserted and deleted."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from . import answers, wire
from .deps import ProjectScope, SettingsDep, StoreDep
from .errors import ApiError
from .models import SpendLimitIn
from .store import ORG, Store

router = APIRouter()


def _read(store: Store, scope: str, empty_limit: str) -> dict[str, Any]:
    row = store.limit(scope)
    if row is None and empty_limit == "404":
        raise ApiError(404, f"No spend limit is set for this {wire.kind(scope)}.", code="spend_limit_not_found")
    return wire.spend_limit(scope, row)


def _upsert(store: Store, scope: str, body: SpendLimitIn) -> dict[str, Any]:
    store.put_limit(scope, body.threshold_amount, body.currency, body.interval)
    return wire.spend_limit(scope, store.limit(scope))


def _delete(store: Store, scope: str) -> dict[str, Any]:
    if not store.delete_limit(scope):
        raise ApiError(404, f"No spend limit is set for this {wire.kind(scope)}.", code="spend_limit_not_found")
    return {"object": f"{wire.kind(scope)}.spend_limit.deleted", "deleted": True}


@router.get("/organization/spend_limit", response_model=answers.SpendLimit)
def get_org_limit(store: StoreDep, settings: SettingsDep) -> dict[str, Any]:
    return _read(store, ORG, settings.empty_limit)


@router.post("/organization/spend_limit", response_model=answers.SpendLimit)
def put_org_limit(body: SpendLimitIn, store: StoreDep) -> dict[str, Any]:
    return _upsert(store, ORG, body)


@router.delete("/organization/spend_limit", response_model=answers.SpendLimitDeleted)
def delete_org_limit(store: StoreDep) -> dict[str, Any]:
    return _delete(store, ORG)


@router.get("/organization/projects/{project_id}/spend_limit", response_model=answers.SpendLimit)
def get_project_limit(project_id: ProjectScope, store: StoreDep, settings: SettingsDep) -> dict[str, Any]:
    return _read(store, project_id, settings.empty_limit)


@router.post("/organization/projects/{project_id}/spend_limit", response_model=answers.SpendLimit)
def put_project_limit(project_id: ProjectScope, body: SpendLimitIn, store: StoreDep) -> dict[str, Any]:
    return _upsert(store, project_id, body)


@router.delete("/organization/projects/{project_id}/spend_limit", response_model=answers.SpendLimitDeleted)
def delete_project_limit(project_id: ProjectScope, store: StoreDep) -> dict[str, Any]:
    return _delete(store, project_id)
