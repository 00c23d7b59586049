"""Sandbox-only endpoints under ``/v1/sandbox/`` (same admin-key auth), for tests and demos:

- ``POST /sandbox/usage`` records synthetic spend: it is refused (429) once a limit is reached, consumes
  credit, fires alerts (``notifications``) and triggers auto-reload (``reload``); see ``ledger``;
- ``POST /sandbox/api_keys`` makes a project API key (``{"project_id", "name", "owner": "user" |
  "service_account"}``), as the dashboard does (the Admin API has no such endpoint); it answers the key as the Admin
  API shows it, never a secret;
- ``GET /sandbox/notifications`` lists every alert notification sent (one per alert per UTC month), in
  creation order, as ``{"object": "list", "data": [...]}`` (no paging);
- ``GET|POST|DELETE /sandbox/clock`` reads, freezes or moves (``now`` / ``advance_seconds``, at least one;
  both freeze then move), or resets the account's clock to real time, so a test can live through a month in
  seconds. The clock is not part of the stored account: a restarted sandbox runs on real time;
- ``GET /sandbox/openapi.json`` is the sandbox's OpenAPI document;
- ``GET /sandbox/state`` is the whole account (ledger included, never a token; of the rate limits, those a
  project changed), deterministically ordered, to compare before/after; its ``clock`` is ``{"frozen", "now"}``
  with ``now`` null on real time, so the state does not change by itself;
- ``GET|DELETE /sandbox/requests`` reads / clears the request log; ``GET /sandbox/requests/in_flight`` says how
  many API requests are being served now and the most at once since the log was cleared;
- ``POST|GET|DELETE /sandbox/faults`` installs / lists / clears injected faults (see ``faults``).
- ``POST|GET|DELETE /sandbox/faults/random`` sets / shows (with counters) / turns off the random-fault plan
  and latency;
- ``POST|GET /sandbox/rate_limit`` sets / shows OpenAI's throttle (``{"rate_limit": "7/60s" | "off",
  "retry_after": bool}``; setting it refills every bucket) with per-endpoint counters (allowed, throttled,
  tokens left). The ``/sandbox/`` endpoints themselves are never throttled.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from . import api_keys, rate_limits, wire
from .deps import Clock, ClockDep, SettingsDep, StoreDep, from_state
from .errors import project_not_found
from .faults import Faults
from .gateway import RequestLog
from .ledger import AUTO_RELOAD, Ledger
from .models import ApiKeyCreateIn, ClockIn, FaultsIn, RandomFaultsIn, RateLimitIn, UsageIn
from .store import ORG
from .throttle import RateLimit, Throttle

router = APIRouter(prefix="/sandbox")


_faults = from_state("faults", Faults)
_log = from_state("requests", RequestLog)
_ledger = from_state("ledger", Ledger)
_scoped_settings = from_state("scoped_settings", tuple)
_catalogue = from_state("catalogue", rate_limits.Catalogue)


@router.post("/usage")
def record_usage(body: UsageIn, store: StoreDep, clock: ClockDep, request: Request) -> dict[str, Any]:
    if store.project(body.project_id) is None:
        raise project_not_found(body.project_id)
    if body.api_key_id is not None and store.api_key(body.project_id, body.api_key_id) is None:
        raise api_keys.key_not_found(body.api_key_id)
    timestamp = clock.now() if body.timestamp is None else body.timestamp
    recorded = _ledger(request).record_usage(
        body.project_id, body.line_item, body.amount_usd, timestamp, body.api_key_id
    )
    return {"object": "sandbox.usage", **recorded}


@router.post("/api_keys")
def create_api_key(body: ApiKeyCreateIn, store: StoreDep, clock: ClockDep) -> dict[str, Any]:
    if store.project(body.project_id) is None:
        raise project_not_found(body.project_id)
    now = clock.now()
    return api_keys.shown(
        store, store.create_api_key(body.project_id, body.name, api_keys.owner(body.owner, now), now), now
    )


@router.get("/notifications")
def notifications(store: StoreDep) -> dict[str, Any]:
    return {"object": "list", "data": [wire.notification(row) for row in store.rows("notifications")]}


def _clock_object(clock: Clock) -> dict[str, Any]:
    return {"object": "sandbox.clock", "now": clock.now(), "frozen": clock.frozen}


@router.get("/clock")
def get_clock(clock: ClockDep) -> dict[str, Any]:
    return _clock_object(clock)


@router.post("/clock")
def set_clock(body: ClockIn, clock: ClockDep) -> dict[str, Any]:
    if body.now is not None:
        clock.freeze(body.now)
    if body.advance_seconds is not None:
        clock.advance(body.advance_seconds)
    return _clock_object(clock)


@router.delete("/clock")
def reset_clock(clock: ClockDep) -> dict[str, Any]:
    clock.reset()
    return _clock_object(clock)


@router.get("/openapi.json")
def openapi(request: Request) -> dict[str, Any]:
    document: dict[str, Any] = request.app.openapi()
    return document


def _ledger_state(ledger: Ledger, now: int) -> dict[str, Any]:
    store = ledger.store
    default = ledger.default()
    policy = ledger.policy()
    return {
        "payment_methods": [wire.payment_method(r, default) for r in ledger.payment_methods()],
        "default_payment_method": default,
        AUTO_RELOAD: None if policy is None else wire.auto_reload(policy, ledger.reloaded(now)),
        "credit_purchases": [wire.credit_purchase(r) for r in store.rows("credit_purchases")],
        "credit_grants": [wire.credit_grant(r) for r in store.rows("credit_grants")],
        "charges": [wire.charge(r) for r in store.rows("charges")],
        "invoices": [wire.invoice(r) for r in store.rows("invoices")],
        "notifications": [wire.notification(r) for r in store.rows("notifications")],
    }


@router.get("/state")
def state(store: StoreDep, settings: SettingsDep, clock: ClockDep, request: Request) -> dict[str, Any]:
    now = clock.now()
    alerts: dict[str, list[dict[str, Any]]] = {}
    for row in store.alerts():
        alerts.setdefault(row["scope"], []).append(wire.spend_alert(row))
    return {
        "org_id": settings.org_id,
        "projects": [wire.project(row) for row in store.projects()],
        **{setting.state: setting.report(store) for setting in _scoped_settings(request)},
        "rate_limits": rate_limits.report(store, _catalogue(request)),
        "spend_alerts": {
            "organization": alerts.get(ORG, []),
            "projects": {scope: alerts[scope] for scope in sorted(alerts) if scope != ORG},
        },
        "api_keys": api_keys.report(store, now),
        "usage": store.usage(),
        **_ledger_state(_ledger(request), now),
        "clock": {"object": "sandbox.clock", "now": now if clock.frozen else None, "frozen": clock.frozen},
    }


@router.get("/requests")
def requests(request: Request) -> list[dict[str, Any]]:
    return _log(request).entries()


@router.get("/requests/in_flight")
def in_flight(request: Request) -> dict[str, Any]:
    return {"object": "sandbox.in_flight", **_log(request).in_flight()}


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


_throttle = from_state("throttle", Throttle)


@router.post("/rate_limit")
def set_rate_limit(body: RateLimitIn, request: Request) -> dict[str, Any]:
    _throttle(request).configure(RateLimit.parse(body.rate_limit), body.retry_after)
    return _throttle(request).stats()


@router.get("/rate_limit")
def rate_limit(request: Request) -> dict[str, Any]:
    return _throttle(request).stats()


@router.post("/faults/random")
def set_random_faults(body: RandomFaultsIn, request: Request) -> dict[str, Any]:
    _faults(request).configure(body)
    return _faults(request).stats()


@router.get("/faults/random")
def random_faults(request: Request) -> dict[str, Any]:
    return _faults(request).stats()


@router.delete("/faults/random")
def clear_random_faults(request: Request) -> dict[str, Any]:
    _faults(request).configure(RandomFaultsIn())
    return _faults(request).stats()
