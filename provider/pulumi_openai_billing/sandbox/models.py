"""Request bodies and list queries, validated strictly.

Unknown body fields are refused (400 naming the field) rather than ignored: OpenAI rejects unrecognised
request arguments, and a fake that silently accepted a misspelt field would hide client bugs. Amounts are
strict JSON integers (no bool, float or numeric string), as the real API types them.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any, Literal, TypeVar, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from .answers import Residency

T = TypeVar("T")

MAX_CENTS = 2**53 - 1
MIN_PURCHASE_CENTS = 500
"""The smallest credit purchase, an auto-reload's included: 5 USD, as the dashboard allows."""
MAX_PURCHASE_CENTS = 1_000_000_000
_EMAIL = re.compile(r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$")


def _plausible_email(value: str) -> str:
    if len(value) > 254 or not _EMAIL.match(value):
        raise ValueError(f"'{value[:80]}' is not a valid email address")
    return value


Email = Annotated[
    StrictStr,
    AfterValidator(_plausible_email),
    WithJsonSchema({"type": "string", "pattern": _EMAIL.pattern, "maxLength": 254}),
]


class Body(BaseModel):
    """A request body: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


def not_null(value: T) -> T:
    """A ``mode="before"`` validator: the value may be left out (what is set stays) but is not null."""
    if value is None:
        raise ValueError("leave the field out to keep what is set; it may not be null")
    return value


def _offer_no_null(schema: dict[str, Any]) -> None:
    """Takes null out of each property's choices in the JSON schema (``Partial`` refuses it)."""
    for name, prop in schema.get("properties", {}).items():
        choices = [choice for choice in prop.get("anyOf", []) if choice != {"type": "null"}]
        if choices:
            rest = {key: value for key, value in prop.items() if key not in ("anyOf", "default")}
            schema["properties"][name] = {**rest, **(choices[0] if len(choices) == 1 else {"anyOf": choices})}


class Partial(Body):
    """A request body whose fields may each be left out (what is set stays) but not be null, as the SDK types them
    (``int``, not ``Optional[int]``): the fields are declared ``X | None = None``, null is refused, and the OpenAPI
    document offers only ``X``."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_offer_no_null)

    _not_null = field_validator("*", mode="before")(not_null)


class NotificationChannel(Body):
    """Where an alert is emailed; recipients are kept exactly as sent (no normalisation)."""

    type: Literal["email"]
    recipients: Annotated[list[Email], Field(min_length=1, max_length=100)]
    subject_prefix: Annotated[StrictStr, Field(max_length=255)] | None = None


class SpendAlertIn(Body):
    """POST body of an alert create or update (an update replaces the whole alert)."""

    threshold_amount: Annotated[StrictInt, Field(ge=0, le=MAX_CENTS)]
    currency: Literal["USD"]
    interval: Literal["month"]
    notification_channel: NotificationChannel


ExternalKeyId = Annotated[StrictStr, Field(min_length=1, max_length=255)]


class ProjectCreateIn(Body):
    """POST body creating a project (another of the same name may exist, as OpenAI allows). ``geography`` is the
    deprecated way to ask for a residency: a residency's name or a region (``EU``); never both."""

    name: Annotated[StrictStr, Field(min_length=1, max_length=255)]
    external_key_id: ExternalKeyId | None = None
    geography: Annotated[StrictStr, Field(min_length=1, max_length=64)] | None = None
    residency: Residency | None = None


class ProjectUpdateIn(Body):
    """POST body modifying a project: a field left out (or a null name) stays; ``external_key_id: null`` removes the
    key. ``geography`` is accepted for SDK parity and ignored (a project's residency is chosen when it is made)."""

    name: Annotated[StrictStr, Field(min_length=1, max_length=255)] | None = None
    external_key_id: ExternalKeyId | None = None
    geography: StrictStr | None = None


class AlertListQuery(BaseModel):
    """Query of a spend alert list: cursor paging by alert id, in creation order."""

    limit: Annotated[int, Field(ge=0, le=100)] = 20
    order: Literal["asc", "desc"] = "asc"
    after: str | None = None
    before: str | None = None


class ProjectListQuery(BaseModel):
    """Query of the project list; archived projects are hidden unless asked for."""

    limit: Annotated[int, Field(ge=1, le=100)] = 20
    after: str | None = None
    include_archived: bool = False


class UsageIn(Body):
    """Sandbox-only: synthetic spend for a project, in dollars (a decimal string or a JSON number)."""

    project_id: StrictStr
    amount_usd: Annotated[Decimal, Field(ge=0, le=10**9, allow_inf_nan=False)]
    line_item: Annotated[StrictStr, Field(min_length=1, max_length=255)] = "completions"
    timestamp: Annotated[StrictInt, Field(ge=0, le=2**40)] | None = None
    api_key_id: Annotated[StrictStr, Field(min_length=1, max_length=128)] | None = None
    """The project API key the spend was made with (its own limit applies; costs group by it)."""


class ApiKeySpendLimitIn(Body):
    """A project API key's monthly hard limit in integer cents, as the key's update sets it."""

    threshold_amount: Annotated[StrictInt, Field(ge=1, le=MAX_CENTS)]
    currency: Literal["USD"]
    interval: Literal["month"]


class ApiKeyUpdateIn(Body):
    """POST body updating a project API key: fields left out stay as they are; ``spend_limit: null`` removes the
    limit. At least one field is required."""

    spend_limit: ApiKeySpendLimitIn | None = None
    scopes: list[Annotated[StrictStr, Field(min_length=1, max_length=255)]] | None = None
    expires_in_seconds: Annotated[StrictInt, Field(ge=1, le=10 * 366 * 86400)] | None = None

    @model_validator(mode="after")
    def _something_to_change(self) -> ApiKeyUpdateIn:
        if not self.model_fields_set:
            raise ValueError("provide at least one of scopes, expires_in_seconds or spend_limit")
        return self


class ApiKeyListQuery(BaseModel):
    """Query of a project's API key list: cursor paging by key id, in creation order."""

    limit: Annotated[int, Field(ge=1, le=100)] = 20
    after: str | None = None
    owner_project_access: Literal["active", "inactive", "any"] | None = None


class ApiKeyCreateIn(Body):
    """Sandbox-only: a project API key (no public endpoint creates a user's key); never a secret."""

    project_id: StrictStr
    name: Annotated[StrictStr, Field(min_length=1, max_length=255)]
    owner: Literal["user", "service_account"] = "user"


class FaultIn(Body):
    """Sandbox-only: one injected fault, matched by method and exact path, used ``times`` times."""

    method: Annotated[StrictStr, Field(min_length=1, max_length=16)]
    path: Annotated[StrictStr, Field(pattern=r"^/")]
    kind: Literal["status", "drop_after_commit", "stall_after_commit"]
    status: Annotated[StrictInt, Field(ge=400, le=599)] = 500
    retry_after: Annotated[int | float, Field(ge=0, le=3600)] | None = None
    times: Annotated[StrictInt, Field(ge=1, le=1000)] = 1
    skip: Annotated[StrictInt, Field(ge=0, le=1000)] = 0
    stall_seconds: Annotated[int | float, Field(ge=0, le=600)] = 60
    """How long ``stall_after_commit`` holds the committed answer back."""
    """Matching requests let through before the fault applies (e.g. fault the second list, not the first)."""


FaultKind = Literal["500", "503", "429", "drop_after_commit"]


class RandomFaultsIn(Body):
    """Sandbox-only: a seeded share of requests answered with a fault, and latency added to every request."""

    rate: Annotated[float, Field(ge=0, le=1)] = 0.0
    kinds: Annotated[list[FaultKind], Field(min_length=1)] = Field(default_factory=lambda: list(get_args(FaultKind)))
    methods: Annotated[list[StrictStr], Field(min_length=1)] = ["GET", "POST", "DELETE"]
    retry_after: Annotated[float, Field(ge=0, le=60)] = 0.05
    latency_ms: Annotated[StrictInt, Field(ge=0, le=60_000)] = 0
    seed: StrictInt = 0


class RateLimitIn(Body):
    """Sandbox-only: the throttle, ``N/Ms`` per endpoint (``7/60s`` is OpenAI's as measured) or ``off``."""

    rate_limit: Annotated[StrictStr, Field(pattern=r"^ *(off|[0-9]+ */ *[0-9]+(\.[0-9]+)? *s) *$", max_length=40)]
    retry_after: StrictBool = False

    @field_validator("rate_limit")
    @classmethod
    def _parsed(cls, value: str) -> str:
        from .throttle import RateLimit

        RateLimit.parse(value)  # a burst of 0 or a window of 0 s
        return value


class FaultsIn(Body):
    """Sandbox-only: faults to install, consumed in the order given."""

    faults: list[FaultIn]


class PaymentMethodIn(Body):
    """Attach a payment method from a processor token (never a card number)."""

    token: Annotated[StrictStr, Field(min_length=1, max_length=255)]


class DefaultPaymentMethodIn(Body):
    payment_method_id: Annotated[StrictStr, Field(min_length=1, max_length=255)]


class AutoReloadIn(Body):
    """The whole auto-reload policy (an upsert); amounts in integer cents."""

    enabled: StrictBool
    balance_threshold_amount: Annotated[StrictInt, Field(ge=0, le=MAX_CENTS)]
    target_balance_amount: Annotated[StrictInt, Field(ge=MIN_PURCHASE_CENTS, le=MAX_CENTS)]
    monthly_reload_limit_amount: Annotated[StrictInt, Field(ge=MIN_PURCHASE_CENTS, le=MAX_CENTS)]
    currency: Literal["USD"]
    payment_method_id: Annotated[StrictStr, Field(min_length=1, max_length=255)] | None = None

    @field_validator("target_balance_amount")
    @classmethod
    def _reload_of_at_least_five_dollars(cls, value: int, info: ValidationInfo) -> int:
        threshold = info.data.get("balance_threshold_amount")
        if threshold is not None and value < threshold + MIN_PURCHASE_CENTS:
            raise ValueError(
                f"must be at least {MIN_PURCHASE_CENTS} ({MIN_PURCHASE_CENTS // 100} USD) "
                "above balance_threshold_amount"
            )
        return value


class CreditPurchaseIn(Body):
    """A prepaid credit purchase; the ``Idempotency-Key`` header names it."""

    amount: Annotated[StrictInt, Field(ge=MIN_PURCHASE_CENTS, le=MAX_PURCHASE_CENTS)]
    currency: Literal["USD"]
    payment_method_id: Annotated[StrictStr, Field(min_length=1, max_length=255)] | None = None


class BillingListQuery(BaseModel):
    """Query of a billing-extension list: cursor paging by id, in creation order."""

    limit: Annotated[int, Field(ge=1, le=100)] = 20
    after: str | None = None


class ClockIn(Body):
    """Sandbox-only: freeze the clock at ``now``, and/or move it ``advance_seconds`` forward; at least one."""

    now: Annotated[StrictInt, Field(ge=0, le=2**40)] | None = None
    advance_seconds: Annotated[StrictInt, Field(ge=0, le=2**36)] | None = None

    @model_validator(mode="after")
    def _says_something(self) -> ClockIn:
        if self.now is None and self.advance_seconds is None:
            raise ValueError("give 'now' (unix seconds) or 'advance_seconds'")
        return self
