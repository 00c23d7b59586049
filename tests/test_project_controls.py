"""A project and every cost control of it (models, hosted tools, service tiers, a rate limit) under Pulumi's real
engine against a sandbox server: preview, up, dashboard edits, refresh with the drift, up putting it back,
destroy honouring each delete rule; and bad input refused at preview with one line and nothing written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conftest import Api, new_local_step, plugin_config, write_program
from pulumi_openai_billing import providers
from pulumi_openai_billing.sandbox import Sandbox
from pulumi_openai_billing.testing import DeploymentError, Stack

PROGRAM = """
team = billing.Project("team", name="{name}", on_delete="archive")
billing.ProjectModelPermissions(
    "models", project_id=team.id, model_ids=["gpt-4o-mini", "gpt-4o"], on_delete="remove"
)
billing.ProjectHostedTools("tools", project_id=team.id, web_search=False, image_generation=False)
billing.ProjectServiceTiers("tiers", project_id=team.id, default="standard", enabled_tiers=["flex"])
billing.ProjectRateLimit(
    "mini-rate", project_id=team.id, model="gpt-4o-mini", max_requests_per_1_minute=100, on_delete="restore"
)
pulumi.export("project_id", team.id)
"""
NAMES = ["mini-rate", "models", "team", "tiers", "tools"]


def _live(api: Api, project: str) -> dict[str, Any]:
    """What the account holds for the project, in the words of the program."""
    base = f"organization/projects/{project}"
    tools = api.get(f"{base}/hosted_tool_permissions")
    tiers = api.get(f"{base}/service_tier_settings")
    rates = {r["model"]: r for r in api.get(f"{base}/rate_limits")["data"]}
    policy = api.get(f"{base}/model_permissions")
    return {
        "name": api.get(base)["name"],
        "status": api.get(base)["status"],
        "models": (policy["mode"], sorted(policy["model_ids"])),
        "tools": (tools["web_search"]["enabled"], tools["image_generation"]["enabled"], tools["mcp"]["enabled"]),
        "tiers": (tiers["default"], tiers["enabled_tiers"]),
        "rpm": rates["gpt-4o-mini"]["max_requests_per_1_minute"],
    }


def test_a_project_and_its_controls_through_their_whole_life(sandbox: Sandbox, api: Api, tmp_path: Path) -> None:
    stack = Stack(write_program(tmp_path, PROGRAM.format(name="team-e2e")), config=plugin_config(sandbox))
    api.clear_requests()
    assert stack.preview().ops() == dict.fromkeys(NAMES, "create")
    assert api.writes() == [], "a preview writes nothing"

    assert stack.up().ops() == dict.fromkeys(NAMES, "create")
    project = stack.exports()["project_id"]
    rate_id = next(
        r["id"] for r in api.get(f"organization/projects/{project}/rate_limits")["data"] if r["model"] == "gpt-4o-mini"
    )
    declared = {
        "name": "team-e2e",
        "status": "active",
        "models": ("allow_list", ["gpt-4o", "gpt-4o-mini"]),
        "tools": (False, False, True),
        "tiers": ("standard", ["flex"]),
        "rpm": 100,
    }
    original_rpm = stack.resources["mini-rate"]["restore_to"]["max_requests_per_1_minute"]
    assert _live(api, project) == declared and original_rpm > 100
    assert stack.preview().ops() == dict.fromkeys(NAMES, "same")

    base = f"organization/projects/{project}"
    api.post(base, {"name": "renamed-in-dashboard"})
    api.post(f"{base}/model_permissions", {"mode": "deny_list", "model_ids": ["o3"]})
    api.post(f"{base}/hosted_tool_permissions", {"web_search": {"enabled": True}, "mcp": {"enabled": False}})
    api.post(f"{base}/service_tier_settings", {"default": "scale", "enabled_tiers": "all"})
    api.post(f"{base}/rate_limits/{rate_id}", {"max_requests_per_1_minute": 77})

    refreshed = stack.refresh()
    assert set(refreshed.changed()) == set(NAMES), "every edit shows as drift"
    values = {name: refreshed.changes[name].values for name in NAMES}
    assert values["team"]["name"] == ("team-e2e", "renamed-in-dashboard")
    assert values["models"]["mode"] == ("allow_list", "deny_list")
    assert values["tools"]["web_search"] == (False, True) and "mcp" not in values["tools"], "undeclared: unmanaged"
    assert values["tiers"]["default"] == ("standard", "scale")
    assert values["mini-rate"]["max_requests_per_1_minute"] == (100, 77)

    assert stack.up().ops() == dict.fromkeys(NAMES, "update")
    assert _live(api, project) == {**declared, "tools": (False, False, False)}, "up puts back what is declared"
    assert stack.refresh().changed() == {}

    api.clear_requests()
    stack.destroy()
    live = _live(api, project)
    assert live["status"] == "archived" and live["models"] == ("deny_list", [])
    assert live["tools"] == (False, False, False) and live["tiers"] == ("standard", ["flex"]), "left as they are"
    assert live["rpm"] == original_rpm, "on_delete=restore put the rate limit back"


def test_an_existing_project_is_adopted_only_when_asked_and_never_duplicated(
    sandbox: Sandbox, api: Api, tmp_path: Path
) -> None:
    existing = api.project("shared-team")
    program = 'billing.Project("team", name="shared-team"{adopt})\n'
    stack = Stack(write_program(tmp_path, program.format(adopt="")), config=plugin_config(sandbox))
    api.clear_requests()
    with pytest.raises(DeploymentError) as refused:
        stack.preview()
    assert f"an active project named 'shared-team' already exists ({existing})" in str(refused.value)
    assert api.writes() == []

    write_program(tmp_path, program.format(adopt=", adopt_existing=True"))
    assert stack.up().ops() == {"team": "create"}
    assert stack.ids()["team"] == existing and api.writes() == [], "adopting an equal project writes nothing"
    stack.destroy()
    assert api.get(f"organization/projects/{existing}")["status"] == "active", "retained by default"
    assert [p["id"] for p in api.get("organization/projects", limit=100)["data"] if p["name"] == "shared-team"] == [
        existing
    ]


BAD = {
    "an empty project name": ('billing.Project("t", name="  ")', "name"),
    "a tool switch that is not a boolean": (
        'billing.ProjectHostedTools("h", project_id="{p}", web_search="no")',
        "web_search must be a valid boolean",
    ),
    "an unknown tier": ('billing.ProjectServiceTiers("t", project_id="{p}", enabled_tiers=["turbo"])', "enabled_tiers"),
    "a model id that is not a string": (
        'billing.ProjectModelPermissions("m", project_id="{p}", model_ids=["gpt-4o", 5])',
        "model_ids",
    ),
    "a negative maximum": (
        'billing.ProjectRateLimit("r", project_id="{p}", model="gpt-4o", max_tokens_per_1_minute=-1)',
        "max_tokens_per_1_minute",
    ),
    "a model without a rate limit": (
        'billing.ProjectRateLimit("r", project_id="{p}", model="gpt-9", max_requests_per_1_minute=5)',
        "has no rate limit for 'gpt-9' (its models: ",
    ),
    "a model without a rate limit, in a project this run makes": (
        'made = billing.Project("made", name="made-here")\n'
        'billing.ProjectRateLimit("r", project_id=made.id, model="gpt-9", max_requests_per_1_minute=5)',
        "the organization's projects have no rate limit for 'gpt-9' (judged by project {p}",
    ),
    "a maximum the model lacks": (
        'billing.ProjectRateLimit("r", project_id="{p}", model="gpt-4o", max_images_per_1_minute=5)',
        "model gpt-4o has no max_images_per_1_minute",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_refused_at_preview_with_one_line_and_nothing_written(
    case: str, sandbox: Sandbox, api: Api, tmp_path: Path
) -> None:
    project = api.project("team")
    source, expected = BAD[case]
    stack = Stack(write_program(tmp_path, source.format(p=project) + "\n"), config=plugin_config(sandbox))
    api.clear_requests()
    with pytest.raises(DeploymentError) as refused:
        stack.preview()
    errors = refused.value.errors
    assert len(errors) == 1 and "\n" not in errors[0] and expected.format(p=project) in errors[0], errors
    assert api.writes() == []


def test_the_controls_of_an_archived_project_read_as_gone(local: Api) -> None:
    project = local.project("short-lived")
    made = {}
    for name, declared in {
        "ProjectModelPermissions": {"model_ids": ["gpt-4o"]},
        "ProjectHostedTools": {"mcp": False},
        "ProjectServiceTiers": {"default": "fast"},
        "ProjectRateLimit": {"model": "gpt-4o", "max_requests_per_1_minute": 10},
    }.items():
        provider = providers.PROVIDERS[name]()
        made[name] = (provider, provider.create(provider.check({}, {"project_id": project, **declared}).inputs))
    local.post(f"organization/projects/{project}/archive", {})
    new_local_step(local.transport)
    assert {
        name: provider.read(created.id, created.outs).id for name, (provider, created) in made.items()
    } == dict.fromkeys(made, "")


def test_a_deny_list_of_no_models_is_refused_it_would_read_as_no_policy(local: Api) -> None:
    project = local.project("team")
    local.clear_requests()
    failures = (
        providers.PROVIDERS["ProjectModelPermissions"]()
        .check({}, {"project_id": project, "mode": "deny_list", "model_ids": []})
        .failures
    )
    assert [f.reason for f in failures] == [
        "model_ids: a deny-list of no models denies nothing (it is no policy); list models"
    ]
    assert local.writes() == []
