"""A project's rate limits, one per model of the sandbox's catalogue: listed (cursor paged, by model name) and
updated, never created or deleted, as OpenAI serves them. Every project has the whole catalogue; a limit is stored
(in the ``rate_limits`` setting of its project, as the maxima that differ from the model's defaults) only once
changed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field, StrictInt
from pydantic.json_schema import SkipJsonSchema

from . import wire
from .answers import Answer
from .deps import ProjectScope, StoreDep, from_state
from .errors import ApiError
from .models import MAX_CENTS, Partial
from .store import Store

Fields = dict[str, Any]
SETTING = "rate_limits"
"""The store key of a project's changed limits: ``{model: {maximum: value}}``."""
PREFIX = "rl-"
OPTIONAL = (
    "max_images_per_1_minute",
    "max_audio_megabytes_per_1_minute",
    "max_requests_per_1_day",
    "batch_1_day_max_input_tokens",
)
"""The maxima only some models have: a model without one answers without the field and refuses to set it."""
CATALOGUE: Mapping[str, Mapping[str, int]] = {
    "computer-use-preview": {
        "max_requests_per_1_minute": 3_000,
        "max_tokens_per_1_minute": 20_000_000,
        "max_requests_per_1_day": 1_000_000,
    },
    "gpt-4.1": {
        "max_requests_per_1_minute": 10_000,
        "max_tokens_per_1_minute": 30_000_000,
        "batch_1_day_max_input_tokens": 15_000_000_000,
    },
    "gpt-4o": {
        "max_requests_per_1_minute": 10_000,
        "max_tokens_per_1_minute": 30_000_000,
        "batch_1_day_max_input_tokens": 5_000_000_000,
    },
    "gpt-4o-mini": {
        "max_requests_per_1_minute": 30_000,
        "max_tokens_per_1_minute": 150_000_000,
        "batch_1_day_max_input_tokens": 15_000_000_000,
    },
    "gpt-image-1": {
        "max_requests_per_1_minute": 250,
        "max_tokens_per_1_minute": 8_000_000,
        "max_images_per_1_minute": 250,
    },
    "o3": {
        "max_requests_per_1_minute": 10_000,
        "max_tokens_per_1_minute": 30_000_000,
        "batch_1_day_max_input_tokens": 5_000_000_000,
    },
    "text-embedding-3-small": {
        "max_requests_per_1_minute": 10_000,
        "max_tokens_per_1_minute": 10_000_000,
        "batch_1_day_max_input_tokens": 4_000_000_000,
    },
    "whisper-1": {
        "max_requests_per_1_minute": 10_000,
        "max_tokens_per_1_minute": 0,
        "max_audio_megabytes_per_1_minute": 5_000,
    },
}
"""The models every project has, with OpenAI's tier-5 maxima (whisper-1 is metered by audio, not tokens)."""
ADDED_MODEL = {"max_requests_per_1_minute": 500, "max_tokens_per_1_minute": 200_000}
"""The maxima of a model ``create_app(models=...)`` adds."""
_MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,255}$")


def bad_model_name(name: str) -> str | None:
    """Why ``name`` cannot name a model (it becomes a path segment), or None."""
    if _MODEL_NAME.match(name):
        return None
    return "a model name has 1 to 256 letters, digits, '.', '_', ':' or '-' (and starts with a letter or digit)"


class Catalogue:
    """The sandbox's models and their default maxima: ``CATALOGUE`` and the models added at start."""

    def __init__(self, added: Iterable[str] = ()) -> None:
        models = {**{name: ADDED_MODEL for name in added}, **CATALOGUE}
        self.defaults: dict[str, dict[str, int]] = {name: dict(models[name]) for name in sorted(models)}

    def model_of(self, rate_limit_id: str) -> str | None:
        model = rate_limit_id.removeprefix(PREFIX)
        return model if rate_limit_id.startswith(PREFIX) and model in self.defaults else None

    def limit(self, model: str, changed: Mapping[str, int] | None) -> Fields:
        """The rate limit of ``model`` in a project that changed ``changed`` of its maxima."""
        maxima = {**self.defaults[model], **(changed or {})}
        return {"id": PREFIX + model, "object": "project.rate_limit", "model": model, **maxima}

    def limits(self, store: Store, project_id: str) -> list[Fields]:
        """Every rate limit of a project, by model name."""
        changed = store.setting(SETTING, project_id) or {}
        return [self.limit(model, changed.get(model)) for model in self.defaults]


