"""``openai-billing plan-report``: a preview's billing impact as Markdown, with live spend figures."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from conftest import Api, plugin_config, this_month, write_program
from pulumi_openai_billing import cli
from pulumi_openai_billing.cli.plan_report import render
from pulumi_openai_billing.sandbox import Sandbox
from pulumi_openai_billing.testing import DeploymentError, Stack


def _last_month_timestamp() -> int:
    now = datetime.now(timezone.utc)
    year, month = (now.year - 1, 12) if now.month == 1 else (now.year, now.month - 1)
    return int(datetime(year, month, 15, tzinfo=timezone.utc).timestamp())


BUDGET = (
    'billing.Budget("team-a", monthly_budget_usd={budget}, recipients=["finops@example.com"], project_id="{team}",\n'
    "    hard_limit_percent=100{extra})\n"
)


@pytest.fixture
def planned(sandbox: Sandbox, api: Api, tmp_path: Path) -> tuple[Path, str]:
    """A preview that lowers team-a's budget from 1000 to 400 and drops an organization alert."""
    team = api.project("team-a")
    api.post("sandbox/usage", {"project_id": team, "amount_usd": "300", "timestamp": _last_month_timestamp()})
    api.post("sandbox/usage", {"project_id": team, "amount_usd": "95.004"})
    backend = tmp_path / "backend"
    first = BUDGET.format(budget=1000, team=team, extra="")
    org_alert = 'billing.OrganizationSpendAlert("org-5k", threshold_usd=5000, recipients=["cfo@example.com"])\n'
    Stack(write_program(tmp_path, first + org_alert), config=plugin_config(sandbox), backend_dir=backend).up()
    second = BUDGET.format(budget=400, team=team, extra=f', acknowledge_until="{this_month()}"')
    preview = Stack(write_program(tmp_path, second), config=plugin_config(sandbox), backend_dir=backend).preview()
    assert "monthly_limit_usd" in preview.changed()["team-a-limit"].properties
    path = tmp_path / "preview.json"
    path.write_text(json.dumps(preview.to_preview_json()))
    return path, team


def test_report_shows_limit_change_spend_and_alerts_per_scope(
    planned: tuple[Path, str], env: None, api: Api, capsys: pytest.CaptureFixture[str]
) -> None:
    path, team = planned
    api.clear_requests()
    assert cli.main(["plan-report", str(path)]) == 0
    report = capsys.readouterr().out
    assert api.writes() == []
    row = next(line for line in report.splitlines() if f"`{team}`" in line)
    assert row.startswith(f"| **team-a** (`{team}`) | 1,000.00 USD → **400.00 USD** | 95.00 USD | 300.00 USD |")
    assert "changed: 500.00 USD to finops@example.com (subject prefix `[budget team-a 50%]`) → 200.00 USD" in row
    assert "changed: 1,000.00 USD to finops@example.com" in row and "→ 400.00 USD" in row
    org = next(line for line in report.splitlines() if line.startswith("| **organization**"))
    assert "removed: 5,000.00 USD to cfo@example.com" in org and "| 95.00 USD | 300.00 USD |" in org
    assert "the new limit 400.00 USD is below last month's spend (300.00 USD)" not in report  # 400 > 300
    assert "2 scope(s) change" in report


def test_report_without_live_figures_makes_no_request(
    planned: tuple[Path, str], env: None, api: Api, tmp_path: Path
) -> None:
    path, team = planned
    out = tmp_path / "report.md"
    api.clear_requests()
    assert cli.main(["plan-report", str(path), "--no-live", "--output", str(out)]) == 0
    assert api.requests() == []
    report = out.read_text()
    assert f"| `{team}` | 1,000.00 USD → **400.00 USD** | changed:" in report
    assert "Month-to-date" not in report


