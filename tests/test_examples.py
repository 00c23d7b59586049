"""Every example program, through ``testing``: preview -> up -> up (no change) -> an edit in the sandbox
-> refresh (drift seen by property name) -> up (restored) -> refresh and preview clean -> destroy."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import Api, plugin_config
from pulumi_openai_billing.sandbox import Sandbox
from pulumi_openai_billing.testing import Stack

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _edit_alert(api: Api, outputs: dict[str, Any], **channel: Any) -> None:
    """Change an alert as someone in the dashboard would (a full update of its fields)."""
    api.post(
        f"{api.alerts_path(outputs.get('project_id'))}/{outputs['alert_id']}",
        {
            "threshold_amount": int(outputs["threshold_cents"]),
            "currency": "USD",
            "interval": "month",
            "notification_channel": {
                "type": "email",
                "recipients": outputs["recipients"],
                "subject_prefix": outputs["subject_prefix"],
                **channel,
            },
        },
    )


def _delete_alert(api: Api, outputs: dict[str, Any]) -> None:
    api.http.delete(f"{api.alerts_path(outputs.get('project_id'))}/{outputs['alert_id']}").raise_for_status()


@dataclass
class Example:
    directory: str
    projects: tuple[str, ...]
    config: dict[str, str]
    drift: Callable[[Api, dict[str, dict[str, Any]]], None]
    drifted: dict[str, str]
    """Resource -> the property refresh must name (``-`` when the resource is gone)."""


def _quickstart_drift(api: Api, resources: dict[str, dict[str, Any]]) -> None:
    api.set_limit(6000)
    _edit_alert(api, resources["org-alert-80"], recipients=["someone@example.com"])
    _delete_alert(api, resources["team-a-alert"])


def _gitops_drift(api: Api, resources: dict[str, dict[str, Any]]) -> None:
    api.set_limit(11000)
    _edit_alert(api, resources["team-a-alert-80"], recipients=["intruder@example.com"])
    _delete_alert(api, resources["team-b-alert-50"])


def _prepaid_drift(api: Api, resources: dict[str, dict[str, Any]]) -> None:
    api.set_policy(balance_threshold_amount=5000, target_balance_amount=10000, monthly_reload_limit_amount=30000)


EXAMPLE_RUNS = [
    Example(
        "quickstart",
        ("team-a",),
        {},
        _quickstart_drift,
        {"org-limit": "monthly_limit_usd", "org-alert-80": "recipients", "team-a-alert": "-"},
    ),
    Example(
        "gitops",
        ("team-a", "team-b"),
        {
            "billing-gitops:finops": json.dumps(["finops@example.com"]),
            "billing-gitops:teams": json.dumps(
                {"team-a": {"budget_usd": "500", "hard_limit_percent": 120}, "team-b": {"budget_usd": "1500"}}
            ),
        },
        _gitops_drift,
        {"organization-limit": "monthly_limit_usd", "team-a-alert-80": "recipients", "team-b-alert-50": "-"},
    ),
    Example("prepaid-credits", (), {}, _prepaid_drift, {"auto-reload": "balance_threshold_usd"}),
]


def test_every_example_program_is_exercised() -> None:
    programs = {p.parent.name for p in EXAMPLES.glob("*/Pulumi.yaml")}
    assert programs == {e.directory for e in EXAMPLE_RUNS}
    packs = {p.parent.name for p in EXAMPLES.glob("*/PulumiPolicy.yaml")}
    assert packs == {"policy-pack"}, "policy packs are exercised by tests/test_policy.py"


@pytest.mark.parametrize("example", EXAMPLE_RUNS, ids=lambda e: e.directory)
def test_example_lifecycle(sandbox: Sandbox, api: Api, tmp_path: Path, example: Example) -> None:
    for name in example.projects:
        api.project(name)
    config = {**plugin_config(sandbox), **example.config}
    stack = Stack(EXAMPLES / example.directory, config=config, backend_dir=tmp_path / "backend")

    api.clear_requests()
    preview = stack.preview()
    names = set(preview.ops())
    assert set(preview.ops().values()) == {"create"} and api.writes() == []
    assert set(stack.up().ops().values()) == {"create"}

    api.clear_requests()
    assert stack.up().changed() == {} and api.writes() == [], "a second up changes nothing"

    example.drift(api, stack.resources)
    refreshed = stack.refresh()
    drift = {name: change for name, change in refreshed.changes.items() if change.op != "same"}
    assert set(drift) == set(example.drifted)
    for name, prop in example.drifted.items():
        if prop == "-":
            assert drift[name].op == "delete"
        else:
            assert drift[name].op == "update" and prop in drift[name].properties

    restored = stack.up().changed()
    assert set(restored) == set(example.drifted)
    assert all(restored[n].op == ("create" if p == "-" else "update") for n, p in example.drifted.items())
    assert stack.refresh().changed() == {}, "after the restoring up the live account equals the declaration"
    assert stack.preview().changed() == {}

    destroyed = stack.destroy()
    assert set(destroyed.ops()) == names and stack.resources == {}


def test_gitops_workflow_previews_applies_and_checks_drift_with_the_policy_pack() -> None:
    workflow = yaml.safe_load((EXAMPLES / "gitops" / ".github" / "workflows" / "billing.yml").read_text())
    jobs = workflow["jobs"]
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as a boolean
    assert {"pull_request", "push", "schedule"} <= set(triggers)

    def commands(job: str) -> str:
        return "\n".join(step.get("run", "") for step in jobs[job]["steps"])

    assert "head.repo.full_name == github.repository" in jobs["preview"]["if"], "never for forks"
    assert "pulumi preview" in commands("preview") and "--json" in commands("preview")
    assert "openai-billing plan-report preview.json" in commands("preview")
    assert "pulumi up" in commands("up") and jobs["up"]["if"].endswith("refs/heads/main'")
    assert "--refresh --expect-no-changes" in commands("drift")
    for job in ("preview", "up", "drift"):
        assert "$POLICY" in commands(job), f"{job} runs the policy pack"
        assert jobs[job]["environment"].startswith("billing-"), "the admin key comes from a protected environment"
        assert jobs[job]["env"]["OPENAI_ADMIN_KEY"] == "${{ secrets.OPENAI_ADMIN_KEY }}"
    assert "--policy-pack ../policy-pack" in workflow["env"]["POLICY"]
    assert "OPENAI_ADMIN_KEY" not in json.dumps(workflow.get("env", {}))
