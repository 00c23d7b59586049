"""Sandbox-only endpoints under ``/v1/sandbox/`` (same admin-key auth), for tests and demos:

- ``POST /sandbox/usage`` records synthetic spend (feeds costs and limit enforcement);
- ``GET /sandbox/state`` is the whole account, deterministically ordered, to compare before/after;
- ``GET|DELETE /sandbox/requests`` reads / clears the request log;
- ``POST|GET|DELETE /sandbox/faults`` installs / lists / clears injected faults (see ``faults``).
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request

from . import wire
from .deps import SettingsDep, StoreDep
from .errors import project_not_found
from .faults import Faults
from .gateway import RequestLog
from .models import FaultsIn, UsageIn
from .store import ORG

router = APIRouter(prefix="/sandbox")


def _faults(request: Request) -> Faults:
    return request.app.state.faults


def _log(request: Request) -> RequestLog:
    return request.app.state.requests


@router.post("/usage")
def record_usage(body: UsageIn, store: StoreDep) -> dict[str, Any]:
    if store.project(body.project_id) is None:
        raise project_not_found(body.project_id)
    timestamp = int(time.time()) if body.timestamp is None else body.timestamp
    return {"object": "sandbox.usage", **store.add_usage(body.project_id, body.line_item, body.amount_usd, timestamp)}


@router.get("/state")
def state(store: StoreDep, settings: SettingsDep) -> dict[str, Any]:
    limits = {row["scope"]: wire.spend_limit(store, row["scope"], row) for row in store.limits()}
    alerts: dict[str, list[dict[str, Any]]] = {}
    for row in store.alerts():
        alerts.setdefault(row["scope"], []).append(wire.spend_alert(row))
    return {
        "org_id": settings.org_id,
        "projects": [wire.project(row) for row in store.projects()],
        "spend_limits": {
            "organization": limits.get(ORG),
            "projects": {scope: limits[scope] for scope in sorted(limits) if scope != ORG},
        },
        "spend_alerts": {
            "organization": alerts.get(ORG, []),
            "projects": {scope: alerts[scope] for scope in sorted(alerts) if scope != ORG},
        },
        "usage": store.usage(),
    }


@router.get("/requests")
def requests(request: Request) -> list[dict[str, Any]]:
    return _log(request).entries()


@router.delete("/requests")
def clear_requests(request: Request) -> dict[str, Any]:
    _log(request).clear()
    return {"object": "sandbox.requests.deleted", "deleted": True}


@router.post("/faults")
def install_faults(body: FaultsIn, request: Request) -> dict[str, Any]:
    _faults(request).install(body.faults)
    return {"faults": _faults(request).remaining()}


@router.get("/faults")
def list_faults(request: Request) -> dict[str, Any]:
    return {"faults": _faults(request).remaining()}


@router.delete("/faults")
def clear_faults(request: Request) -> dict[str, Any]:
    _faults(request).clear()
    return {"faults": []}
