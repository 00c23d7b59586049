"""The billing configuration file: limits and alerts per scope (and limits per project API key), optionally an
auto-reload policy and credit grants, in YAML. ``openai-billing export --format yaml`` writes it; ``openai-billing
simulate --config`` reads it. Amounts are exact Decimals; the models refuse anything the provider would refuse."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, ClassVar

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictStr,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    model_validator,
)
from pydantic_core import ErrorDetails

from .._api.fields import MIN_RELOAD_USD, ORGANIZATION, check_recipients, reload_limit_problem, target_balance_problem
from .._api.money import MoneyError, parse_usd
from ..errors import BillingError


def _usd(minimum: str) -> BeforeValidator:
    """Dollars as int, float or string -> an exact two-decimal Decimal of at least ``minimum``."""

    def validate(value: object, info: ValidationInfo) -> object:
        if value is None:
            return None  # "no limit" where the field allows it; pydantic refuses it elsewhere
        return parse_usd(value, info.field_name or "amount", minimum=Decimal(minimum))

    return BeforeValidator(validate)


class _ConfigModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AlertConfig(_ConfigModel):
    """One spend alert: an e-mail to ``recipients`` when the scope's month-to-date spend reaches the threshold."""

    threshold_usd: Annotated[Decimal, _usd("0")]
    recipients: Annotated[tuple[StrictStr, ...], AfterValidator(lambda r: tuple(check_recipients(r)))]
    subject_prefix: Annotated[StrictStr, Field(max_length=255)] | None = None


class OrganizationConfig(_ConfigModel):
    """The organization's monthly limit (None: no limit) and alerts."""

    monthly_limit_usd: Annotated[Decimal | None, _usd("0.01")] = None
    alerts: tuple[AlertConfig, ...] = ()


ApiKeyId = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")
]
"""A project API key's id (``key_…``), as ``ApiKeySpendLimit`` takes it."""


class ApiKeyConfig(_ConfigModel):
    """A project API key's own monthly limit (None: none); the project's and the organization's still apply.
    Keys have no alerts of their own."""

    monthly_limit_usd: Annotated[Decimal | None, _usd("0.01")] = None
    alerts: ClassVar[tuple[AlertConfig, ...]] = ()


class ProjectConfig(_ConfigModel):
    """A project's monthly limit (None: no limit) and alerts, and its API keys' limits by key id;
    ``project_id`` is the live project (``proj_…``)."""

    project_id: Annotated[str, Field(min_length=1)]
    monthly_limit_usd: Annotated[Decimal | None, _usd("0.01")] = None
    alerts: tuple[AlertConfig, ...] = ()
    api_keys: dict[ApiKeyId, ApiKeyConfig] = {}


class TopUpConfig(_ConfigModel):
    """An auto-reload policy: below ``balance_threshold_usd``, buy credit up to ``target_balance_usd``, at most
    ``monthly_reload_limit_usd`` a month (billing extension only)."""

    balance_threshold_usd: Annotated[Decimal, _usd("0")]
    target_balance_usd: Annotated[Decimal, _usd("0.01")]
    monthly_reload_limit_usd: Annotated[Decimal, _usd(str(MIN_RELOAD_USD))]

    @model_validator(mode="after")
    def _as_the_resource_refuses(self) -> TopUpConfig:
        threshold, target = self.balance_threshold_usd, self.target_balance_usd
        problem = target_balance_problem(threshold, target) or reload_limit_problem(
            threshold, target, self.monthly_reload_limit_usd
        )
        if problem:
            raise ValueError(problem)
        return self


class CreditGrantConfig(_ConfigModel):
    """Prepaid credit: usable from ``granted_on`` until ``expires_on`` (a year later when not given)."""

    amount_usd: Annotated[Decimal, _usd("0.01")]
    granted_on: date
    expires_on: date | None = None


class BillingConfig(_ConfigModel):
    """A whole account's limits and alerts; projects are keyed by name (``name (proj_…)`` when names repeat).
    ``top_up`` and ``credit_grants`` are optional (``simulate`` replays them)."""

    organization: OrganizationConfig = OrganizationConfig()
    projects: dict[str, ProjectConfig] = {}
    top_up: TopUpConfig | None = None
    credit_grants: tuple[CreditGrantConfig, ...] = ()

    def scopes(self) -> dict[str, OrganizationConfig | ProjectConfig | ApiKeyConfig]:
        """Each scope's limit and alerts by name: ``organization`` first, then each project followed by its API
        keys (named ``project/key id``)."""
        found: dict[str, OrganizationConfig | ProjectConfig | ApiKeyConfig] = {ORGANIZATION: self.organization}
        for name, project in self.projects.items():
            found[name] = project
            found.update({key_scope(name, key_id): key for key_id, key in project.api_keys.items()})
        return found

    def key_limits(self) -> bool:
        """Whether any API key has a limit of its own (a replay then needs costs grouped by key)."""
        return any(k.monthly_limit_usd is not None for p in self.projects.values() for k in p.api_keys.values())


def key_scope(project: str, api_key_id: str) -> str:
    """The scope name of a project's API key: ``team-a/key_abc``."""
    return f"{project}/{api_key_id}"


class ConfigFileError(BillingError, ValueError):
    """A configuration file that cannot be read; the message names the file and each problem."""


def load_config(path: str | Path) -> BillingConfig:
    """Read a configuration file written by ``export --format yaml`` (or by hand in the same shape)."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigFileError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    except yaml.YAMLError as exc:
        raise ConfigFileError(f"{path}: not valid YAML: {exc}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigFileError(f"{path}: expected a mapping with `organization` and `projects`")
    if isinstance(data.get("projects"), dict):
        data = {**data, "projects": {str(name): value for name, value in data["projects"].items()}}
    try:
        return BillingConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigFileError(f"{path}: {validation_problems(exc)}") from None


def validation_problems(exc: ValidationError) -> str:
    """Each problem of a configuration as ``where: what`` (money errors in the provider's words)."""
    return "; ".join(_problem(error) for error in exc.errors())


def _problem(error: ErrorDetails) -> str:
    where = ".".join(str(part) for part in error["loc"])
    cause = error.get("ctx", {}).get("error")
    message = str(cause) if isinstance(cause, MoneyError) else error["msg"].removeprefix("Value error, ")
    return f"{where}: {message}"


def dump_config(billing: BillingConfig, header: Sequence[str] = ()) -> str:
    """The YAML text of a configuration (amounts as two-decimal strings), after ``header`` comment lines."""
    data = billing.model_dump(mode="json")
    for optional in ("top_up", "credit_grants"):
        if not data[optional]:
            del data[optional]
    for project in data["projects"].values():
        if not project["api_keys"]:
            del project["api_keys"]
    body = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=1000)
    return "".join(f"# {line}\n" for line in header) + body
