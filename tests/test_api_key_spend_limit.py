"""``ApiKeySpendLimit``: a monthly hard limit on one project API key, against the sandbox's keys.

The fast cases call the provider in this process against the in-process sandbox (``local``); the lifecycle runs
a program under Pulumi's real engine (``testing.Stack``) against a sandbox server.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conftest import Api, new_local_step, plugin_config, this_month, write_program
from pulumi_openai_billing import get_api_key, providers
from pulumi_openai_billing.errors import ProviderError
from pulumi_openai_billing.sandbox import Sandbox
from pulumi_openai_billing.testing import Stack

KIND = "ApiKeySpendLimit"


def _provider() -> Any:
    return providers.PROVIDERS[KIND]()


def _limit(api: Api, project_id: str, api_key_id: str) -> int | None:
    limit = api.get(f"organization/projects/{project_id}/api_keys/{api_key_id}")["spend_limit"]
    return None if limit is None else int(limit["threshold_amount"])


def _refused(api: Api, declared: dict[str, Any]) -> str:
    """The one failure check gives ``declared``, having written nothing."""
    api.clear_requests()
    failures = _provider().check({}, declared).failures
    assert len(failures) == 1, failures
    assert api.writes() == []
    reason = str(failures[0].reason)
    assert "\n" not in reason
    return reason


def test_a_key_of_another_project_an_unknown_key_and_a_negative_amount_are_refused_at_check(local: Api) -> None:
    team, other = local.project("team"), local.project("other")
    theirs = local.api_key(other, "theirs")
    reason = _refused(local, {"project_id": team, "api_key_id": theirs, "monthly_limit_usd": 10})
    assert reason.startswith("api_key_id") and f"project {team} has no API key {theirs}" in reason
    reason = _refused(local, {"project_id": team, "api_key_id": "key_missing0", "monthly_limit_usd": 10})
    assert "key_missing0" in reason
    ours = local.api_key(team)
    reason = _refused(local, {"project_id": team, "api_key_id": ours, "monthly_limit_usd": -1})
    assert reason.startswith("monthly_limit_usd")
    reason = _refused(local, {"project_id": "proj_missing", "api_key_id": ours, "monthly_limit_usd": 10})
    assert reason.startswith("project_id")
    assert _limit(local, team, ours) is None and _limit(local, other, theirs) is None


def test_a_live_limit_is_taken_over_only_with_adopt_existing(local: Api) -> None:
    team = local.project("team")
    key = local.api_key(team)
    local.set_key_limit(team, key, 80)
    declared = {"project_id": team, "api_key_id": key, "monthly_limit_usd": 80}
    reason = _refused(local, declared)
    assert "already has a monthly spend limit of 80.00 USD" in reason and "adopt_existing=True" in reason

    new_local_step(local.transport)
    provider = _provider()
    checked = provider.check({}, {**declared, "adopt_existing": True})
    assert checked.failures == []
    local.clear_requests()
    created = provider.create(checked.inputs)
    assert created.id == f"{team}/{key}" and local.writes() == [], "an equal live limit is adopted without a write"
    assert created.outs["monthly_limit_cents"] == 8000 and created.outs["enforcement_status"] == "inactive"
    assert created.outs["key_name"] == "ci" and created.outs["key_redacted_value"].startswith("sk-proj-")


def test_a_deleted_key_reads_as_gone_and_remove_clears_only_the_limit(local: Api) -> None:
    team = local.project("team")
    kept, deleted = local.api_key(team, "kept"), local.api_key(team, "deleted")
    provider = _provider()
    made = {
        key: provider.create(
            provider.check(
                {}, {"project_id": team, "api_key_id": key, "monthly_limit_usd": 20, "on_delete": "remove"}
            ).inputs
        )
        for key in (kept, deleted)
    }
    local.http.delete(f"organization/projects/{team}/api_keys/{deleted}").raise_for_status()
    new_local_step(local.transport)
    assert provider.read(made[deleted].id, made[deleted].outs).id == ""

    local.clear_requests()
    provider.delete(made[kept].id, made[kept].outs)
    writes = local.writes()
    assert [(w["method"], w["path"]) for w in writes] == [("POST", f"/v1/organization/projects/{team}/api_keys/{kept}")]
    assert _limit(local, team, kept) is None
    assert [k["name"] for k in local.get(f"organization/projects/{team}/api_keys")["data"]] == ["kept"]
    provider.delete(made[deleted].id, made[deleted].outs)  # its key is gone: nothing to remove, no error


def test_lowering_below_the_keys_spend_needs_an_acknowledgement_read_once_per_step(local: Api) -> None:
    team = local.project("team")
    keys = [local.api_key(team, f"k{i}") for i in range(2)]
    for key in keys:
        local.set_key_limit(team, key, 100)
    local.post("sandbox/usage", {"project_id": team, "amount_usd": "50", "api_key_id": keys[0]})
    local.post("sandbox/usage", {"project_id": team, "amount_usd": "5", "api_key_id": keys[1]})
    new_local_step(local.transport)
    local.clear_requests()
    provider = _provider()
    olds = {"project_id": team, "monthly_limit_usd": "100.00", "on_delete": "retain", "adopt_existing": False}
    lowered = [
        provider.check({**olds, "api_key_id": key}, {**olds, "api_key_id": key, "monthly_limit_usd": 52})
        for key in keys
    ]
    assert len(lowered[0].failures) == 1
    reason = lowered[0].failures[0].reason
    assert "month-to-date spend is 50.00 USD" in reason and f'acknowledge_until="{this_month()}"' in reason
    assert lowered[1].failures == [], "the other key spent little: its limit may go down to 52"
    costs = [r for r in local.requests() if r["path"] == "/v1/organization/costs"]
    assert len(costs) == 1 and "group_by%5B%5D=api_key_id" in costs[0]["query"]
    acknowledged = {**olds, "api_key_id": keys[0], "monthly_limit_usd": 52, "acknowledge_until": this_month()}
    assert provider.check({**olds, "api_key_id": keys[0]}, acknowledged).failures == []


def test_get_api_key_finds_one_key_by_name_and_names_the_ids_of_several(local: Api) -> None:
    team = local.project("team")
    ci = local.api_key(team, "ci")
    twins = [local.api_key(team, "twin") for _ in range(2)]
    local.set_key_limit(team, ci, 12)
    found = get_api_key(team, name="ci")
    assert (found.id, found.project_id, found.monthly_limit_usd, found.owner_type) == (ci, team, "12.00", "user")
    with pytest.raises(ProviderError) as raised:
        get_api_key(team, name="twin")
    assert all(twin in str(raised.value) for twin in twins)
    with pytest.raises(ProviderError, match="no API key"):
        get_api_key(team, name="nobody")


PROGRAM = """
key = billing.get_api_key("{project}", name="ci")
billing.ApiKeySpendLimit(
    "key-cap", project_id="{project}", api_key_id=key.id, monthly_limit_usd={usd}, on_delete="{on_delete}"
)
"""


@pytest.mark.parametrize("on_delete", ["retain", "remove"])
def test_lifecycle_under_the_real_engine(sandbox: Sandbox, api: Api, tmp_path: Path, on_delete: str) -> None:
    team = api.project("team")
    key = api.api_key(team, "ci")
    program = write_program(tmp_path, PROGRAM.format(project=team, usd=50, on_delete=on_delete))
    stack = Stack(program, config=plugin_config(sandbox), backend_dir=tmp_path / "backend")

    api.clear_requests()
    assert stack.preview().ops() == {"key-cap": "create"}
    assert api.writes() == []
    assert stack.up().ops() == {"key-cap": "create"}
    assert _limit(api, team, key) == 5000
    assert stack.ids()["key-cap"] == f"{team}/{key}"

    api.set_key_limit(team, key, 70)
    refreshed = stack.refresh()
    assert set(refreshed.changed()) == {"key-cap"}
    assert refreshed.changes["key-cap"].values["monthly_limit_usd"] == ("50.00", "70.00")
    assert stack.up().ops() == {"key-cap": "update"}
    assert _limit(api, team, key) == 5000, "up puts the declared limit back"
    assert stack.refresh().changed() == {}

    destroyed = stack.destroy()
    assert destroyed.changes["key-cap"].label == ("kept (on_delete=retain)" if on_delete == "retain" else "delete")
    assert _limit(api, team, key) == (5000 if on_delete == "retain" else None)
    assert [k["id"] for k in api.get(f"organization/projects/{team}/api_keys")["data"]] == [key], "the key stays"
