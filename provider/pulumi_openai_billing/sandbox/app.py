"""``create_app``: one sandbox account as a FastAPI application, every route under ``/v1``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from fastapi import FastAPI

from . import alerts, api_keys, billing, control, costs, projects, rate_limits, scoped
from .deps import Clock, EmptyLimit, Settings
from .errors import install_error_handlers
from .faults import Faults, quiet_dropped_connections
from .gateway import Gateway, RequestLog
from .ledger import Ledger
from .limits import SPEND_LIMIT
from .models import RandomFaultsIn
from .project_controls import HOSTED_TOOL_PERMISSIONS, MODEL_PERMISSIONS, SERVICE_TIER_SETTINGS
from .store import Store
from .throttle import DEFAULT_RATE_LIMIT, RateLimit, Throttle

SCOPED_SETTINGS = (SPEND_LIMIT, MODEL_PERMISSIONS, HOSTED_TOOL_PERMISSIONS, SERVICE_TIER_SETTINGS)
"""The settings held once per scope that the sandbox serves and reports (see ``scoped``)."""


def create_app(
    admin_key: str,
    *,
    org_id: str = "org-sandbox",
    db_path: str | None = None,
    empty_limit: EmptyLimit = "zero",
    billing_extension: bool = True,
    faults: RandomFaultsIn | None = None,
    rate_limit: str = DEFAULT_RATE_LIMIT,
    rate_limit_retry_after: bool = False,
    project_names: Sequence[str] = (),
    api_key_names: Sequence[str] = (),
    models: Sequence[str] = (),
) -> FastAPI:
    """A wire-compatible fake of OpenAI's Admin API billing endpoints, answering only to ``admin_key``.

    ``db_path=None`` is a fresh in-memory account; a file keeps it across restarts. ``empty_limit`` picks
    how a scope without a spend limit reads: a zero-amount inactive object (``"zero"``, as OpenAI's reference
    example answers) or ``"404"`` (clients must handle both). ``billing_extension=False`` serves the Admin API
    alone, as api.openai.com does (the extension's paths answer 404). ``faults`` starts it with a random-fault
    plan (see ``faults``; off by default). ``rate_limit`` throttles each endpoint as OpenAI does (``"7/60s"``,
    the default, or ``"off"``; see ``throttle``). ``project_names`` are created at start, each unless a project of
    that name exists (a ``db_path`` account keeps its own). ``api_key_names`` (``PROJECT/NAME``) are project API keys
    made at start the same way, their project by name, made first if missing. ``models`` join the catalogue of models
    every project has a rate limit for (``rate_limits.CATALOGUE``), each with ``rate_limits.ADDED_MODEL``'s maxima.
    """
    if not admin_key:
        raise ValueError("the sandbox needs an admin key to answer to")
    if empty_limit not in ("404", "zero"):
        raise ValueError(f"empty_limit must be '404' or 'zero', not {empty_limit!r}")
    malformed = [key for key in api_key_names if not all(part.strip() for part in key.rpartition("/")[::2])]
    if malformed:
        raise ValueError(f"an API key is named PROJECT/NAME, not {malformed[0]!r}")
    for model in models:
        problem = rate_limits.bad_model_name(model)
        if problem:
            raise ValueError(f"model {model[:300]!r}: {problem}")
    settings = Settings(
        admin_key=admin_key, org_id=org_id, empty_limit=empty_limit, billing_extension=billing_extension
    )
    store = Store(db_path)
    clock = Clock()
    _seed(store, clock.now(), project_names, api_key_names)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            store.close()

    app = FastAPI(title="OpenAI billing sandbox", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.state.settings = settings
    app.state.store = store
    app.state.clock = clock
    app.state.ledger = Ledger(store)
    app.state.faults = Faults(faults)
    app.state.throttle = Throttle(RateLimit.parse(rate_limit), rate_limit_retry_after)
    app.state.requests = RequestLog()
    app.state.scoped_settings = SCOPED_SETTINGS
    app.state.catalogue = rate_limits.Catalogue(models)
    install_error_handlers(app)
    routers = [
        projects.router,
        api_keys.router,
        scoped.router(SCOPED_SETTINGS),
        rate_limits.router,
        alerts.router,
        costs.router,
        control.router,
    ]
    for router in routers + ([billing.router] if billing_extension else []):
        app.include_router(router, prefix="/v1")
    app.add_middleware(
        Gateway, settings=settings, faults=app.state.faults, throttle=app.state.throttle, log=app.state.requests
    )
    quiet_dropped_connections()
    return app


def _seed(store: Store, now: int, project_names: Sequence[str], api_key_names: Sequence[str]) -> None:
    """Projects and ``PROJECT/NAME`` keys made at start, each unless one of that name is there."""
    projects_by_name = {row["name"]: row["id"] for row in store.projects()}
    wanted = [*project_names, *(key.rpartition("/")[0] for key in api_key_names)]
    for name in dict.fromkeys(wanted):
        if name not in projects_by_name:
            projects_by_name[name] = store.create_project(name, now)["id"]
    for key in dict.fromkeys(api_key_names):
        project, _, name = key.rpartition("/")
        project_id = projects_by_name[project]
        if all(row["name"] != name for row in store.api_keys(project_id)):
            store.create_api_key(project_id, name, api_keys.owner("user", now), now)