def test_report_warns_when_a_new_limit_is_near_spend() -> None:
    preview = {
        "steps": [
            {
                "op": "update",
                "urn": "urn:pulumi:dev::billing::pulumi-python:dynamic/openai-billing:ProjectSpendLimit::lim",
                "oldState": {
                    "type": "pulumi-python:dynamic/openai-billing:ProjectSpendLimit",
                    "outputs": {"project_id": "proj_1", "monthly_limit_usd": "500.00"},
                },
                "newState": {
                    "type": "pulumi-python:dynamic/openai-billing:ProjectSpendLimit",
                    "inputs": {"project_id": "proj_1", "monthly_limit_usd": "100.00"},
                },
            }
        ]
    }
    from decimal import Decimal

    from pulumi_openai_billing.cli.plan_report import LiveFigures

    figures = LiveFigures("2026-11", {"proj_1": Decimal("95")}, {"proj_1": Decimal("50")}, {"proj_1": "web"})
    report = render(preview, figures)
    assert "⚠️ **web** (`proj_1`): the new limit 100.00 USD is within 10% of month-to-date spend (95.00 USD)" in report


def test_report_reads_the_pulumi_cli_shape() -> None:
    """Steps as `pulumi preview --json` writes them: a replace comes with create-replacement and
    delete-replaced steps, other providers' resources and unchanged ones are left out, secrets masked."""
    limit_type = "pulumi-python:dynamic/openai-billing:ProjectSpendLimit"
    urn = f"urn:pulumi:dev::billing::{limit_type}::team-b-limit"
    old = {"type": limit_type, "outputs": {"project_id": "proj_old", "monthly_limit_usd": "100.00"}}
    new = {"type": limit_type, "inputs": {"project_id": "proj_new", "monthly_limit_usd": "100.00"}}
    preview = {
        "steps": [
            {"op": "same", "urn": "urn:pulumi:dev::billing::pulumi:pulumi:Stack::billing-dev"},
            {
                "op": "create",
                "urn": "urn:pulumi:dev::billing::aws:s3/bucket:Bucket::logs",
                "newState": {"type": "aws:s3/bucket:Bucket"},
            },
            {"op": "create-replacement", "urn": urn, "oldState": old, "newState": new},
            {"op": "replace", "urn": urn, "oldState": old, "newState": new, "replaceReasons": ["project_id"]},
            {"op": "delete-replaced", "urn": urn, "oldState": old},
            {
                "op": "create",
                "urn": "urn:pulumi:dev::billing::pulumi-python:dynamic/openai-billing:CreditPurchase::q4",
                "newState": {
                    "type": "pulumi-python:dynamic/openai-billing:CreditPurchase",
                    "inputs": {"amount_usd": "500.00", "purchase_key": "2026-q4"},
                },
            },
            {
                "op": "create",
                "urn": "urn:pulumi:dev::billing::pulumi-python:dynamic/openai-billing:PaymentMethod::card",
                "newState": {
                    "type": "pulumi-python:dynamic/openai-billing:PaymentMethod",
                    "inputs": {"token": "[secret]"},
                },
            },
        ],
        "changeSummary": {"same": 1, "create": 3, "replace": 1},
    }
    report = render(preview, None)
    assert report.count("`proj_new`") == 1 and "logs" not in report
    assert "100.00 USD → **100.00 USD**" in report
    assert "**q4**: buys **500.00 USD** of credits (purchase key `2026-q4`, charged once)" in report
    assert "**card** (PaymentMethod): create" in report


def test_report_without_a_key_still_reports_and_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("OPENAI_ADMIN_KEY", raising=False)
    path = tmp_path / "empty.json"
    path.write_text(json.dumps({"steps": []}))
    assert cli.main(["plan-report", str(path)]) == 0
    out = capsys.readouterr().out
    assert "No billing changes." in out and "_Spend figures unavailable:" in out and "OPENAI_ADMIN_KEY" in out


def test_bad_input_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.json"
    path.write_text("Previewing update (dev):\n")
    assert cli.main(["plan-report", str(path), "--no-live"]) == 2
    assert "is not JSON" in capsys.readouterr().err


EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _report(preview: dict) -> str:
    return render(preview, None)


