"""Project API keys: list (cursor paged), retrieve, update (the key's spend limit, scopes, expiry) and delete.

A key id of another project answers 404, exactly as an unknown one. No public endpoint creates a user's key:
``POST /sandbox/api_keys`` (see ``control``) and ``--api-key PROJECT/NAME`` make them. No secret is ever made or
kept, only a redacted value.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from . import answers, wire
from .deps import ClockDep, ProjectScope, StoreDep
from .errors import ApiError
from .models import ApiKeyListQuery, ApiKeyUpdateIn
from .store import Store

router = APIRouter()
KEYS = "/organization/projects/{project_id}/api_keys"
ONE = KEYS + "/{api_key_id}"
SANDBOX_USER = {
    "id": "user-sandbox",
    "created_at": 0,
    "email": "owner@example.com",
    "name": "Sandbox Owner",
    "role": "owner",
}


def owner(kind: str, now: int) -> dict[str, Any]:
    """The owner of a key the sandbox makes: its one user, or a new service account."""
    if kind == "service_account":
        account = {"id": f"svc_acct_{now}", "created_at": now, "name": "Sandbox Service Account", "role": "member"}
        return {"type": "service_account", "service_account": account}
    return {"type": "user", "user": SANDBOX_USER}


def key_not_found(api_key_id: str) -> ApiError:
    return ApiError(404, f"No API key found with id '{api_key_id}' in this project.", code="api_key_not_found")


def shown(store: Store, row: dict[str, Any], now: int) -> dict[str, Any]:
    """The key's answer, its limit's enforcement judged by its spend this UTC month."""
    return wire.api_key(row, store.key_spend(row["id"], *wire.month_bounds(now)))


def _found(store: Store, project_id: str, api_key_id: str) -> dict[str, Any]:
    row = store.api_key(project_id, api_key_id)
    if row is None:
        raise key_not_found(api_key_id)
    return row


@router.get(KEYS, response_model=answers.ApiKeyList)
def list_api_keys(
    project_id: ProjectScope, query: Annotated[ApiKeyListQuery, Query()], store: StoreDep, clock: ClockDep
) -> dict[str, Any]:
    after = None
    if query.after is not None:
        after = store.api_key_seq(project_id, query.after)
        if after is None:
            raise wire.cursor_not_found("after", query.after)
    rows, has_more = wire.cursor_page(store.api_keys(project_id), limit=query.limit, after=after)
    now = clock.now()
    return wire.list_object([shown(store, row, now) for row in rows], has_more)


@router.get(ONE, response_model=answers.ApiKey)
def get_api_key(project_id: ProjectScope, api_key_id: str, store: StoreDep, clock: ClockDep) -> dict[str, Any]:
    return shown(store, _found(store, project_id, api_key_id), clock.now())


@router.post(ONE, response_model=answers.ApiKey)
def update_api_key(
    project_id: ProjectScope, api_key_id: str, body: ApiKeyUpdateIn, store: StoreDep, clock: ClockDep
) -> dict[str, Any]:
    now = clock.now()
    with store.transaction():
        row = _found(store, project_id, api_key_id)
        if row["expires_at"] is not None and row["expires_at"] <= now:
            raise ApiError(400, "Expired API keys cannot be updated.", code="api_key_expired")
        changes: dict[str, Any] = {}
        if "spend_limit" in body.model_fields_set:
            changes["spend_limit"] = None if body.spend_limit is None else body.spend_limit.model_dump()
        if body.scopes is not None:
            changes["scopes"] = body.scopes
        if body.expires_in_seconds is not None:
            changes["expires_at"] = now + body.expires_in_seconds
        store.update_api_key(project_id, api_key_id, **changes)
        return shown(store, _found(store, project_id, api_key_id), now)


@router.delete(ONE, response_model=answers.ApiKeyDeleted)
def delete_api_key(project_id: ProjectScope, api_key_id: str, store: StoreDep) -> dict[str, Any]:
    if not store.delete_api_key(project_id, api_key_id):
        raise key_not_found(api_key_id)
    return {"id": api_key_id, "object": "organization.project.api_key.deleted", "deleted": True}


def report(store: Store, now: int) -> dict[str, list[dict[str, Any]]]:
    """Every live key by project, as ``/sandbox/state`` shows them."""
    keys: dict[str, list[dict[str, Any]]] = {}
    for row in store.api_keys():
        keys.setdefault(row["project_id"], []).append(shown(store, row, now))
    return {project: keys[project] for project in sorted(keys)}
