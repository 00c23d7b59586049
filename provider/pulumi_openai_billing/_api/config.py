"""Settings: stack config ``openai-billing:*`` first, then ``OPENAI_ADMIN_KEY`` / ``OPENAI_BILLING_*``.

The admin key reaches the provider process at run time only (through ``configure`` or the environment);
nothing here is ever captured by a pickled provider.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

NAMESPACE = "openai-billing"
DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_TIMEOUT_SECONDS = 30.0
DEFAULT_MAX_RETRIES = 5
DEFAULT_RETRY_BUDGET_SECONDS = 60.0
DEFAULT_MAX_PURCHASE_USD = Decimal("1000")
DEFAULT_RATE_LIMIT_WAIT_SECONDS = 900.0

MISSING_KEY_MESSAGE = (
    "no OpenAI admin key is configured: run `pulumi config set --secret openai-billing:adminKey sk-admin-...` "
    "or set the OPENAI_ADMIN_KEY environment variable"
)

_ENV = {
    "adminKey": "OPENAI_ADMIN_KEY",
    "baseUrl": "OPENAI_BILLING_BASE_URL",
    "organization": "OPENAI_BILLING_ORGANIZATION",
    "bindOrganization": "OPENAI_BILLING_BIND_ORGANIZATION",
    "timeoutSeconds": "OPENAI_BILLING_TIMEOUT_SECONDS",
    "maxRetries": "OPENAI_BILLING_MAX_RETRIES",
    "retryBudgetSeconds": "OPENAI_BILLING_RETRY_BUDGET_SECONDS",
    "debug": "OPENAI_BILLING_DEBUG",
    "maxPurchaseUsd": "OPENAI_BILLING_MAX_PURCHASE_USD",
    "requestsPerMinute": "OPENAI_BILLING_REQUESTS_PER_MINUTE",
    "rateLimitWaitSeconds": "OPENAI_BILLING_RATE_LIMIT_WAIT_SECONDS",
}
SETTING_NAMES = tuple(_ENV)

_lock = threading.Lock()
_process_config: dict[str, Any] = {}
_known_secrets: set[str] = set()


class ConfigError(ValueError):
    """A setting that is missing or malformed; the message says how to set it."""


def redact(secret: str | None) -> str:
    """A form of a key that is safe to print: its kind prefix and its last four characters."""
    if not secret:
        return "<none>"
    prefix = "sk-admin-" if secret.startswith("sk-admin-") else secret[:3] if secret.startswith("sk-") else ""
    return f"{prefix}…{secret[-4:]}" if len(secret) > len(prefix) + 8 else "<redacted>"


def scrub(text: str) -> str:
    """Replace every admin key this process has seen with its redacted form."""
    for secret in _known_secrets:
        if secret and secret in text:
            text = text.replace(secret, redact(secret))
    return text


class _RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if _known_secrets:
            record.msg = scrub(record.getMessage())
            record.args = None
        return True


logger = logging.getLogger("pulumi_openai_billing")
logger.addFilter(_RedactingFilter())


def set_process_config(raw: Mapping[str, Any]) -> None:
    """Remember the stack config the engine sent to this provider process (``configure``)."""
    with _lock:
        _process_config.clear()
        _process_config.update({k: v for k, v in raw.items() if k.startswith(NAMESPACE + ":")})
    _setup_debug_logging()


def _pulumi_program_config() -> dict[str, Any]:
    """Stack config when running inside a Pulumi program (functions called from ``__main__``)."""
    from pulumi.runtime.config import get_config

    keys = (f"{NAMESPACE}:{name}" for name in _ENV)
    return {key: value for key in keys if (value := get_config(key)) is not None}


@dataclass(frozen=True)
class Settings:
    """Resolved settings; ``repr`` never shows the admin key."""

    admin_key: str | None = field(repr=False)
    base_url: str = DEFAULT_BASE_URL
    organization: str | None = None
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    max_retries: int = DEFAULT_MAX_RETRIES
    retry_budget_seconds: float = DEFAULT_RETRY_BUDGET_SECONDS
    debug: bool = False
    max_purchase_usd: Decimal = DEFAULT_MAX_PURCHASE_USD
    bind_organization: str | None = None
    requests_per_minute: float | None = None
    rate_limit_wait_seconds: float = DEFAULT_RATE_LIMIT_WAIT_SECONDS

    @property
    def host(self) -> str:
        return (urlsplit(self.base_url).hostname or self.base_url).lower()

    @property
    def organization_binding(self) -> str:
        """What state records as the account a resource lives in: the org id, else the API host."""
        return self.organization or self.host

    def rebinds(self, recorded: str) -> bool:
        """Whether a resource recorded with this API's host (made before the stack named its organization) is
        taken into the configured organization: only when ``bindOrganization`` asks for it explicitly."""
        return bool(self.bind_organization) and recorded == self.host != self.organization_binding

    def require_key(self) -> str:
        if not self.admin_key:
            raise ConfigError(MISSING_KEY_MESSAGE)
        return self.admin_key


def resolve(overrides: Mapping[str, Any] | None = None) -> Settings:
    """Settings from, in order: ``overrides`` (stack config keys), this process's stack config, env."""
    stack = {**_pulumi_program_config(), **_process_config, **(overrides or {})}

    def get(name: str) -> str | None:
        value = stack.get(f"{NAMESPACE}:{name}")
        if value is None or value == "":
            value = os.environ.get(_ENV[name]) or None
        return None if value is None else str(value)

    admin_key = get("adminKey")
    if admin_key:
        _known_secrets.add(admin_key)
    base_url = (get("baseUrl") or DEFAULT_BASE_URL).rstrip("/")
    if urlsplit(base_url).scheme not in ("http", "https"):
        raise ConfigError(f"openai-billing:baseUrl must be an http(s) URL, got {base_url!r}")
    organization, bind = get("organization"), get("bindOrganization")
    if bind and bind != organization:
        raise ConfigError(
            f"openai-billing:bindOrganization ({bind}) must equal openai-billing:organization "
            f"({organization or 'not set'}): it takes the resources this stack made before it named its "
            "organization into that organization"
        )
    return Settings(
        admin_key=admin_key,
        base_url=base_url,
        organization=organization,
        bind_organization=bind,
        timeout_seconds=_number(get("timeoutSeconds"), "timeoutSeconds", float, DEFAULT_TIMEOUT_SECONDS),
        max_retries=_number(get("maxRetries"), "maxRetries", int, DEFAULT_MAX_RETRIES, "whole number"),
        retry_budget_seconds=_number(
            get("retryBudgetSeconds"), "retryBudgetSeconds", float, DEFAULT_RETRY_BUDGET_SECONDS
        ),
        debug=(get("debug") or "").lower() in ("1", "true", "yes"),
        max_purchase_usd=_number(
            get("maxPurchaseUsd"), "maxPurchaseUsd", _dollars, DEFAULT_MAX_PURCHASE_USD, "dollar amount"
        ),
        requests_per_minute=_number(get("requestsPerMinute"), "requestsPerMinute", float, None) or None,
        rate_limit_wait_seconds=_number(
            get("rateLimitWaitSeconds"), "rateLimitWaitSeconds", float, DEFAULT_RATE_LIMIT_WAIT_SECONDS
        ),
    )


def _dollars(raw: str) -> Decimal:
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise ValueError(raw) from None
    if not value.is_finite():
        raise ValueError(raw)
    return value


def _number(raw: str | None, name: str, kind: Callable[[str], Any], default: Any, what: str = "number") -> Any:
    if raw is None:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigError(f"openai-billing:{name} must be a {what}, got {raw!r}") from None
    if value < 0:
        raise ConfigError(f"openai-billing:{name} must not be negative, got {raw!r}")
    return value


def _setup_debug_logging() -> None:
    """Send debug logs to stderr when ``openai-billing:debug`` / ``OPENAI_BILLING_DEBUG`` asks for them."""
    try:
        debug = resolve().debug
    except ConfigError:
        return
    if debug and not logger.handlers:
        handler = logging.StreamHandler()
        handler.addFilter(_RedactingFilter())
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
