"""Every example program under Pulumi's real engine: preview -> up -> preview (no change) -> an edit in the
sandbox -> refresh (the drifted properties with old -> new values) -> up (restored) -> refresh and preview
clean -> destroy (limits and policies kept as ``on_delete`` says)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic.alias_generators import to_snake

from conftest import Api, pip_env, plugin_config
from pulumi_openai_billing.sandbox import Sandbox
from pulumi_openai_billing.testing import Stack
from test_sdk_examples import LANGUAGES

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
    drifted: dict[str, tuple[str, Any, Any] | None]
    """Resource -> ``(property, old, new)`` refresh must report (None when the resource is gone)."""
    kept: Callable[[Api, dict[str, dict[str, Any]]], bool] = lambda api, resources: True
    """What destroy leaves live (``on_delete="retain"``), checked against the sandbox."""
    setup: Callable[[Api], dict[str, str]] = lambda api: {}
    """What the account holds before the first preview (besides ``projects``); the stack config it adds."""


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


def _team_project_setup(api: Api) -> dict[str, str]:
    """The team's project exists with a CI key, so the program adopts it and declares the per-key limit too."""
    project = api.project("team-c")
    return {
        "openai-billing-team-project:adoptExisting": "true",
        "openai-billing-team-project:apiKeyId": api.api_key(project, "ci"),
    }


def _team_project_drift(api: Api, resources: dict[str, dict[str, Any]]) -> None:
    base = f"organization/projects/{resources['team-models']['project_id']}"
    api.post(f"{base}/hosted_tool_permissions", {"web_search": {"enabled": True}})
    api.post(f"{base}/service_tier_settings", {"default": "scale"})
    api.post(
        f"{base}/rate_limits/{resources['team-gpt-4o-mini-rate']['rate_limit_id']}", {"max_tokens_per_1_minute": 7}
    )


def _team_project_kept(api: Api, resources: dict[str, dict[str, Any]]) -> bool:
    project = resources["team-models"]["project_id"]
    base = f"organization/projects/{project}"
    rate = next(r for r in api.get(f"{base}/rate_limits")["data"] if r["model"] == "gpt-4o-mini")
    key = api.get(f"{base}/api_keys/{resources['team-ci-key-limit']['api_key_id']}")
    return (
        api.get(base)["status"] == "active"
        and api.get(f"{base}/spend_limit")["threshold_amount"] == 100000
        and api.get(f"{base}/model_permissions")["mode"] == "allow_list"
        and api.get(f"{base}/hosted_tool_permissions")["web_search"]["enabled"] is False
        and key["spend_limit"]["threshold_amount"] == 20000
        and (rate["max_requests_per_1_minute"], rate["max_tokens_per_1_minute"]) == (30000, 150000000)
    )


def _quickstart_kept(api: Api, resources: dict[str, dict[str, Any]]) -> bool:
    project = resources["team-a-limit"]["project_id"]
    return (
        api.get("organization/spend_limit")["threshold_amount"] == 500000
        and api.get(f"organization/projects/{project}/spend_limit")["threshold_amount"] == 75000
    )


def _quickstart(directory: str, limit_property: str) -> Example:
    """The quickstart's organization, in the language of ``directory``."""
    drifted: dict[str, tuple[str, Any, Any] | None] = {
        "org-limit": (limit_property, "5000.00", "6000.00"),
        "org-alert-80": ("recipients", ["finops@example.com", "platform@example.com"], ["someone@example.com"]),
        "team-a-alert": None,
    }
    return Example(directory, ("team-a",), {}, _quickstart_drift, drifted, _quickstart_kept)


EXAMPLE_RUNS = [
    _quickstart("quickstart", "monthly_limit_usd"),
    _quickstart("yaml", "monthlyLimitUsd"),  # the same organization in YAML, through the plugin (camelCase names)
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
        {
            "organization-limit": ("monthly_limit_usd", "10000.00", "11000.00"),
            "team-a-alert-80": ("recipients", ["finops@example.com"], ["intruder@example.com"]),
            "team-b-alert-50": None,
        },
        lambda api, r: api.get("organization/spend_limit")["threshold_amount"] == 1000000,
    ),
    Example(
        "prepaid-credits",
        (),
        {},
        _prepaid_drift,
        {"auto-reload": ("balance_threshold_usd", "20.00", "50.00")},
        lambda api, r: (
            api.billing("auto_reload")["enabled"] is True and len(api.billing("payment_methods")["data"]) == 1
        ),
    ),
    Example(
        "team-project",
        (),
        {},
        _team_project_drift,
        {
            "team-tools": ("web_search", False, True),
            "team-tiers": ("default", "standard", "scale"),
            "team-gpt-4o-mini-rate": ("max_tokens_per_1_minute", 2000000, 7),
        },
        _team_project_kept,
        _team_project_setup,
    ),
]


