"""The Budget component: children per percentage, optional hard limit, moving a limit under it with aliases."""

from __future__ import annotations

import re
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from conftest import Api, plugin_config, write_program
from pulumi_openai_billing.resources.budget import BudgetInputs, amount_at
from pulumi_openai_billing.sandbox import Sandbox
from pulumi_openai_billing.testing import DeploymentError, Stack


def test_budget_alerts_without_blocking_by_default(sandbox: Sandbox, api: Api, tmp_path: Path) -> None:
    team = api.project("team-a")
    program = write_program(
        tmp_path,
        'billing.Budget("team-a", monthly_budget_usd="333.33", recipients=["FinOps@Example.com"], '
        f'project_id="{team}")\n',
    )
    up = Stack(program, config=plugin_config(sandbox)).up()
    assert up.ops() == {"team-a-alert-50": "create", "team-a-alert-80": "create", "team-a-alert-100": "create"}
    alerts = {a["notification_channel"]["subject_prefix"]: a for a in api.alerts(team)}
    # 333.33 x 50% = 166.665 -> 166.67 (half up); x 80% = 266.664 -> 266.66; x 100% = 333.33
    assert {p: a["threshold_amount"] for p, a in alerts.items()} == {
        "[budget team-a 50%]": 16667,
        "[budget team-a 80%]": 26666,
        "[budget team-a 100%]": 33333,
    }
    assert all(a["notification_channel"]["recipients"] == ["FinOps@example.com"] for a in alerts.values())
    assert team not in api.state()["spend_limits"]["projects"], "a budget never blocks"


def test_budget_with_hard_limit_and_custom_percentages(sandbox: Sandbox, api: Api, tmp_path: Path) -> None:
    program = write_program(
        tmp_path,
        'billing.Budget("org", monthly_budget_usd=2000, recipients=["a@example.com"], '
        "alert_at_percent=[25, 12.5, 90], hard_limit_percent=90)\n",
    )
    up = Stack(program, config=plugin_config(sandbox)).up()
    assert set(up.ops()) == {"org-limit", "org-alert-12.5", "org-alert-25", "org-alert-90"}
    limit = api.get("organization/spend_limit")
    assert limit["threshold_amount"] == 180000
    assert limit["notification_channel"] == {
        "type": "email",
        "recipients": ["a@example.com"],
        "subject_prefix": "[budget org limit]",
    }, "the hard cap e-mails the budget's people when it stops traffic"
    assert sorted(a["threshold_amount"] for a in api.alerts()) == [25000, 50000, 180000]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ("alert_at_percent=[80, 80.0]", "alert_at_percent names 80 more than once"),
        ("alert_at_percent=[0]", "at least 0.01"),
        ("hard_limit_percent=90", "alerts at 100% are above hard_limit_percent (90%)"),
        ('monthly_budget_usd="12.345"', "more than two decimals"),
        ("recipients=[]", "at least one e-mail address"),
    ],
)
def test_bad_budget_is_refused_before_anything_is_registered(
    sandbox: Sandbox, api: Api, tmp_path: Path, arguments: str, message: str
) -> None:
    defaults = {"monthly_budget_usd": "100", "recipients": '["a@example.com"]'}
    name = arguments.split("=", 1)[0]
    args = ", ".join([arguments, *(f"{k}={v}" for k, v in defaults.items() if k != name)])
    program = write_program(tmp_path, f'billing.Budget("b", {args})\n')
    api.clear_requests()
    with pytest.raises(DeploymentError, match=re.escape(message)):
        Stack(program, config=plugin_config(sandbox)).up()
    assert api.writes() == []


def test_amounts_round_half_up_to_whole_cents() -> None:
    assert amount_at("0.05", "50") == "0.03"
    assert amount_at("10.01", "33.33") == "3.34"  # 3.336333 -> 3.34
    assert amount_at("999.99", "100") == "999.99"
    assert BudgetInputs.model_validate({"monthly_budget_usd": 1, "recipients": ["a@b.co"]}).alert_at_percent == [
        "50",
        "80",
        "100",
    ]


