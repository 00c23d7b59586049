"""Which paid hosted tools a project may use: five switches, each managed only when declared.

``GET``/``POST organization/projects/{project_id}/hosted_tool_permissions``; every project always has them, and a
``POST`` changes only the tools it names, so a switch this resource does not declare is never sent or read back.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

import pulumi
from pydantic import StrictBool

from ._fields import InputModel, NoOutputs, ProjectId, described
from ._resource import BillingResource
from ._singleton import SingletonKind

TOOLS = ("code_interpreter", "file_search", "image_generation", "mcp", "web_search")


def _switch(tool: str) -> Any:
    return described(f"Whether the project may use {tool.replace('_', ' ')}; left out, it is not managed.")


class ProjectHostedToolsInputs(InputModel):
    project_id: Annotated[ProjectId, described("The project (proj_…) whose tools it sets; changing it replaces.")]
    code_interpreter: Annotated[StrictBool | None, _switch("code_interpreter")] = None
    file_search: Annotated[StrictBool | None, _switch("file_search")] = None
    image_generation: Annotated[StrictBool | None, _switch("image_generation")] = None
    mcp: Annotated[
        StrictBool | None, described("Whether the project may use remote MCP servers; left out, it is not managed.")
    ] = None
    web_search: Annotated[StrictBool | None, _switch("web_search")] = None


class ProjectHostedToolsKind(SingletonKind):
    name = "ProjectHostedTools"
    family = "tools"
    inputs = ProjectHostedToolsInputs
    outputs = NoOutputs
    setting = "hosted_tool_permissions"
    occupiable = False
    managed_when_declared = frozenset(TOOLS)
    one_of = TOOLS

    def show(self, live: dict[str, Any]) -> str:
        return ", ".join(f"{tool} {'on' if _enabled(live, tool) else 'off'}" for tool in TOOLS)

    def body(self, values: dict[str, Any]) -> dict[str, Any]:
        return {tool: {"enabled": values[tool]} for tool in TOOLS if values.get(tool) is not None}

    def live_inputs(self, live: dict[str, Any], scope: str | None) -> dict[str, Any]:
        return {"project_id": scope, **{tool: _enabled(live, tool) for tool in TOOLS}}

    def live_outputs(self, live: dict[str, Any]) -> dict[str, Any]:
        return NoOutputs.of()


def _enabled(live: dict[str, Any], tool: str) -> bool:
    return bool((live.get(tool) or {}).get("enabled"))


class ProjectHostedTools(BillingResource):
    """The paid hosted tools a project may use (code interpreter, file search, image generation, MCP, web search).

    Only the switches it declares are managed; the others are never sent and never diff. Destroying it leaves
    the live switches as they are (a project always has them).
    """

    _kind: ClassVar = ProjectHostedToolsKind
    project_id: pulumi.Output[str]
    code_interpreter: pulumi.Output[bool | None]
    file_search: pulumi.Output[bool | None]
    image_generation: pulumi.Output[bool | None]
    mcp: pulumi.Output[bool | None]
    web_search: pulumi.Output[bool | None]

    def __init__(
        self,
        resource_name: str,
        *,
        project_id: pulumi.Input[str],
        code_interpreter: pulumi.Input[bool] | None = None,
        file_search: pulumi.Input[bool] | None = None,
        image_generation: pulumi.Input[bool] | None = None,
        mcp: pulumi.Input[bool] | None = None,
        web_search: pulumi.Input[bool] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(resource_name, locals(), opts)
