"""A project's cost controls in the sandbox (model and hosted-tool permissions, service tiers, rate limits) and the
project's residency and external key, through the locked ``openai`` SDK against the app in this process: every
answer is the SDK's model, a field left out stays, bad input is a 4xx in OpenAI's shape that changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import httpx2
import openai
import pytest
from fastapi.testclient import TestClient
from openai import OpenAI
from openai.types.admin.organization import Project
from openai.types.admin.organization.projects import (
    ProjectHostedToolPermissions,
    ProjectModelPermissions,
    ProjectModelPermissionsDeleted,
    ProjectRateLimit,
    ProjectServiceTierSettings,
)
from pydantic import BaseModel

from conftest import ADMIN_KEY, LOCAL_URL, Api
from pulumi_openai_billing.cli import main
from pulumi_openai_billing.sandbox import create_app
from pulumi_openai_billing.sandbox.rate_limits import ADDED_MODEL, CATALOGUE, OPTIONAL
from pulumi_openai_billing.testing import sandbox_process

TOOLS = ("code_interpreter", "file_search", "image_generation", "mcp", "web_search")
FINE_TUNED = "ft:gpt-4o-mini:acme::Ab12"


def sdk_of(http: TestClient) -> OpenAI:
    """The official SDK, unchanged, sending through ``http`` (the in-process app): nothing leaves the process."""

    def forward(request: httpx2.Request) -> httpx2.Response:
        answer = http.request(
            request.method, str(request.url), content=request.content, headers=list(request.headers.items())
        )
        return httpx2.Response(answer.status_code, headers=list(answer.headers.items()), content=answer.content)

    transport = httpx2.MockTransport(forward)
    return OpenAI(
        admin_api_key=ADMIN_KEY, base_url=LOCAL_URL, max_retries=0, http_client=httpx2.Client(transport=transport)
    )


@pytest.fixture
def sdk(local: Api) -> Iterator[OpenAI]:
    client = sdk_of(local.http)
    yield client
    client.close()


def raw(answer: Any) -> Any:
    """The JSON body of a ``with_raw_response`` call."""
    return answer.http_response.json()


def valid(model: type[BaseModel], body: Any) -> Any:
    """``body`` as the locked SDK's model reads it (every field it requires, of its type), and ``body`` itself."""
    model.model_validate(body)
    return body


def error_of(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}
    return body["error"]


def path(project_id: str, setting: str) -> str:
    return f"organization/projects/{project_id}/{setting}"


# -- defaults -----------------------------------------------------------------------------------------------


def test_a_new_project_reads_openai_defaults(local: Api, sdk: OpenAI) -> None:
    team = local.project("team")
    controls = sdk.admin.organization.projects
    models = valid(ProjectModelPermissions, raw(controls.model_permissions.with_raw_response.retrieve(team)))
    assert models == {"object": "project.model_permissions", "mode": "deny_list", "model_ids": []}, "nothing denied"
    tools = valid(ProjectHostedToolPermissions, raw(controls.hosted_tool_permissions.with_raw_response.retrieve(team)))
    assert tools == {"object": "project.hosted_tool_permissions", **{tool: {"enabled": True} for tool in TOOLS}}
    tiers = valid(ProjectServiceTierSettings, raw(controls.service_tier_settings.with_raw_response.retrieve(team)))
    assert tiers == {"object": "project.service_tier_settings", "default": "standard", "enabled_tiers": "all"}
    limits = raw(controls.rate_limits.with_raw_response.list_rate_limits(team))
    assert [limit["model"] for limit in limits["data"]] == sorted(CATALOGUE)
    assert {key: limits[key] for key in ("object", "has_more")} == {"object": "list", "has_more": False}
    state = local.state()
    assert all(state[kind] == {"projects": {}} for kind in ("model_permissions", "rate_limits")), (
        "defaults are unstored"
    )