def _model_names(resources: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Outputs under the model's names: the plugin's resources (other languages) spell them in camelCase."""
    return {name: {to_snake(k): v for k, v in outputs.items()} for name, outputs in resources.items()}


def test_every_example_program_is_exercised() -> None:
    programs = {p.parent.name for p in EXAMPLES.glob("*/Pulumi.yaml")}
    assert programs == {e.directory for e in EXAMPLE_RUNS} | set(LANGUAGES), "test_sdk_examples runs the others"
    packs = {p.parent.name for p in EXAMPLES.glob("*/PulumiPolicy.yaml")}
    assert packs == {"policy-pack"}, "policy packs are exercised by tests/test_policy.py"


@pytest.mark.rate_limit("7/10s")  # OpenAI's throttle (7/60s), its window shortened
@pytest.mark.parametrize("example", EXAMPLE_RUNS, ids=lambda e: e.directory)
def test_example_lifecycle(sandbox: Sandbox, api: Api, tmp_path: Path, example: Example) -> None:
    for name in example.projects:
        api.project(name)
    config = {**plugin_config(sandbox), **example.config, **example.setup(api)}
    stack = Stack(EXAMPLES / example.directory, config=config, backend_dir=tmp_path / "backend")

    api.clear_requests()
    preview = stack.preview()
    names = set(preview.ops())
    assert set(preview.ops().values()) == {"create"} and api.writes() == []
    assert set(stack.up().ops().values()) == {"create"}

    api.clear_requests()
    assert stack.up().changed() == {} and api.writes() == [], "a second up changes nothing"

    resources = _model_names(stack.resources)
    example.drift(api, resources)
    refreshed = stack.refresh()
    assert set(refreshed.changed()) == set(example.drifted)
    for name, expected in example.drifted.items():
        change = refreshed.changes[name]
        if expected is None:
            assert change.op == "delete"
        else:
            prop, old, new = expected
            assert change.op == "update" and change.values[prop] == (old, new), change.values
            assert f"{prop}: " in change.describe()

    restored = stack.up().changed()
    assert set(restored) == set(example.drifted)
    assert all(restored[n].op == ("create" if e is None else "update") for n, e in example.drifted.items())
    for name, expected in example.drifted.items():
        if expected is not None:
            prop, old, new = expected
            assert restored[name].values[prop] == (new, old), "up puts the declared value back"
    assert stack.refresh().changed() == {}, "after the restoring up the live account equals the declaration"
    assert stack.preview().changed() == {}

    destroyed = stack.destroy()
    assert set(destroyed.ops()) == names and set(destroyed.ops().values()) == {"delete"}
    assert stack.resources == {}
    kept = {name for name, change in destroyed.changes.items() if change.retained}
    assert kept == {n for n, r in resources.items() if r.get("on_delete") == "retain"}
    assert all(destroyed.changes[n].describe().startswith("kept (on_delete=retain)") for n in kept)
    assert example.kept(api, resources), "destroy left the retained settings live"


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


def _copy_of_this_repository(target: Path) -> Path:
    root = EXAMPLES.parent
    target.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(root / name, target / name)
    ignore = shutil.ignore_patterns("venv", "__pycache__", "*.egg-info", "build", "node_modules", ".build.lock")
    shutil.copytree(root / "provider", target / "provider", ignore=ignore)
    shutil.copytree(EXAMPLES, target / "examples", ignore=ignore)
    return target


def test_the_gitops_workflows_steps_run_as_written(sandbox: Sandbox, api: Api, tmp_path: Path) -> None:
    """What this machine can run of the workflow, verbatim, in a copy of the repository: both installs (the venvs
    Pulumi.yaml and PulumiPolicy.yaml name), the policy pack starting from its venv, and the plan report on the
    real engine's preview JSON. (`pulumi preview/up` themselves need Pulumi's Python language host, which the
    GitHub runner has through pulumi/actions.)"""
    workflow = yaml.safe_load((EXAMPLES / "gitops" / ".github" / "workflows" / "billing.yml").read_text())
    repo = _copy_of_this_repository(tmp_path / "repo")
    workdir = repo / workflow["env"]["WORKDIR"]
    steps = workflow["jobs"]["preview"]["steps"]
    install = next(step["run"] for step in steps if "pip install" in step.get("run", ""))
    env = pip_env()
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    subprocess.run(["bash", "-euo", "pipefail", "-c", install], cwd=workdir, env=env, check=True, timeout=600)

    program_venv = yaml.safe_load((workdir / "Pulumi.yaml").read_text())["runtime"]["options"]["virtualenv"]
    pack = (workdir / "../policy-pack").resolve()
    pack_venv = yaml.safe_load((pack / "PulumiPolicy.yaml").read_text())["runtime"]["options"]["virtualenv"]
    assert (workdir / program_venv / "bin" / "openai-billing").exists()
    server = subprocess.Popen(
        [str(pack / pack_venv / "bin" / "python"), "-u", str(pack / "__main__.py")],
        stdout=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        cwd=pack,
        text=True,
    )
    try:
        assert server.stdout is not None and server.stdout.readline().strip().isdigit(), "the pack serves its port"
    finally:
        server.kill()
        server.wait()

    api.project("team-a")
    stack = Stack(EXAMPLES / "gitops", config=plugin_config(sandbox))
    (workdir / "preview.json").write_text(json.dumps(stack.preview().to_preview_json()))
    report_step = next(step["run"] for step in steps if "plan-report" in step.get("run", ""))
    subprocess.run(["bash", "-euo", "pipefail", "-c", report_step], cwd=workdir, env=env, check=True, timeout=120)
    report = (workdir / "report.md").read_text()
    assert report.startswith("## OpenAI billing plan") and "none → **10,000.00 USD**" in report
