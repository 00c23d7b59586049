"""Hard monthly spend limits: one per scope (organization or project), read, upserted and deleted."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, StrictInt

from .answers import Answer
from .deps import Settings
from .models import MAX_CENTS, Body
from .scoped import ScopedSetting


class SpendLimitIn(Body):
    """POST body of a spend limit (an upsert): a hard monthly cap in integer cents."""

    threshold_amount: Annotated[StrictInt, Field(ge=1, le=MAX_CENTS)]
    currency: Literal["USD"]
    interval: Literal["month"]


class Enforcement(Answer):
    status: Literal["enforcing", "inactive"]


class SpendLimit(Answer):
    object: Literal["organization.spend_limit", "project.spend_limit"]
    threshold_amount: int
    currency: str
    interval: str
    enforcement: Enforcement


class SpendLimitDeleted(Answer):
    object: Literal["organization.spend_limit.deleted", "project.spend_limit.deleted"]
    deleted: bool


def _unset(settings: Settings) -> dict[str, Any] | None:
    """No limit reads as OpenAI's reference example shows it (zero, inactive), or as 404 under ``--empty-limit 404``."""
    if settings.empty_limit == "404":
        return None
    return {"threshold_amount": 0, "currency": "USD", "interval": "month", "enforcement": {"status": "inactive"}}


SPEND_LIMIT = ScopedSetting(
    name="spend_limit",
    state="spend_limits",
    body=SpendLimitIn,
    answer=SpendLimit,
    deleted=SpendLimitDeleted,
    # "enforcing" while a limit is set, whatever the spend, as OpenAI's examples answer straight after setting one.
    shape=lambda limit: {**limit, "enforcement": {"status": "enforcing"}},
    unset=_unset,
)