def test_every_rate_limit_is_the_sdk_model_with_only_the_maxima_its_model_has(local: Api) -> None:
    team = local.project("team")
    limits = local.get(path(team, "rate_limits"))["data"]
    for limit in limits:
        valid(ProjectRateLimit, limit)
        defaults = CATALOGUE[limit["model"]]
        assert limit == {
            "id": f"rl-{limit['model']}",
            "object": "project.rate_limit",
            "model": limit["model"],
            **defaults,
        }
    present = {field for limit in limits for field in limit}
    assert set(OPTIONAL) <= present, "each optional maximum is somewhere in the catalogue"
    assert "max_images_per_1_minute" not in next(limit for limit in limits if limit["model"] == "gpt-4o"), "no null"


def test_every_route_of_a_missing_project_is_404(local: Api) -> None:
    routes = [
        ("GET", "model_permissions", None),
        ("POST", "model_permissions", {"mode": "allow_list", "model_ids": []}),
        ("DELETE", "model_permissions", None),
        ("GET", "hosted_tool_permissions", None),
        ("POST", "hosted_tool_permissions", {}),
        ("GET", "service_tier_settings", None),
        ("POST", "service_tier_settings", {}),
        ("GET", "rate_limits", None),
        ("POST", "rate_limits/rl-gpt-4o", {}),
    ]
    for method, setting, body in routes:
        answer = local.http.request(method, path("proj_missing", setting), json=body)
        assert error_of(answer, 404)["code"] == "project_not_found", (method, setting)


# -- model permissions --------------------------------------------------------------------------------------


def test_model_permissions_set_read_and_delete(local: Api, sdk: OpenAI) -> None:
    team, other = local.project("team"), local.project("other")
    permissions = sdk.admin.organization.projects.model_permissions
    answer = permissions.with_raw_response.update(team, mode="allow_list", model_ids=["o3", "gpt-4o", "o3", "gpt-4.1"])
    policy = valid(ProjectModelPermissions, raw(answer))
    assert policy == {
        "object": "project.model_permissions",
        "mode": "allow_list",
        "model_ids": ["o3", "gpt-4o", "gpt-4.1"],
    }
    assert permissions.retrieve(team).api_model_ids == ["o3", "gpt-4o", "gpt-4.1"]
    assert permissions.retrieve(other).mode == "deny_list", "one project's policy only"
    assert local.state()["model_permissions"] == {"projects": {team: policy}}

    replaced = permissions.update(team, mode="deny_list", model_ids=["gpt-4o-mini"])
    assert (replaced.mode, replaced.api_model_ids) == ("deny_list", ["gpt-4o-mini"])
    deleted = valid(ProjectModelPermissionsDeleted, raw(permissions.with_raw_response.delete(team)))
    assert deleted == {"object": "project.model_permissions.deleted", "deleted": True}
    assert permissions.retrieve(team).api_model_ids == []
    with pytest.raises(openai.NotFoundError) as again:
        permissions.delete(team)
    assert again.value.code == "model_permissions_not_found"
    assert local.state()["model_permissions"] == {"projects": {}}


# -- hosted tools and service tiers: a field left out stays ---------------------------------------------------


def test_a_hosted_tool_left_out_or_null_stays_as_it_is(local: Api, sdk: OpenAI) -> None:
    team = local.project("team")
    tools = sdk.admin.organization.projects.hosted_tool_permissions
    first = valid(ProjectHostedToolPermissions, raw(tools.with_raw_response.update(team, mcp={"enabled": False})))
    assert {tool: first[tool]["enabled"] for tool in TOOLS} == {tool: tool != "mcp" for tool in TOOLS}
    tools.update(team, web_search={"enabled": False}, file_search=None)
    now = tools.retrieve(team)
    assert (now.mcp.enabled, now.web_search.enabled, now.file_search.enabled) == (False, False, True)
    assert tools.update(team, mcp={"enabled": True}).mcp.enabled
    assert local.post(path(team, "hosted_tool_permissions"), {})["web_search"] == {"enabled": False}, "no change"
    shown = local.state()["hosted_tool_permissions"]["projects"][team]
    assert shown == local.get(path(team, "hosted_tool_permissions"))


