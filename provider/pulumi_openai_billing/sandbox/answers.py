"""The answers of the Admin API endpoints the sandbox mirrors (projects and their API keys, spend alerts, costs; a
setting held once per scope declares its own beside it), as models: the routes declare them, so the sandbox's
OpenAPI document describes what it answers as well as what it accepts, and an answer that strays from its model is
a 500 the tests see, not a quiet difference from OpenAI."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

Scope = Literal["organization", "project"]
Residency = Literal[
    "GLOBAL",
    "US_STORAGE_PROCESSING",
    "EU_STORAGE_PROCESSING",
    "JP_STORAGE",
    "JP_STORAGE_PROCESSING",
    "KR_STORAGE",
    "CA_STORAGE",
    "SG_STORAGE",
    "IN_STORAGE",
    "IN_STORAGE_PROCESSING",
    "AU_STORAGE",
    "AU_STORAGE_PROCESSING",
    "GB_STORAGE",
    "AE_STORAGE",
    "AE_STORAGE_PROCESSING",
]
"""Where a project's data is stored (and processed), as the SDK's ``ProjectResidency`` names it."""


class Answer(BaseModel):
    """An answer: a field the model does not name is an error, not a quiet addition."""

    model_config = ConfigDict(extra="forbid")


class NotificationChannel(Answer):
    type: Literal["email"]
    recipients: list[str]
    subject_prefix: str | None


class SpendAlert(Answer):
    id: str
    object: Literal["organization.spend_alert", "project.spend_alert"]
    threshold_amount: int
    currency: str
    interval: str
    notification_channel: NotificationChannel


class SpendAlertDeleted(Answer):
    id: str
    object: Literal["organization.spend_alert.deleted", "project.spend_alert.deleted"]
    deleted: bool


class SpendAlertList(Answer):
    object: Literal["list"]
    data: list[SpendAlert]
    first_id: str | None
    last_id: str | None
    has_more: bool


class Project(Answer):
    id: str
    object: Literal["organization.project"]
    name: str
    created_at: int
    archived_at: int | None
    status: Literal["active", "archived"]
    external_key_id: str | None
    residency: Residency | None


class ProjectList(Answer):
    object: Literal["list"]
    data: list[Project]
    first_id: str | None
    last_id: str | None
    has_more: bool


class CostAmount(Answer):
    value: float
    currency: str


class CostResult(Answer):
    """One group's cost in a bucket; the fields named by ``group_by`` are present (null when not grouped)."""

    object: Literal["organization.costs.result"]
    amount: CostAmount
    line_item: str | None
    project_id: str | None
    user_id: str | None = None
    api_key_id: str | None = None
    api_source: str | None = None


class CostBucket(Answer):
    object: Literal["bucket"]
    start_time: int
    end_time: int
    results: list[CostResult]


class CostPage(Answer):
    object: Literal["page"]
    data: list[CostBucket]
    has_more: bool
    next_page: str | None


class ApiKeyEnforcement(Answer):
    status: Literal["inactive", "enforcing"]


class ApiKeySpendLimit(Answer):
    """A key's monthly hard limit; ``enforcing`` while it blocks the key's traffic (spend reached it)."""

    currency: Literal["USD"]
    interval: Literal["month"]
    threshold_amount: int
    enforcement: ApiKeyEnforcement


class ApiKeyOwnerUser(Answer):
    id: str
    created_at: int
    email: str
    name: str
    role: str


class ApiKeyOwnerServiceAccount(Answer):
    id: str
    created_at: int
    name: str
    role: str


class ApiKeyOwner(Answer):
    type: Literal["user", "service_account"]
    user: ApiKeyOwnerUser | None = None
    service_account: ApiKeyOwnerServiceAccount | None = None


class ApiKey(Answer):
    """A project API key as the Admin API answers it: its redacted value, never its secret."""

    id: str
    object: Literal["organization.project.api_key"]
    name: str
    redacted_value: str
    created_at: int
    last_used_at: int | None
    expires_at: int | None
    owner: ApiKeyOwner
    owner_project_access: Literal["active", "inactive"]
    spend_limit: ApiKeySpendLimit | None


class ApiKeyList(Answer):
    object: Literal["list"]
    data: list[ApiKey]
    first_id: str | None
    last_id: str | None
    has_more: bool


class ApiKeyDeleted(Answer):
    id: str
    object: Literal["organization.project.api_key.deleted"]
    deleted: bool
