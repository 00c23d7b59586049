"""The soak benchmark's short version (3 rounds at 20% faults), and the checks it counts with."""

from __future__ import annotations

import sys

from conftest import BENCHMARKS, Api, run_benchmark

sys.path.insert(0, str(BENCHMARKS))
import soak


def test_three_rounds_at_20_percent_faults_converge_without_duplicates_or_double_charges() -> None:
    """Each round also makes a project (never twice, even when the create's answer is dropped) and sets its
    controls; ``converged`` covers them after each up, the drift of two of them, and what destroy leaves."""
    done = run_benchmark("soak.py", "--rounds", "3", "--fault-rate", "0.2")
    figures = dict(line.split(": ", 1) for line in done.stdout.splitlines())
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert figures["rounds"] == "3" and figures["converged"] == "true"
    assert figures["duplicates"] == "0" and figures["double charges"] == "0"
    assert figures["duplicate projects"] == "0"
    assert int(figures["faults injected"]) > 0 and int(figures["retries"]) > 0
    assert int(figures["requests"]) > 3 * 200


def test_the_soak_counts_duplicates_in_a_live_account(api: Api) -> None:
    body = {
        "threshold_amount": 100,
        "currency": "USD",
        "interval": "month",
        "notification_channel": {"type": "email", "recipients": ["b@example.com", "a@example.com"]},
    }
    api.post(Api.alerts_path(), body)
    assert soak.duplicates(api.state()) == 0
    twin = {**body, "notification_channel": {"type": "email", "recipients": ["a@example.com", "b@example.com"]}}
    api.post(Api.alerts_path(), twin)
    api.post(Api.alerts_path(), {**body, "threshold_amount": 200})
    project = api.project("p")
    api.post(Api.alerts_path(project), body)
    assert soak.duplicates(api.state()) == 1, "same threshold and recipients in one scope; other scopes differ"


def test_the_soak_counts_active_projects_sharing_a_name(local: Api) -> None:
    first = local.project("soak-made-1-1")
    local.project("team-0")
    assert soak.duplicate_projects(local.state()) == []
    twin = local.project("soak-made-1-1")
    assert soak.duplicate_projects(local.state()) == [twin], "the younger of the two"
    local.post(f"organization/projects/{first}/archive", {})
    assert soak.duplicate_projects(local.state()) == [], "an archived project shares its name with no one"


def test_the_soak_checks_the_made_projects_controls_and_what_destroy_leaves(local: Api) -> None:
    spec = soak._spec([], "key", "soak-made-1-1", 30000)
    assert "0 active projects named soak-made-1-1" in soak.differences(local.state(), spec)
    made = local.project("soak-made-1-1")
    base = f"organization/projects/{made}"
    assert [d for d in soak.differences(local.state(), spec) if made in d] == [
        f"made project {made} limit is None",
        f"made project {made} model policy is None",
        f"made project {made} tools off are []",
        f"made project {made} tiers are {{'default': 'standard', 'enabled_tiers': 'all'}}",
        f"made project {made} gpt-4o-mini rpm is 30000",
    ]
    local.set_limit(soak.PROJECT_LIMIT_USD, made)
    local.post(f"{base}/model_permissions", {"mode": "allow_list", "model_ids": ["gpt-4o-mini", "gpt-4o"]})
    local.post(
        f"{base}/hosted_tool_permissions", {"web_search": {"enabled": False}, "image_generation": {"enabled": False}}
    )
    local.post(f"{base}/service_tier_settings", {"default": "standard", "enabled_tiers": ["flex"]})
    local.post(f"{base}/rate_limits/rl-gpt-4o-mini", {"max_requests_per_1_minute": 500})
    assert [d for d in soak.differences(local.state(), spec) if made in d] == []
    assert soak.leftovers(local.state(), spec) == [
        f"{made} limit",
        f"made project {made} active",
        f"made project {made} model policy",
        f"made project {made} gpt-4o-mini rpm 500 (not restored)",
    ]
    local.http.delete(f"{base}/spend_limit").raise_for_status()
    local.http.delete(f"{base}/model_permissions").raise_for_status()
    local.post(f"{base}/rate_limits/rl-gpt-4o-mini", {"max_requests_per_1_minute": 30000})
    local.post(f"{base}/archive", {})
    assert soak.leftovers(local.state(), spec) == [], "switches and tiers are kept by design"
    local.post(f"{base}/service_tier_settings", {"default": "scale"})
    assert soak.leftovers(local.state(), spec) == [f"made project {made} switches or tiers changed (not kept)"]


def test_the_soak_counts_a_second_charge_for_one_key() -> None:
    state = {
        "credit_purchases": [{"id": "cp_1", "purchase_key": "k"}, {"id": "cp_2", "purchase_key": "other"}],
        "charges": [
            {"purchase_id": "cp_1", "status": "succeeded"},
            {"purchase_id": "cp_1", "status": "failed"},
            {"purchase_id": "cp_2", "status": "succeeded"},
            {"purchase_id": None, "status": "succeeded"},
        ],
    }
    assert soak.double_charges(state) == 0, "a failed attempt and an auto-reload charge are not double charges"
    state["charges"].append({"purchase_id": "cp_1", "status": "succeeded"})
    assert soak.double_charges(state) == 1


def test_bad_options_are_refused() -> None:
    done = run_benchmark("soak.py", "--fault-rate", "2", timeout=60)
    assert done.returncode == 2 and "--fault-rate must be" in done.stderr


def test_the_soak_sees_an_account_that_differs_from_the_declared_one(api: Api) -> None:
    project = api.project("team-0")
    spec = soak._spec([project], "key")
    found = soak.differences(api.state(), spec)
    assert found[:2] == ["organization limit is None", "organization alerts differ"]
    assert f"{project} limit is None" in found and "no purchase key" in found
    api.set_limit(1)
    assert soak.leftovers(api.state(), spec) == ["organization limit"]