def test_a_service_tier_field_left_out_stays(local: Api, sdk: OpenAI) -> None:
    team = local.project("team")
    tiers = sdk.admin.organization.projects.service_tier_settings
    answer = tiers.with_raw_response.update(team, enabled_tiers=["ultrafast", "flex", "flex"])
    first = valid(ProjectServiceTierSettings, raw(answer))
    assert (first["default"], first["enabled_tiers"]) == ("standard", ["flex", "ultrafast"]), "sorted, each once"
    assert tiers.update(team, default="scale").enabled_tiers == ["flex", "ultrafast"]
    assert tiers.update(team, enabled_tiers=[]).default == "scale"
    assert tiers.retrieve(team).enabled_tiers == []
    assert tiers.update(team, enabled_tiers="all").model_dump() == {
        "object": "project.service_tier_settings",
        "default": "scale",
        "enabled_tiers": "all",
    }


# -- rate limits ----------------------------------------------------------------------------------------------


def test_a_rate_limit_update_changes_only_what_it_sends_in_its_project(local: Api, sdk: OpenAI) -> None:
    team, other = local.project("team"), local.project("other")
    limits = sdk.admin.organization.projects.rate_limits
    answer = limits.with_raw_response.update_rate_limit("rl-o3", project_id=team, max_requests_per_1_minute=60)
    updated = valid(ProjectRateLimit, raw(answer))
    assert updated == {**limits_of(local, other)["rl-o3"], "max_requests_per_1_minute": 60}
    image = limits.update_rate_limit("rl-gpt-image-1", project_id=team, max_images_per_1_minute=0)
    assert (image.max_images_per_1_minute, image.max_tokens_per_1_minute) == (0, 8_000_000)
    assert limits_of(local, team)["rl-o3"] == updated
    assert limits_of(local, other)["rl-o3"]["max_requests_per_1_minute"] == CATALOGUE["o3"]["max_requests_per_1_minute"]
    assert [limit["id"] for limit in local.state()["rate_limits"]["projects"][team]] == ["rl-gpt-image-1", "rl-o3"]

    back = CATALOGUE["o3"]["max_requests_per_1_minute"]
    assert (
        limits.update_rate_limit("rl-o3", project_id=team, max_requests_per_1_minute=back).max_requests_per_1_minute
        == back
    )
    assert [limit["id"] for limit in local.state()["rate_limits"]["projects"][team]] == ["rl-gpt-image-1"], (
        "a limit back at its default is no longer stored"
    )
    with pytest.raises(openai.NotFoundError) as unknown:
        limits.update_rate_limit("rl-gpt-5-imaginary", project_id=team, max_requests_per_1_minute=1)
    assert unknown.value.code == "rate_limit_not_found"
    assert error_of(local.http.post(path(team, "rate_limits/gpt-4o"), json={}), 404)["code"] == "rate_limit_not_found"


def limits_of(local: Api, project_id: str) -> dict[str, dict[str, Any]]:
    return {limit["id"]: limit for limit in local.get(path(project_id, "rate_limits"))["data"]}


def test_rate_limits_page_by_cursor_in_model_order(local: Api, sdk: OpenAI) -> None:
    team = local.project("team")
    ids = [f"rl-{model}" for model in sorted(CATALOGUE)]
    limits = sdk.admin.organization.projects.rate_limits
    assert [limit.id for limit in limits.list_rate_limits(team, limit=3)] == ids, "every page, in order"

    first = local.get(path(team, "rate_limits"), limit=3)
    assert [item["id"] for item in first["data"]] == ids[:3]
    assert (first["first_id"], first["last_id"], first["has_more"]) == (ids[0], ids[2], True)
    last = local.get(path(team, "rate_limits"), limit=100, after=ids[-3])
    assert ([item["id"] for item in last["data"]], last["has_more"]) == (ids[-2:], False)
    before = local.get(path(team, "rate_limits"), limit=2, before=ids[3])
    assert ([item["id"] for item in before["data"]], before["has_more"]) == (ids[1:3], True)

    assert error_of(local.http.get(path(team, "rate_limits"), params={"after": "rl-nope"}), 400)["param"] == "after"
    for limit in (0, 101):
        assert error_of(local.http.get(path(team, "rate_limits"), params={"limit": limit}), 400)["param"] == "limit"