def test_report_on_the_quickstart_creates_then_a_moved_project(sandbox: Sandbox, api: Api, tmp_path: Path) -> None:
    """`pulumi preview --json` as Pulumi's engine prints it: every create, then a replace (the team's project
    changes, so its limit and alert move)."""
    team_a, team_b = api.project("team-a"), api.project("team-b")
    stack = Stack(EXAMPLES / "quickstart", config=plugin_config(sandbox))
    created = _report(stack.preview().to_preview_json())
    org = next(line for line in created.splitlines() if line.startswith("| **organization** |"))
    assert "| none → **5,000.00 USD** |" in org and org.count("added: ") == 3
    assert f"| `{team_a}` | none → **750.00 USD** | added: 600.00 USD to team-a-leads@example.com |" in created
    stack.up()
    stack.set_config({"openai-billing-quickstart:teamProject": "team-b"})
    moved = _report(stack.preview().to_preview_json())
    assert f"| `{team_b}` | 750.00 USD → **750.00 USD** (moved from `{team_a}`) |" in moved
    assert f"→ 600.00 USD to team-a-leads@example.com (moved from `{team_a}`)" in moved
    assert "organization" not in moved, "the organization's limit and alerts do not change"


def test_report_reads_a_program_in_any_language(sandbox: Sandbox, api: Api) -> None:
    """The YAML example declares the quickstart's organization through the plugin (its type tokens, camelCase
    names): the report says what it says of the Python quickstart (above)."""
    team = api.project("team-a")
    report = _report(Stack(EXAMPLES / "yaml", config=plugin_config(sandbox)).preview().to_preview_json())
    org = next(line for line in report.splitlines() if line.startswith("| **organization** |"))
    assert "| none → **5,000.00 USD** |" in org and org.count("added: ") == 3
    assert f"| `{team}` | none → **750.00 USD** | added: 600.00 USD to team-a-leads@example.com |" in report


def test_report_on_gitops_a_dropped_team_and_a_refused_cut(sandbox: Sandbox, api: Api, tmp_path: Path) -> None:
    """A delete (a team leaves the config), and a preview a guardrail refuses: the report says what refused it."""
    api.project("team-a")
    team_b = api.project("team-b")
    teams = {"team-a": {"budget_usd": "500"}, "team-b": {"budget_usd": "1500"}}
    config = {**plugin_config(sandbox), "billing-gitops:teams": json.dumps(teams)}
    stack = Stack(EXAMPLES / "gitops", config=config)
    stack.up()
    stack.set_config({"billing-gitops:teams": json.dumps({"team-a": teams["team-a"]})})
    dropped = _report(stack.preview().to_preview_json())
    row = next(line for line in dropped.splitlines() if f"`{team_b}`" in line)
    assert "removed: 750.00 USD to finops@example.com" in row and "removed: 1,500.00 USD" in row

    stack.set_config({"billing-gitops:organizationBudgetUsd": "1000"})
    with pytest.raises(DeploymentError) as refused:
        stack.preview()
    assert refused.value.result is not None
    report = _report(refused.value.result.to_preview_json())
    assert "⛔ **The preview failed**: 1 refusal(s)." in report
    assert "- **organization-limit**: monthly_limit_usd: lowering" in report and "acknowledge_until" in report


def test_report_on_prepaid_credits(sandbox: Sandbox, tmp_path: Path) -> None:
    stack = Stack(EXAMPLES / "prepaid-credits", config=plugin_config(sandbox))
    bought = _report(stack.preview().to_preview_json())
    assert "- **q4-preload**: buys **500.00 USD** of credits (purchase key `2026-q4-preload`, charged once)" in bought
    assert "- **auto-reload** (create): below 20.00 USD reload to 100.00 USD, at most 300.00 USD a month" in bought


CONTROLS = """
team = billing.Project("team", name="team-c")
billing.ProjectModelPermissions("models", project_id=team.id, model_ids={models})
billing.ProjectHostedTools("tools", project_id=team.id, web_search={web}, mcp=True)
billing.ProjectServiceTiers("tiers", project_id=team.id, default="{default}", enabled_tiers={tiers})
billing.ProjectRateLimit("rate", project_id=team.id, model="gpt-4o-mini", max_requests_per_1_minute={rpm})
billing.ProjectSpendLimit("limit", project_id=team.id, monthly_limit_usd=100)
"""


