"""A project's cost controls, each held once per project: the models it may use (``model_permissions``), the hosted
tools it may call (``hosted_tool_permissions``) and its service tiers (``service_tier_settings``). Each is a
``ScopedSetting`` at the project scope; a project without one reads as OpenAI's default (nothing denied, every tool
enabled, the standard tier with every other tier enabled). The rate limits per model are in ``rate_limits``."""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, Field, StrictBool, StrictStr, field_validator

from .answers import Answer
from .models import Body, Partial, not_null
from .scoped import ScopedSetting

Fields = dict[str, Any]

# -- model permissions --------------------------------------------------------------------------------------

ModelMode = Literal["allow_list", "deny_list"]


class ModelPermissionsIn(Body):
    """POST body setting a project's model policy (a replace): only these models (``allow_list``) or every model but
    these (``deny_list``). The ids are kept in the order sent, each once."""

    mode: ModelMode
    model_ids: Annotated[list[Annotated[StrictStr, Field(min_length=1, max_length=256)]], Field(max_length=1000)]


class ModelPermissions(Answer):
    object: Literal["project.model_permissions"]
    mode: ModelMode
    model_ids: list[str]


class ModelPermissionsDeleted(Answer):
    object: Literal["project.model_permissions.deleted"]
    deleted: bool


def _model_policy(current: Fields | None, body: BaseModel) -> Fields:
    assert isinstance(body, ModelPermissionsIn)
    return {"mode": body.mode, "model_ids": list(dict.fromkeys(body.model_ids))}


MODEL_PERMISSIONS = ScopedSetting(
    name="model_permissions",
    state="model_permissions",
    body=ModelPermissionsIn,
    answer=ModelPermissions,
    deleted=ModelPermissionsDeleted,
    scopes=("project",),
    unset=lambda settings: {"mode": "deny_list", "model_ids": []},
    update=_model_policy,
)

# -- hosted tool permissions --------------------------------------------------------------------------------

TOOLS = ("code_interpreter", "file_search", "image_generation", "mcp", "web_search")


class HostedToolIn(Body):
    enabled: StrictBool


class HostedToolPermissionsIn(Body):
    """POST body turning hosted tools on or off: a tool left out (or null) stays as it is."""

    code_interpreter: HostedToolIn | None = None
    file_search: HostedToolIn | None = None
    image_generation: HostedToolIn | None = None
    mcp: HostedToolIn | None = None
    web_search: HostedToolIn | None = None


class HostedTool(Answer):
    enabled: bool


class HostedToolPermissions(Answer):
    """The SDK's ``ProjectHostedToolPermissions`` names no ``object`` but keeps extra fields, so the sandbox sends
    one, as every other project setting answers."""

    object: Literal["project.hosted_tool_permissions"]
    code_interpreter: HostedTool
    file_search: HostedTool
    image_generation: HostedTool
    mcp: HostedTool
    web_search: HostedTool


def _every_tool() -> Fields:
    return {tool: {"enabled": True} for tool in TOOLS}


def _tools(current: Fields | None, body: BaseModel) -> Fields:
    assert isinstance(body, HostedToolPermissionsIn)
    changed = {tool: sent.model_dump() for tool in TOOLS if (sent := getattr(body, tool)) is not None}
    return {**(current or _every_tool()), **changed}


HOSTED_TOOL_PERMISSIONS = ScopedSetting(
    name="hosted_tool_permissions",
    state="hosted_tool_permissions",
    body=HostedToolPermissionsIn,
    answer=HostedToolPermissions,
    deleted=None,
    scopes=("project",),
    unset=lambda settings: _every_tool(),
    update=_tools,
)

# -- service tier settings ----------------------------------------------------------------------------------

DefaultTier = Literal["standard", "fast", "scale"]
OptionalTier = Literal["flex", "fast", "ultrafast"]
EnabledTiers = Literal["all"] | list[OptionalTier]
"""``all`` (future tiers too), or the tiers enabled besides standard (``[]``: standard alone)."""


class ServiceTierSettingsIn(Partial):
    """POST body of a project's service tiers: a field left out stays; ``enabled_tiers`` is kept sorted, each tier
    once."""

    default: DefaultTier | None = None
    enabled_tiers: EnabledTiers | None = None

    @field_validator("enabled_tiers", mode="before")
    @classmethod
    def _tiers(cls, value: Any) -> Any:
        """``all`` or a list of known tiers (sorted, each once), refused here whole so the error names the field."""
        tiers = get_args(OptionalTier)
        if not_null(value) == "all":
            return value
        if not isinstance(value, list):
            raise ValueError(f"must be 'all' or a list of {', '.join(tiers)}")
        for tier in value:
            if tier not in tiers:
                raise ValueError(f"{str(tier)[:40]!r} is no optional service tier; choose from {', '.join(tiers)}")
        return sorted(set(value))


class ServiceTierSettings(Answer):
    object: Literal["project.service_tier_settings"]
    default: DefaultTier
    enabled_tiers: EnabledTiers


def _standard() -> Fields:
    return {"default": "standard", "enabled_tiers": "all"}


def _tier_update(current: Fields | None, body: BaseModel) -> Fields:
    assert isinstance(body, ServiceTierSettingsIn)
    return {**(current or _standard()), **body.model_dump(exclude_unset=True)}


SERVICE_TIER_SETTINGS = ScopedSetting(
    name="service_tier_settings",
    state="service_tier_settings",
    body=ServiceTierSettingsIn,
    answer=ServiceTierSettings,
    deleted=None,
    scopes=("project",),
    unset=lambda settings: _standard(),
    update=_tier_update,
)