def test_added_models_join_every_project(local: Api) -> None:
    before = local.project("made before the app")
    with TestClient(
        create_app(ADMIN_KEY, rate_limit="off", models=[FINE_TUNED, "gpt-4o"]), base_url=LOCAL_URL + "/"
    ) as app:
        dashboard = Api(http=app)
        for project_id in (dashboard.project("one"), dashboard.project("two")):
            limits = limits_of(dashboard, project_id)
            assert limits[f"rl-{FINE_TUNED}"] == valid(
                ProjectRateLimit,
                {"id": f"rl-{FINE_TUNED}", "object": "project.rate_limit", "model": FINE_TUNED, **ADDED_MODEL},
            )
            assert limits["rl-gpt-4o"]["max_requests_per_1_minute"] == 10_000, "a catalogue model keeps its maxima"
            assert len(limits) == len(CATALOGUE) + 1
        changed = dashboard.post(path(project_id, f"rate_limits/rl-{FINE_TUNED}"), {"max_tokens_per_1_minute": 1})
        assert changed["max_tokens_per_1_minute"] == 1
    assert f"rl-{FINE_TUNED}" not in limits_of(local, before), "another sandbox's catalogue is its own"
    for bad in ("a/b", "", "two words"):
        with pytest.raises(ValueError, match="model"):
            create_app(ADMIN_KEY, models=[bad])


def test_the_sandbox_command_adds_each_model_it_is_given(capsys: pytest.CaptureFixture[str]) -> None:
    args = ("--rate-limit", "off", "--project", "team", "--model", FINE_TUNED, "--model", "babbage-002")
    auth = {"Authorization": f"Bearer {ADMIN_KEY}"}
    with sandbox_process(ADMIN_KEY, *args) as base_url, httpx.Client(base_url=base_url + "/", headers=auth) as http:
        team = http.get("organization/projects").json()["data"][0]["id"]
        listed = http.get(f"organization/projects/{team}/rate_limits").json()["data"]
    assert {f"rl-{FINE_TUNED}", "rl-babbage-002"} <= {limit["id"] for limit in listed}
    assert main(["sandbox", "--admin-key", "k", "--model", "a/b"]) == 2
    assert "--model 'a/b': a model name has" in capsys.readouterr().err


# -- bad input ------------------------------------------------------------------------------------------------

BAD = {
    "an unknown tier": ("service_tier_settings", {"enabled_tiers": ["flex", "turbo"]}, "enabled_tiers"),
    "tiers that are neither all nor a list": ("service_tier_settings", {"enabled_tiers": "some"}, "enabled_tiers"),
    "a null tier field": ("service_tier_settings", {"default": None}, "default"),
    "an unknown default tier": ("service_tier_settings", {"default": "flex"}, "default"),
    "a model id that is no string": (
        "model_permissions",
        {"mode": "allow_list", "model_ids": ["o3", 4]},
        "model_ids[1]",
    ),
    "an empty model id": ("model_permissions", {"mode": "deny_list", "model_ids": [""]}, "model_ids[0]"),
    "1001 model ids": ("model_permissions", {"mode": "deny_list", "model_ids": ["m"] * 1001}, "model_ids"),
    "a policy without its mode": ("model_permissions", {"model_ids": []}, "mode"),
    "an unknown mode": ("model_permissions", {"mode": "block_list", "model_ids": []}, "mode"),
    "an unknown tool": ("hosted_tool_permissions", {"mcp": {"enabled": False}, "shell": {"enabled": False}}, "shell"),
    "a tool's enabled as a string": ("hosted_tool_permissions", {"mcp": {"enabled": "false"}}, "mcp.enabled"),
    "a tool without enabled": ("hosted_tool_permissions", {"mcp": {}}, "mcp.enabled"),
    "a negative maximum": ("rate_limits/rl-gpt-4o", {"max_requests_per_1_minute": -1}, "max_requests_per_1_minute"),
    "a maximum as a float": ("rate_limits/rl-gpt-4o", {"max_tokens_per_1_minute": 2.0}, "max_tokens_per_1_minute"),
    "a null maximum": ("rate_limits/rl-gpt-4o", {"max_tokens_per_1_minute": None}, "max_tokens_per_1_minute"),
    "a maximum the model lacks": (
        "rate_limits/rl-gpt-4o",
        {"max_requests_per_1_minute": 5, "max_images_per_1_minute": 5},
        "max_images_per_1_minute",
    ),
    "an unknown maximum": ("rate_limits/rl-gpt-4o", {"max_requests_per_1_hour": 5}, "max_requests_per_1_hour"),
}


