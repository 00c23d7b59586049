"""Settings: stack config ``openai-billing:*`` first, then ``OPENAI_ADMIN_KEY`` / ``OPENAI_BILLING_*``.

The admin key reaches the provider process at run time only (through ``configure`` or the environment);
nothing here is ever captured by a pickled provider.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Literal
from urllib.parse import urlsplit

from ..errors import ConfigError

NAMESPACE = "openai-billing"
DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_TIMEOUT_SECONDS = 30.0
DEFAULT_MAX_RETRIES = 5
DEFAULT_RETRY_BUDGET_SECONDS = 60.0
DEFAULT_MAX_PURCHASE_USD = Decimal("1000")
DEFAULT_RATE_LIMIT_WAIT_SECONDS = 900.0

MISSING_KEY_MESSAGE = (
    "no OpenAI admin key is configured: for a Pulumi program run `pulumi config set --secret "
    "openai-billing:adminKey sk-admin-...`, or set the OPENAI_ADMIN_KEY environment variable (what the "
    "openai-billing commands and scripts read, and what keeps the key out of state in CI)"
)


@dataclass(frozen=True)
class Setting:
    """One setting, stated once: its stack key (``openai-billing:<key>``), its environment variable, its type
    in the package schema and what it means (``schema.json``, the reference and the README say this text)."""

    key: str
    env: str
    type: Literal["string", "number", "integer", "boolean"]
    doc: str

    @property
    def stack_key(self) -> str:
        return f"{NAMESPACE}:{self.key}"


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "adminKey",
        "OPENAI_ADMIN_KEY",
        "string",
        "The OpenAI admin key (sk-admin-…); set it --secret. The engine records stack config in state, so it is "
        "there encrypted; OPENAI_ADMIN_KEY keeps it out of state. Never in the pickled provider.",
    ),
    Setting(
        "baseUrl",
        "OPENAI_BILLING_BASE_URL",
        "string",
        f"The API base URL (default {DEFAULT_BASE_URL}); OPENAI_BASE_URL is never read.",
    ),
    Setting(
        "organization",
        "OPENAI_BILLING_ORGANIZATION",
        "string",
        "The organization id (org-…) the stack is bound to; sent as OpenAI-Organization.",
    ),
    Setting(
        "bindOrganization",
        "OPENAI_BILLING_BIND_ORGANIZATION",
        "string",
        "Set once to the same id as organization, to take resources made before the stack named its "
        "organization (they record the API host) into it; the key is verified against it first.",
    ),
    Setting(
        "timeoutSeconds",
        "OPENAI_BILLING_TIMEOUT_SECONDS",
        "number",
        f"Per-request timeout in seconds (default {DEFAULT_TIMEOUT_SECONDS:g}).",
    ),
    Setting(
        "maxRetries",
        "OPENAI_BILLING_MAX_RETRIES",
        "integer",
        f"Retries of a failed idempotent request (default {DEFAULT_MAX_RETRIES}).",
    ),
    Setting(
        "retryBudgetSeconds",
        "OPENAI_BILLING_RETRY_BUDGET_SECONDS",
        "number",
        "Total seconds one request may spend on retries and their waits, Retry-After included "
        f"(default {DEFAULT_RETRY_BUDGET_SECONDS:g}).",
    ),
    Setting(
        "debug",
        "OPENAI_BILLING_DEBUG",
        "boolean",
        "Log every request to the provider's standard error, key redacted.",
    ),
    Setting(
        "maxPurchaseUsd",
        "OPENAI_BILLING_MAX_PURCHASE_USD",
        "string",
        f"The largest CreditPurchase accepted at preview, in dollars (default {DEFAULT_MAX_PURCHASE_USD}).",
    ),
    Setting(
        "requestsPerMinute",
        "OPENAI_BILLING_REQUESTS_PER_MINUTE",
        "number",
        "Pace each API endpoint at this many requests a minute from the first request (default: unpaced until "
        "the API throttles, then paced as learned from its 429s).",
    ),
    Setting(
        "rateLimitWaitSeconds",
        "OPENAI_BILLING_RATE_LIMIT_WAIT_SECONDS",
        "number",
        "Total seconds one request may wait for the API's throttle before giving up "
        f"(default {DEFAULT_RATE_LIMIT_WAIT_SECONDS:g}); separate from retryBudgetSeconds.",
    ),
)
"""Every setting, once: resolve, the provider's configure, the schema and the docs read this table."""
_BY_KEY = {setting.key: setting for setting in SETTINGS}


_lock = threading.Lock()
_process_config: dict[str, Any] = {}
_known_secrets: set[str] = set()


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

    keys = (setting.stack_key for setting in SETTINGS)
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

    sources: dict[str, str] = {}

    def get(name: str) -> str | None:
        """The raw value of a setting; ``sources`` remembers where it came from, so a message names that."""
        setting = _BY_KEY[name]
        value, sources[name] = stack.get(setting.stack_key), setting.stack_key
        if value is None or value == "":
            value, sources[name] = os.environ.get(setting.env) or None, setting.env
        return None if value is None else str(value)

    def number(name: str, kind: Callable[[str], Any], default: Any, what: str = "number") -> Any:
        raw = get(name)
        if raw is None:
            return default
        try:
            value = kind(raw)
        except ValueError:
            raise ConfigError(f"{sources[name]} must be a {what}, got {raw!r}") from None
        if value < 0:
            raise ConfigError(f"{sources[name]} must not be negative, got {raw!r}")
        return value

    admin_key = get("adminKey")
    if admin_key:
        _known_secrets.add(admin_key)
    base_url = (get("baseUrl") or DEFAULT_BASE_URL).rstrip("/")
    problem = base_url_problem(base_url)
    if problem:
        raise ConfigError(f"{sources['baseUrl']} {problem}")
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
        timeout_seconds=number("timeoutSeconds", float, DEFAULT_TIMEOUT_SECONDS),
        max_retries=number("maxRetries", int, DEFAULT_MAX_RETRIES, "whole number"),
        retry_budget_seconds=number("retryBudgetSeconds", float, DEFAULT_RETRY_BUDGET_SECONDS),
        debug=(get("debug") or "").lower() in ("1", "true", "yes"),
        max_purchase_usd=number("maxPurchaseUsd", _dollars, DEFAULT_MAX_PURCHASE_USD, "dollar amount"),
        requests_per_minute=number("requestsPerMinute", float, None) or None,
        rate_limit_wait_seconds=number("rateLimitWaitSeconds", float, DEFAULT_RATE_LIMIT_WAIT_SECONDS),
    )


def base_url_problem(base_url: str) -> str | None:
    """What is wrong with an API base URL (said after the setting's name), else None."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"must be an http(s) URL such as {DEFAULT_BASE_URL}, got {base_url!r}"
    if parts.query or parts.fragment:
        return f"must not have a query or fragment, got {base_url!r}"
    if not re.search(r"/v[0-9]+$", parts.path):
        return f"must end in the API's version, as {DEFAULT_BASE_URL} does (e.g. {base_url}/v1), got {base_url!r}"
    return None


def _dollars(raw: str) -> Decimal:
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise ValueError(raw) from None
    if not value.is_finite():
        raise ValueError(raw)
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