def test_moving_a_limit_under_a_budget_with_aliases_keeps_it(sandbox: Sandbox, api: Api, tmp_path: Path) -> None:
    backend = tmp_path / "backend"
    before = write_program(tmp_path, 'billing.OrganizationSpendLimit("org-cap", monthly_limit_usd=1000)\n')
    Stack(before, config=plugin_config(sandbox), backend_dir=backend).up()
    after = write_program(
        tmp_path,
        'billing.Budget("org", monthly_budget_usd=1000, recipients=["a@example.com"], hard_limit_percent=100,\n'
        '    limit_aliases=[pulumi.Alias(name="org-cap", parent=pulumi.ROOT_STACK_RESOURCE)])\n',
    )
    api.clear_requests()
    up = Stack(after, config=plugin_config(sandbox), backend_dir=backend).up()
    assert up.ops()["org-limit"] == "update" and "org-cap" not in up.ops(), "moved, not replaced"
    changed = set(up.changed()["org-limit"].properties)
    assert changed == {"notify_recipients", "notify_subject_prefix"}, "only whom the cap e-mails: the budget's people"
    writes = [w["path"] for w in api.writes()]
    assert sorted(writes) == ["/v1/organization/spend_alerts"] * 3 + ["/v1/organization/spend_limit"]
    assert api.get("organization/spend_limit")["threshold_amount"] == 100000, "the cap itself is untouched"

    # Without the alias the old resource is dropped (the live limit retained) and the new one refuses to
    # take a live limit over: nothing disappears, and the error says what to do.
    shutil.rmtree(backend)
    adopted = 'billing.OrganizationSpendLimit("org-cap", monthly_limit_usd=1000, adopt_existing=True)\n'
    Stack(write_program(tmp_path, adopted), config=plugin_config(sandbox), backend_dir=backend).up()
    plain = write_program(
        tmp_path,
        'billing.Budget("org", monthly_budget_usd=1000, recipients=["a@example.com"], hard_limit_percent=100)\n',
    )
    with pytest.raises(DeploymentError, match="adopt_existing=True"):
        Stack(plain, config=plugin_config(sandbox), backend_dir=backend).up()
    assert api.get("organization/spend_limit")["threshold_amount"] == 100000


def test_a_budget_limit_can_ask_for_the_replay_guardrail(sandbox: Sandbox, api: Api, tmp_path: Path) -> None:
    project = api.project("busy")
    now = datetime.now(timezone.utc)
    first = datetime(now.year, now.month, 1, tzinfo=timezone.utc)
    last_month = (first - timedelta(days=1)).replace(day=1)
    for day in range(10):  # 20 USD on each of last month's first 10 days: 200 in all
        moment = last_month + timedelta(days=day, hours=6)
        api.post("sandbox/usage", {"project_id": project, "amount_usd": "20", "timestamp": int(moment.timestamp())})
    program = write_program(
        tmp_path,
        f'billing.Budget("busy", monthly_budget_usd=150, recipients=["a@example.com"], project_id="{project}", '
        "alert_at_percent=[50], hard_limit_percent=100, warn_if_would_have_blocked_days=1)\n",
    )
    api.clear_requests()
    # 150 is reached on day 8 (8 x 20 = 160, 10 refused), then days 9 and 10 are refused: 3 days
    with pytest.raises(DeploymentError, match="would have blocked traffic on 3 days"):
        Stack(program, config=plugin_config(sandbox)).up()
    assert api.writes() == []


def test_the_engine_shows_a_budgets_percentages_as_numbers(sandbox: Sandbox, api: Api, tmp_path: Path) -> None:
    program = write_program(
        tmp_path,
        'billing.Budget("org", monthly_budget_usd=1000, recipients=["a@example.com"], alert_at_percent=["50", 12.5], '
        "hard_limit_percent=100)\n",
    )
    stack = Stack(program, config=plugin_config(sandbox))
    stack.up()
    budget = next(r for r in stack.export()["deployment"]["resources"] if r["type"] == "openai-billing:index:Budget")
    assert budget["inputs"]["alert_at_percent"] == [12.5, 50]
    assert budget["inputs"]["hard_limit_percent"] == 100


