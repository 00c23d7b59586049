"""Every error this package raises, in one hierarchy (catch :class:`BillingError` to catch them all)::

    BillingError
    ├── ConfigError           a setting is missing or malformed (also a ValueError)
    ├── ProviderError         an operation refused or failed for a reason the user can act on
    ├── CostsError            the costs endpoint answered something that cannot be read as dollars
    ├── OpenAIError           an error answer from the API: status, OpenAI's error object, the request id
    ├── RequestFailed         no usable answer, after the retries
    │   └── OutcomeUnknown    a request that is not safe to repeat was sent, and its answer was lost
    └── ThrottleWaitExceeded  the API kept throttling an endpoint for longer than ``rateLimitWaitSeconds``

It imports nothing of the package, so every layer may raise them. The message of each is the whole story for
the person who reads it (the provider shows it alone, without a traceback) and never holds the admin key.
"""

from __future__ import annotations

__all__ = [
    "BillingError",
    "ConfigError",
    "CostsError",
    "OpenAIError",
    "OutcomeUnknown",
    "ProviderError",
    "RequestFailed",
    "ThrottleWaitExceeded",
]


class BillingError(Exception):
    """Base of every error of this package."""


class ConfigError(BillingError, ValueError):
    """A setting that is missing or malformed; the message says how to set it."""


class ProviderError(BillingError):
    """An operation refused or failed for a reason the user can act on; the message says which."""


class CostsError(BillingError):
    """The costs endpoint answered something that cannot be read as US dollars."""


class RequestFailed(BillingError):
    """The request could not be completed (network failure after retries)."""


class OutcomeUnknown(RequestFailed):
    """A non-idempotent request was sent but no answer came back: it may or may not have taken effect."""


class ThrottleWaitExceeded(BillingError):
    """The API kept throttling an endpoint for longer than ``rateLimitWaitSeconds``."""


class OpenAIError(BillingError):
    """An error answer from the API, carrying OpenAI's error object and the request id. ``message`` arrives
    with any key already redacted (the client scrubs it)."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str | None = None,
        code: str | None = None,
        param: str | None = None,
        request_id: str | None = None,
        method: str = "",
        path: str = "",
    ) -> None:
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param
        self.request_id = request_id
        self.method = method
        self.path = path
        self.gave_up = ""
        self.hint = ""
        """What to do about it, when the answer alone does not say (a project key, the wrong organization…)."""
        super().__init__(str(self))

    @property
    def unknown_path(self) -> bool:
        """The API has no such path at all ("Invalid URL"): the base URL is wrong, nothing is missing."""
        return self.status == 404 and self.message.startswith("Invalid URL")

    @property
    def gone(self) -> bool:
        """The object asked for does not exist (a 404 for a path the API knows)."""
        return self.status == 404 and not self.unknown_path

    def __str__(self) -> str:
        what = f" {self.code}" if self.code else f" {self.type}" if self.type else ""
        where = f" on {self.method} {self.path}" if self.method else ""
        rid = f" (request id {self.request_id})" if self.request_id else ""
        hint = f". {self.hint}" if self.hint else ""
        return f"OpenAI API error {self.status}{what}{where}: {self.message}{rid}{self.gave_up}{hint}"
