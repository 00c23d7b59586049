"""Hard monthly spend limits: one per scope (organization or project), read, upserted and deleted."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StrictInt, StrictStr

from .answers import Answer, NotificationChannel
from .deps import Settings
from .models import MAX_CENTS, Body, Email
from .scoped import ScopedSetting


class LimitChannelIn(Body):
    """Who is e-mailed, besides the owners, when the limit is reached. A field left out keeps what is set;
    ``recipients: []`` clears them, and ``subject_prefix`` null or empty clears it."""

    type: Literal["email"]
    recipients: Annotated[list[Email], Field(max_length=100)] = []
    subject_prefix: StrictStr | None = None


class SpendLimitIn(Body):
    """POST body of a spend limit (an upsert): a hard monthly cap in integer cents. ``notification_channel`` left
    out keeps the current notifications; null resets them to the owners only."""

    threshold_amount: Annotated[StrictInt, Field(ge=1, le=MAX_CENTS)]
    currency: Literal["USD"]
    interval: Literal["month"]
    notification_channel: LimitChannelIn | None = None


class Enforcement(Answer):
    status: Literal["enforcing", "inactive"]


class SpendLimit(Answer):
    object: Literal["organization.spend_limit", "project.spend_limit"]
    threshold_amount: int
    currency: str
    interval: str
    enforcement: Enforcement
    notification_channel: NotificationChannel | None = None
    """Absent when only the owners are notified."""


class SpendLimitDeleted(Answer):
    object: Literal["organization.spend_limit.deleted", "project.spend_limit.deleted"]
    deleted: bool


def _unset(settings: Settings) -> dict[str, Any] | None:
    """No limit reads as OpenAI's reference example shows it (zero, inactive), or as 404 under ``--empty-limit 404``."""
    if settings.empty_limit == "404":
        return None
    return {"threshold_amount": 0, "currency": "USD", "interval": "month", "enforcement": {"status": "inactive"}}


def _upsert(current: dict[str, Any] | None, body: BaseModel) -> dict[str, Any]:
    """The new limit, its notifications merged as OpenAI describes: what the body leaves out is kept."""
    assert isinstance(body, SpendLimitIn)
    limit = body.model_dump(exclude={"notification_channel"})
    channel = (current or {}).get("notification_channel")
    sent = body.notification_channel
    if "notification_channel" in body.model_fields_set:
        owners_only: dict[str, Any] = {"type": "email", "recipients": [], "subject_prefix": None}
        changed = sent.model_dump(include=sent.model_fields_set) if sent is not None else None
        channel = None if changed is None else {**(channel or owners_only), **changed}
    if channel is None:
        return limit
    return {**limit, "notification_channel": {**channel, "subject_prefix": channel["subject_prefix"] or None}}


SPEND_LIMIT = ScopedSetting(
    name="spend_limit",
    state="spend_limits",
    body=SpendLimitIn,
    answer=SpendLimit,
    deleted=SpendLimitDeleted,
    # "enforcing" while a limit is set, whatever the spend, as OpenAI's examples answer straight after setting one.
    shape=lambda limit: {**limit, "enforcement": {"status": "enforcing"}},
    unset=_unset,
    update=_upsert,
)