@pytest.mark.parametrize("setting, body, param", BAD.values(), ids=BAD.keys())
def test_bad_input_is_a_400_in_openai_shape_that_changes_nothing(
    local: Api, setting: str, body: dict[str, Any], param: str
) -> None:
    team = local.project("team")
    local.post(path(team, "service_tier_settings"), {"enabled_tiers": ["fast"]})
    local.post(path(team, "model_permissions"), {"mode": "allow_list", "model_ids": ["o3"]})
    before = local.state()
    problem = error_of(local.http.post(path(team, setting), json=body), 400)
    assert (problem["type"], problem["param"]) == ("invalid_request_error", param)
    if param == "max_images_per_1_minute":
        assert "gpt-4o" in problem["message"] and problem["code"] == "unsupported_parameter"
    assert local.state() == before


# -- projects -------------------------------------------------------------------------------------------------


def test_a_project_keeps_its_residency_and_external_key(local: Api, sdk: OpenAI) -> None:
    projects = sdk.admin.organization.projects
    made = valid(Project, raw(projects.with_raw_response.create(name="eu", residency="EU_STORAGE_PROCESSING")))
    assert (made["residency"], made["external_key_id"]) == ("EU_STORAGE_PROCESSING", None)
    keyed = projects.create(name="eu", external_key_id="ekey_123", geography="jp")
    assert (keyed.name, keyed.residency, keyed.external_key_id) == ("eu", "JP_STORAGE_PROCESSING", "ekey_123"), (
        "a name another active project has is fine; geography (deprecated) is a region"
    )
    assert projects.create(name="gb", geography="GB_STORAGE").residency == "GB_STORAGE"
    assert projects.create(name="plain").residency is None

    renamed = projects.update(made["id"], name="europe", external_key_id="ekey_456")
    assert (renamed.name, renamed.external_key_id, renamed.residency) == ("europe", "ekey_456", "EU_STORAGE_PROCESSING")
    assert projects.update(made["id"], name="europe-2").external_key_id == "ekey_456", "left out, it stays"
    cleared = valid(Project, local.post(f"organization/projects/{made['id']}", {"external_key_id": None}))
    assert (cleared["name"], cleared["external_key_id"]) == ("europe-2", None)

    archived = projects.archive(keyed.id)
    again = projects.archive(keyed.id)
    assert again.status == "archived" and again.archived_at == archived.archived_at, "archiving again changes nothing"
    assert [p["residency"] for p in local.state()["projects"]] == [
        "EU_STORAGE_PROCESSING",
        "JP_STORAGE_PROCESSING",
        "GB_STORAGE",
        None,
    ]


@pytest.mark.parametrize(
    "body, param",
    [
        ({"name": "x", "residency": "US_STORAGE_PROCESSING", "geography": "US"}, "geography"),
        ({"name": "x", "geography": "Atlantis"}, "geography"),
        ({"name": "x", "residency": "MARS_STORAGE"}, "residency"),
        ({"name": "x", "external_key_id": ""}, "external_key_id"),
    ],
    ids=["residency and geography", "an unknown region", "an unknown residency", "an empty external key"],
)
def test_a_project_create_with_a_bad_residency_is_refused(local: Api, body: dict[str, Any], param: str) -> None:
    assert error_of(local.http.post("organization/projects", json=body), 400)["param"] == param
    assert local.state()["projects"] == []