def test_report_shows_each_control_change_of_a_project(sandbox: Sandbox, api: Api, tmp_path: Path) -> None:
    """A project made with its controls, then each control changed: models added and removed, a tool switched
    off, the tiers and a rate limit's maximum old → new."""
    first = {"models": '["gpt-4o", "o3"]', "web": True, "default": "standard", "tiers": '"all"', "rpm": 100}
    stack = Stack(write_program(tmp_path, CONTROLS.format(**first)), config=plugin_config(sandbox))
    created = _report(stack.preview().to_preview_json())
    section = created.split("### Projects and their controls\n\n", 1)[1].splitlines()
    assert set(section) == {  # in the engine's order, which runs independent steps side by side
        "- **team** (Project, a new project): create: new project `team-c`",
        "- **models** (ProjectModelPermissions, a new project): create: allow-list of gpt-4o, o3",
        "- **tools** (ProjectHostedTools, a new project): create: mcp **on**, web_search **on**",
        "- **tiers** (ProjectServiceTiers, a new project): create: default **standard**, enabled_tiers **all**",
        "- **rate** (ProjectRateLimit, a new project): create: `gpt-4o-mini` max_requests_per_1_minute **100**",
    }
    assert "No billing changes." not in created
    assert "| **a new project** (its id is known after apply) | none → **100.00 USD** |" in created
    stack.up()
    project = stack.ids()["team"]

    second = {"models": '["gpt-4o", "gpt-4.1"]', "web": False, "default": "scale", "tiers": '["flex"]', "rpm": 2500}
    write_program(tmp_path, CONTROLS.format(**second))
    changed = _report(stack.preview().to_preview_json())
    where = f"`{project}`"
    assert f"- **models** (ProjectModelPermissions, {where}): update: allow-list: added gpt-4.1; removed o3" in changed
    assert f"- **tools** (ProjectHostedTools, {where}): update: web_search on → **off**" in changed
    assert (
        f"- **tiers** (ProjectServiceTiers, {where}): update: default standard → **scale**, enabled_tiers all → "
        in (changed)
    )
    assert "enabled_tiers all → **flex**" in changed
    assert (
        f"- **rate** (ProjectRateLimit, {where}): update: `gpt-4o-mini` max_requests_per_1_minute 100 → **2,500**"
        in (changed)
    )
    assert "**team** (Project" not in changed, "the project itself does not change"


def test_report_says_what_destroying_a_control_leaves() -> None:
    def step(kind: str, name: str, outputs: dict) -> dict:
        type_ = f"pulumi-python:dynamic/openai-billing:{kind}"
        urn = f"urn:pulumi:dev::billing::{type_}::{name}"
        return {"op": "delete", "urn": urn, "oldState": {"type": type_, "id": "proj_1", "outputs": outputs}}

    preview = {
        "steps": [
            step("Project", "team", {"name": "team", "on_delete": "archive"}),
            step("ProjectModelPermissions", "models", {"project_id": "proj_1", "on_delete": "remove"}),
            step("ProjectHostedTools", "tools", {"project_id": "proj_1", "web_search": False}),
            step(
                "ProjectRateLimit",
                "rate",
                {
                    "project_id": "proj_1",
                    "model": "gpt-4o",
                    "on_delete": "restore",
                    "restore_to": {"max_tokens_per_1_minute": 30000000.0, "max_requests_per_1_minute": 10000},
                },
            ),
        ]
    }
    report = render(preview, None)
    assert "- **team** (Project, `proj_1`): delete: **archived**" in report
    assert (
        "- **models** (ProjectModelPermissions, `proj_1`): delete: policy **removed**: the project may call every"
        in (report)
    )
    assert (
        "- **tools** (ProjectHostedTools, `proj_1`): delete: unmanaged (the live settings stay as they are)" in report
    )
    assert (
        "- **rate** (ProjectRateLimit, `proj_1`): delete: `gpt-4o` restored: max_requests_per_1_minute **10,000**, "
        "max_tokens_per_1_minute **30,000,000**"
    ) in report
