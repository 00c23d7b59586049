"""Spend alerts, many per scope: list (cursor paged), create, retrieve, replace and delete.

An alert id that belongs to another scope answers 404, exactly as an unknown one. No ``from __future__ import
annotations``: the handlers' annotations name the scope they are served at, read by FastAPI.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Query

from . import answers, wire
from .answers import Scope
from .deps import SCOPES, StoreDep
from .errors import ApiError
from .models import AlertListQuery, SpendAlertIn
from .store import Store

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


def _found(row: dict[str, Any] | None, alert_id: str) -> dict[str, Any]:
    if row is None:
        raise _not_found(alert_id)
    return wire.spend_alert(row)


def _serve(kind: Scope, prefix: str, in_scope: Any) -> None:
    collection, one = f"{prefix}/spend_alerts", f"{prefix}/spend_alerts/{{alert_id}}"

    @router.get(collection, response_model=answers.SpendAlertList, name=f"list_{kind}_alerts")
    def list_alerts(scope: in_scope, query: ListQuery, store: StoreDep) -> dict[str, Any]:
        after = _cursor(store, scope, "after", query.after)
        before = _cursor(store, scope, "before", query.before)
        rows, has_more = wire.cursor_page(
            store.alerts(scope), limit=query.limit, order=query.order, after=after, before=before
        )
        return wire.list_object([wire.spend_alert(r) for r in rows], has_more)

    @router.post(collection, response_model=answers.SpendAlert, name=f"create_{kind}_alert")
    def create_alert(scope: in_scope, body: SpendAlertIn, store: StoreDep) -> dict[str, Any]:
        return wire.spend_alert(store.create_alert(scope, body.model_dump()))

    @router.get(one, response_model=answers.SpendAlert, name=f"get_{kind}_alert")
    def get_alert(scope: in_scope, alert_id: str, store: StoreDep) -> dict[str, Any]:
        return _found(store.alert(scope, alert_id), alert_id)

    @router.post(one, response_model=answers.SpendAlert, name=f"update_{kind}_alert")
    def update_alert(scope: in_scope, alert_id: str, body: SpendAlertIn, store: StoreDep) -> dict[str, Any]:
        return _found(store.replace_alert(scope, alert_id, body.model_dump()), alert_id)

    @router.delete(one, response_model=answers.SpendAlertDeleted, name=f"delete_{kind}_alert")
    def delete_alert(scope: in_scope, alert_id: str, store: StoreDep) -> dict[str, Any]:
        if not store.delete_alert(scope, alert_id):
            raise _not_found(alert_id)
        return {"id": alert_id, "object": f"{wire.kind(scope)}.spend_alert.deleted", "deleted": True}


_serve("organization", *SCOPES["organization"])
_serve("project", *SCOPES["project"])