Maximum = Annotated[StrictInt, Field(ge=0, le=MAX_CENTS)]


class RateLimit(Answer):
    """A model's maxima in a project; the optional ones are present only for the models that have them."""

    id: str
    object: Literal["project.rate_limit"]
    model: str
    max_requests_per_1_minute: int
    max_tokens_per_1_minute: int
    max_images_per_1_minute: int | SkipJsonSchema[None] = None
    max_audio_megabytes_per_1_minute: int | SkipJsonSchema[None] = None
    max_requests_per_1_day: int | SkipJsonSchema[None] = None
    batch_1_day_max_input_tokens: int | SkipJsonSchema[None] = None


class RateLimitList(Answer):
    object: Literal["list"]
    data: list[RateLimit]
    first_id: str | None
    last_id: str | None
    has_more: bool


class RateLimitUpdateIn(Partial):
    """POST body of a rate limit: the maxima to change (non-negative integers); a field left out stays, and a
    maximum the model does not have is refused."""

    max_requests_per_1_minute: Maximum | None = None
    max_tokens_per_1_minute: Maximum | None = None
    max_images_per_1_minute: Maximum | None = None
    max_audio_megabytes_per_1_minute: Maximum | None = None
    max_requests_per_1_day: Maximum | None = None
    batch_1_day_max_input_tokens: Maximum | None = None


class RateLimitListQuery(BaseModel):
    """Query of a project's rate limits: cursor paging by id, in model-name order."""

    limit: Annotated[int, Field(ge=1, le=100)] = 100
    after: str | None = None
    before: str | None = None


router = APIRouter()
LIMITS = "/organization/projects/{project_id}/rate_limits"
_catalogue = from_state("catalogue", Catalogue)
CatalogueDep = Annotated[Catalogue, Depends(_catalogue)]


def not_found(rate_limit_id: str) -> ApiError:
    return ApiError(
        404, f"No rate limit found with id '{rate_limit_id[:300]}' in this project.", code="rate_limit_not_found"
    )


@router.get(LIMITS, response_model=RateLimitList, response_model_exclude_unset=True)
def list_rate_limits(
    project_id: ProjectScope, query: Annotated[RateLimitListQuery, Query()], store: StoreDep, catalogue: CatalogueDep
) -> Fields:
    rows = [{**limit, "seq": seq} for seq, limit in enumerate(catalogue.limits(store, project_id))]
    seqs = {row["id"]: row["seq"] for row in rows}
    cursors = {}
    for param in ("after", "before"):
        cursor = getattr(query, param)
        if cursor is not None:
            if cursor not in seqs:
                raise wire.cursor_not_found(param, cursor)
            cursors[param] = seqs[cursor]
    page, has_more = wire.cursor_page(rows, limit=query.limit, **cursors)
    return wire.list_object([{k: v for k, v in row.items() if k != "seq"} for row in page], has_more)


@router.post(LIMITS + "/{rate_limit_id}", response_model=RateLimit, response_model_exclude_unset=True)
def update_rate_limit(
    project_id: ProjectScope, rate_limit_id: str, body: RateLimitUpdateIn, store: StoreDep, catalogue: CatalogueDep
) -> Fields:
    model = catalogue.model_of(rate_limit_id)
    if model is None:
        raise not_found(rate_limit_id)
    defaults = catalogue.defaults[model]
    sent = body.model_dump(exclude_unset=True)
    for field in sent:
        if field not in defaults:
            raise ApiError(
                400,
                f"Unsupported parameter: '{field}' is not supported with the model '{model}'.",
                param=field,
                code="unsupported_parameter",
            )
    with store.transaction():
        changed = store.setting(SETTING, project_id) or {}
        maxima = {**changed.get(model, {}), **sent}
        changed[model] = {field: value for field, value in maxima.items() if value != defaults[field]}
        store.put_setting(SETTING, {name: values for name, values in changed.items() if values} or None, project_id)
    return catalogue.limit(model, changed[model])


def report(store: Store, catalogue: Catalogue) -> Fields:
    """The rate limits each project changed, as ``/sandbox/state`` shows them."""
    projects = {}
    for project_id, changed in store.settings(SETTING).items():
        limits = [catalogue.limit(model, changed[model]) for model in catalogue.defaults if model in changed]
        if limits:
            projects[project_id] = limits
    return {"projects": projects}