def test_a_budget_makes_its_project_with_an_allow_list_and_tool_switches(
    sandbox: Sandbox, api: Api, tmp_path: Path
) -> None:
    program = write_program(
        tmp_path,
        'budget = billing.Budget("team-x", monthly_budget_usd=500, recipients=["a@example.com"], '
        'project_name="Team X", alert_at_percent=[80], hard_limit_percent=100,\n'
        '    allowed_models=["gpt-4o-mini", "gpt-4o", "gpt-4o-mini"],\n'
        '    hosted_tools={"web_search": False, "mcp": True})\n'
        'pulumi.export("project_id", budget.project.id)\n'
        "# a second budget on the same project, given as the output it is\n"
        'billing.Budget("team-x-extra", monthly_budget_usd=100, recipients=["b@example.com"], '
        "project_id=budget.project.id, alert_at_percent=[50])\n",
    )
    stack = Stack(program, config=plugin_config(sandbox))
    children = ["team-x-project", "team-x-limit", "team-x-alert-80", "team-x-models", "team-x-tools"]
    assert stack.preview().ops() == dict.fromkeys([*children, "team-x-extra-alert-50"], "create")
    assert stack.up().ops() == dict.fromkeys([*children, "team-x-extra-alert-50"], "create")
    project = stack.exports()["project_id"]
    base = f"organization/projects/{project}"
    assert api.get(base)["name"] == "Team X"
    assert {r["project_id"] for n, r in stack.resources.items() if n != "team-x-project"} == {project}
    assert api.get(f"{base}/spend_limit")["threshold_amount"] == 50000
    assert sorted(a["threshold_amount"] for a in api.alerts(project)) == [5000, 40000]
    policy = api.get(f"{base}/model_permissions")
    assert (policy["mode"], sorted(policy["model_ids"])) == ("allow_list", ["gpt-4o", "gpt-4o-mini"])
    tools = api.get(f"{base}/hosted_tool_permissions")
    assert {t: tools[t]["enabled"] for t in ("web_search", "mcp", "file_search")} == {
        "web_search": False,
        "mcp": True,
        "file_search": True,
    }, "a tool left out is not managed"
    assert stack.preview().changed() == {}

    stack.destroy()
    assert api.get(base)["status"] == "active", "the project is retained"
    assert api.get(f"{base}/model_permissions")["mode"] == "allow_list", "the policy is retained"
    assert api.alerts(project) == []


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            {"project_id": "proj_1", "project_name": "team"},
            "project_id and project_name are mutually exclusive",
        ),
        ({"allowed_models": ["gpt-4o"]}, "allowed_models needs a project: pass project_id or project_name"),
        (
            {"allowed_models": ["gpt-4o"], "hosted_tools": {"mcp": False}},
            "allowed_models and hosted_tools need a project",
        ),
        (
            {"project_id": "proj_1", "hosted_tools": {"websearch": False}},
            "hosted_tools names 'websearch', not a hosted tool; the tools are code_interpreter, file_search, "
            "image_generation, mcp, web_search",
        ),
        ({"project_id": "proj_1", "hosted_tools": {}}, "hosted_tools must switch at least one tool"),
        ({"project_id": "proj_1", "hosted_tools": {"mcp": "off"}}, "hosted_tools item mcp must be a valid boolean"),
        ({"project_id": "proj_1", "allowed_models": "gpt-4o"}, "allowed_models must be a valid list"),
        ({"project_adopt_existing": True}, "project_adopt_existing needs project_name"),
        ({"project_name": "  "}, "project_name must have at least 1 character"),
    ],
)
def test_a_budgets_project_controls_are_refused_before_anything_is_registered(
    arguments: dict[str, object], message: str
) -> None:
    from pulumi_openai_billing import Budget

    with pytest.raises(ValueError, match=re.escape(message)) as refused:
        Budget("b", monthly_budget_usd=100, recipients=["a@example.com"], **arguments)  # type: ignore[arg-type]
    assert str(refused.value).startswith("Budget 'b': ")
