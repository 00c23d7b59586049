"""`openai-billing export` against a real sandbox: the generated program adopts every live limit and alert and
declares each project's changed controls (its first `up` sends no write), it is ruff-clean, and the YAML form
round-trips through ``load_config``. With ``--language yaml|typescript|go`` it declares the same resources for the
provider plugin (the Pulumi YAML one adopts everything under the real engine), with import files whose every id
the kind's read finds."""

from __future__ import annotations

import ast
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import ADMIN_KEY, Api, new_local_step, plugin_config
from pulumi_openai_billing import cli, providers
from pulumi_openai_billing.cli import _export_languages
from pulumi_openai_billing.cli.export import IMPORT_IDS, import_id
from pulumi_openai_billing.model.config import (
    AlertConfig,
    BillingConfig,
    ConfigFileError,
    OrganizationConfig,
    ProjectConfig,
    dump_config,
    load_config,
)
from pulumi_openai_billing.resources import KINDS, wire_names
from pulumi_openai_billing.sandbox import Sandbox
from pulumi_openai_billing.testing import Stack

EXPECTED_RESOURCES = {
    "organization-limit",
    "organization-alert-2500",
    "organization-alert-2500-2",
    "organization-alert-4000",
    "team-a-limit",
    "team-a-alert-1000",
    "team-a-alert-1200",
    "research-ml-limit",
    "research-ml-alert-100",
    "research-ml-alert-100-2",
    "team-a-models",
    "team-a-tools",
    "team-a-tiers",
    "research-ml-models",
}


@dataclass
class Account:
    team_a: str
    research: str
    empty: str
    archived: str
    alert_ids: set[str]
    """The live alerts outside the archived project."""


def _alert(api: Api, cents: int, recipients: list[str], prefix: str | None = None, project: str | None = None) -> str:
    path = f"organization/projects/{project}/spend_alerts" if project else "organization/spend_alerts"
    channel = {"type": "email", "recipients": recipients, "subject_prefix": prefix}
    body = {"threshold_amount": cents, "currency": "USD", "interval": "month", "notification_channel": channel}
    return api.post(path, body)["id"]


def _limit(api: Api, cents: int, project: str | None = None) -> None:
    path = f"organization/projects/{project}/spend_limit" if project else "organization/spend_limit"
    api.post(path, {"threshold_amount": cents, "currency": "USD", "interval": "month"})


def _controls(api: Api, team_a: str, research: str) -> None:
    """Team A: an allow-list, two tools off, other service tiers; Research: a deny-list and tiers set to what a new
    project has (not exported); Empty keeps what a new project has."""
    team_base, research_base = f"organization/projects/{team_a}", f"organization/projects/{research}"
    api.post(f"{team_base}/model_permissions", {"mode": "allow_list", "model_ids": ["gpt-4o-mini", "gpt-4.1"]})
    api.post(f"{team_base}/hosted_tool_permissions", {"web_search": {"enabled": False}, "mcp": {"enabled": False}})
    api.post(f"{team_base}/service_tier_settings", {"default": "fast", "enabled_tiers": ["flex", "fast"]})
    api.post(f"{research_base}/model_permissions", {"mode": "deny_list", "model_ids": ["o3"]})
    api.post(f"{research_base}/service_tier_settings", {"default": "standard", "enabled_tiers": "all"})


def _make_account(api: Api) -> Account:
    """An org limit and 3 alerts (two at 2500, one with a prefix); two projects with a limit and 2 alerts
    each (two at 100 in one) and controls (``_controls``); a project with nothing; an archived project with a
    limit and an alert."""
    team_a, research, empty, archived = (api.project(n) for n in ("Team A", "Research ✨ (ML)", "Empty", "Old"))
    _limit(api, 500_000)
    _limit(api, 150_000, team_a)
    _limit(api, 25_050, research)
    _limit(api, 90_000, archived)
    ids = {
        _alert(api, 250_000, ["finops@example.com"], "[openai 50%]"),
        _alert(api, 250_000, ["cfo@example.com"]),
        _alert(api, 400_000, ["finops@example.com", "cfo@example.com"]),
        _alert(api, 100_000, ["team-a@example.com"], project=team_a),
        _alert(api, 120_000, ["team-a-lead@example.com"], 'team "A" ', project=team_a),
        _alert(api, 10_000, ["ml@example.com"], project=research),
        _alert(api, 10_000, ["ml-oncall@example.com"], project=research),
    }
    _alert(api, 1_000, ["old@example.com"], project=archived)
    _controls(api, team_a, research)
    api.post(f"organization/projects/{archived}/service_tier_settings", {"default": "scale"})
    api.post(f"organization/projects/{archived}/archive", {})
    return Account(team_a, research, empty, archived, ids)


def _export(*args: str) -> int:
    return cli.main(["export", *args])


def _ruff(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args, "--isolated", "."], cwd=cwd, capture_output=True, text=True
    )


@pytest.mark.parametrize("split", [False, True], ids=["one-module", "split"])
def test_the_exported_program_adopts_everything_and_writes_nothing(
    sandbox: Sandbox, api: Api, env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str], split: bool
) -> None:
    account = _make_account(api)
    program = tmp_path / "billing"
    assert _export("--output", str(program), *(["--split"] if split else [])) == 0
    if split:
        modules = {"project_team_a.py", "project_research_ml.py"}
        assert {p.name for p in program.glob("*.py")} == {"__main__.py", *modules}
    stack = Stack(program, config=plugin_config(sandbox), backend_dir=tmp_path / "backend")

    api.clear_requests()
    up = stack.up()

    assert up.ops() == dict.fromkeys(EXPECTED_RESOURCES, "create")
    assert api.writes() == [], "adopting the live account writes nothing"
    assert stack.preview().changed() == {}
    assert api.writes() == []
    resources = stack.resources
    assert {r["alert_id"] for r in resources.values() if "alert_id" in r} == account.alert_ids
    assert resources["team-a-limit"]["project_id"] == account.team_a
    assert resources["research-ml-limit"]["monthly_limit_usd"] == "250.50"
    assert resources["team-a-alert-1200"]["subject_prefix"] == 'team "A" '
    assert all(account.archived != r.get("project_id") for r in resources.values())
    assert resources["team-a-models"]["model_ids"] == ["gpt-4.1", "gpt-4o-mini"]
    assert resources["research-ml-models"]["mode"] == "deny_list"
    assert {t: resources["team-a-tools"][t] for t in ("web_search", "mcp", "file_search")} == {
        "web_search": False,
        "mcp": False,
        "file_search": True,
    }, "every switch is declared once one is off"
    assert (resources["team-a-tiers"]["default"], resources["team-a-tiers"]["enabled_tiers"]) == (
        "fast",
        ["fast", "flex"],
    )
    assert not any(kind in name for name in resources for kind in ("-rate-",)), "rate limits only when asked"


def test_the_program_reads_well_skips_archived_projects_and_holds_no_key(
    sandbox: Sandbox, api: Api, env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    account = _make_account(api)
    program = tmp_path / "billing"

    assert _export("--output", str(program), "--project-name", "acme-billing") == 0

    assert yaml.safe_load((program / "Pulumi.yaml").read_text())["name"] == "acme-billing"
    assert yaml.safe_load((program / "Pulumi.yaml").read_text())["runtime"]["name"] == "python"
    requirements = (program / "requirements.txt").read_text().splitlines()
    assert f"pulumi-openai-billing @ {Path(__file__).resolve().parents[1].as_uri()}" in requirements, (
        "installed from this checkout, where the running package came from (no index serves it)"
    )
    main = (program / "__main__.py").read_text()
    assert main.startswith("# OpenAI spend limits and alerts exported by `openai-billing export`")
    assert f"from {sandbox.base_url} on " in main.replace("\n# ", " ")
    assert f"pulumi config set openai-billing:baseUrl {sandbox.base_url}" in main
    assert f"Skipped archived projects: 'Old' ({account.archived})." in main
    assert f"Projects with nothing to declare: 'Empty' ({account.empty})." in main
    assert "rate limits are not (export with --rate-limits to declare them)." in main.replace("\n# ", " ")
    declarations = [line for line in main.splitlines() if not line.startswith("#")]
    assert not any(account.archived in line or account.empty in line for line in declarations)
    assert '    monthly_limit_usd="1500.00",\n    adopt_existing=True,\n' in main
    assert '    recipients=["cfo@example.com", "finops@example.com"],\n' in main
    assert "    allow_above_limit=True," not in main
    out = capsys.readouterr().out
    assert "pulumi config set --secret openai-billing:adminKey sk-admin-..." in out
    assert ADMIN_KEY not in main + out


def test_an_alert_above_its_limit_is_declared_with_allow_above_limit(
    sandbox: Sandbox, api: Api, env: None, tmp_path: Path
) -> None:
    team = api.project("team")
    _limit(api, 10_000, team)
    _alert(api, 20_000, ["lead@example.com"], project=team)
    program = tmp_path / "billing"
    assert _export("-o", str(program)) == 0
    assert "    allow_above_limit=True,\n" in (program / "__main__.py").read_text()

    stack = Stack(program, config=plugin_config(sandbox))
    api.clear_requests()
    assert set(stack.up().ops().values()) == {"create"}
    assert api.writes() == []


@pytest.mark.parametrize("split", [False, True], ids=["one-module", "split"])
def test_the_generated_program_is_ruff_clean(
    sandbox: Sandbox, api: Api, env: None, tmp_path: Path, split: bool
) -> None:
    _make_account(api)
    for name in ("Organization", "✨✨", "Team A", "ünïcödé & Co", "a" * 120):
        project = api.project(name)
        recipients = [f"{name[:3].strip() or 'x'}{n}@example.com".replace(" ", "") for n in range(8)]
        _alert(
            api, 4_200, [r.encode("ascii", "ignore").decode() or "x@example.com" for r in recipients], project=project
        )
        _alert(api, 4_200, ["it@example.com"], "it's \"quoted\" 'twice'", project=project)
    program = tmp_path / "billing"
    assert _export("-o", str(program), *(["--split"] if split else [])) == 0

    formatted = _ruff("format", "--check", cwd=program)
    assert formatted.returncode == 0, formatted.stdout + formatted.stderr
    checked = _ruff("check", "--select", "E,F,W,I,B,UP,SIM,RUF", cwd=program)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    main = (program / "__main__.py").read_text()
    assert '"organization-2-alert-42",' in main or split, "a project named Organization never takes org names"
    compile(main, "__main__.py", "exec")


def test_names_are_stable_and_unique(sandbox: Sandbox, api: Api, env: None, tmp_path: Path) -> None:
    first, second = api.project("Data"), api.project("Data")
    for project in (first, second):
        _alert(api, 500, ["a@example.com"], project=project)
        _alert(api, 500, ["b@example.com"], project=project)
    for run in ("one", "two"):
        assert _export("-o", str(tmp_path / run)) == 0

    def body(run: str) -> str:
        return "".join(line for line in (tmp_path / run / "__main__.py").open() if not line.startswith("#"))

    assert body("one") == body("two")
    names = [line.strip()[1:-2] for line in body("one").splitlines() if line.startswith('    "')]
    assert names == ["data-alert-5", "data-alert-5-2", "data-2-alert-5", "data-2-alert-5-2"]


def test_an_untouched_account_exports_no_control_and_rate_limits_only_when_asked(
    sandbox: Sandbox, api: Api, env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    team = api.project("team")
    api.set_limit(100, team)
    assert _export("-o", str(tmp_path / "plain")) == 0
    plain = (tmp_path / "plain" / "__main__.py").read_text()
    assert "billing.Project" not in plain.replace("billing.ProjectSpendLimit", ""), "controls as a new project has"
    assert "model policy" not in plain, "nothing about controls in the header either"

    rate = next(r for r in api.get(f"organization/projects/{team}/rate_limits")["data"] if r["model"] == "gpt-4o")
    api.post(f"organization/projects/{team}/rate_limits/{rate['id']}", {"max_requests_per_1_minute": 500})
    capsys.readouterr()
    program = tmp_path / "rates"
    assert _export("-o", str(program), "--rate-limits") == 0
    assert "1 limit(s) and 0 alert(s) across the organization and 1 project(s); 8 project control(s)" in (
        capsys.readouterr().out
    )
    main = (program / "__main__.py").read_text()
    assert "every maximum of every model's rate limit is declared (--rate-limits)" in main.replace("\n# ", " ")
    assert (
        '    "team-rate-gpt-4o",\n'
        f'    project_id="{team}",\n'
        '    model="gpt-4o",\n'
        "    max_requests_per_1_minute=500,\n"
        "    max_tokens_per_1_minute=30000000,\n"
        "    batch_1_day_max_input_tokens=5000000000,\n)"
    ) in main
    assert '    "team-rate-whisper-1",\n' in main and "max_audio_megabytes_per_1_minute=5000," in main

    stack = Stack(program, config=plugin_config(sandbox))
    api.clear_requests()
    up = stack.up()
    assert len([n for n in up.ops() if "-rate-" in n]) == 8 and set(up.ops().values()) == {"create"}
    assert api.writes() == [], "every rate limit already holds what it declares"
    assert stack.preview().changed() == {}


def test_existing_files_are_never_overwritten_without_force(
    sandbox: Sandbox, api: Api, env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    api.set_limit(100)
    program = tmp_path / "billing"
    program.mkdir()
    (program / "__main__.py").write_text("# my own program\n")

    assert _export("-o", str(program)) == 1
    assert "already holds __main__.py; pass --force" in capsys.readouterr().err
    assert (program / "__main__.py").read_text() == "# my own program\n"
    assert not (program / "Pulumi.yaml").exists(), "nothing is written when anything would be overwritten"

    assert _export("-o", str(program), "--force") == 0
    assert '"organization-limit"' in (program / "__main__.py").read_text()

    api.set_limit(10, api.project("team"))
    assert _export("-o", str(program), "--force", "--split") == 0
    assert (program / "project_team.py").exists()
    capsys.readouterr()
    assert _export("-o", str(program), "--force") == 0
    assert "note: project_team.py (an earlier export?) is not imported" in capsys.readouterr().out

    config_file = tmp_path / "billing.yaml"
    config_file.write_text("mine\n")
    assert _export("--format", "yaml", "-o", str(config_file)) == 1
    assert config_file.read_text() == "mine\n"
    assert _export("--format", "yaml", "-o", str(config_file), "--force") == 0


def test_yaml_describes_the_account_and_round_trips(
    sandbox: Sandbox, api: Api, env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    account = _make_account(api)
    path = tmp_path / "billing.yaml"
    capsys.readouterr()

    assert _export("--format", "yaml", "--output", str(path)) == 0

    loaded = load_config(path)
    assert loaded == BillingConfig(
        organization=OrganizationConfig(
            monthly_limit_usd=Decimal("5000.00"),
            alerts=(
                AlertConfig(threshold_usd=Decimal("2500"), recipients=("cfo@example.com",)),
                AlertConfig(
                    threshold_usd=Decimal("2500"), recipients=("finops@example.com",), subject_prefix="[openai 50%]"
                ),
                AlertConfig(threshold_usd=Decimal("4000"), recipients=("cfo@example.com", "finops@example.com")),
            ),
        ),
        projects={
            "Team A": ProjectConfig(
                project_id=account.team_a,
                monthly_limit_usd=Decimal("1500"),
                alerts=(
                    AlertConfig(threshold_usd=Decimal("1000"), recipients=("team-a@example.com",)),
                    AlertConfig(
                        threshold_usd=Decimal("1200"),
                        recipients=("team-a-lead@example.com",),
                        subject_prefix='team "A" ',
                    ),
                ),
            ),
            "Research ✨ (ML)": ProjectConfig(
                project_id=account.research,
                monthly_limit_usd=Decimal("250.50"),
                alerts=(
                    AlertConfig(threshold_usd=Decimal("100"), recipients=("ml-oncall@example.com",)),
                    AlertConfig(threshold_usd=Decimal("100"), recipients=("ml@example.com",)),
                ),
            ),
            "Empty": ProjectConfig(project_id=account.empty),
        },
    )
    text = path.read_text()
    assert "monthly_limit_usd: '250.50'" in text, "amounts are exact two-decimal strings"
    assert f"Skipped archived project 'Old' ({account.archived})" in text
    assert yaml.safe_load(dump_config(loaded)) == yaml.safe_load(text)

    capsys.readouterr()
    assert _export("--format", "yaml", "--output", "-") == 0
    assert yaml.safe_load(capsys.readouterr().out) == yaml.safe_load(text)


def test_load_config_accepts_hand_written_numbers_and_names_each_problem(tmp_path: Path) -> None:
    path = tmp_path / "billing.yaml"
    path.write_text(
        "organization:\n  monthly_limit_usd: 1500\n"
        "projects:\n  2024:\n    project_id: proj_1\n    alerts:\n"
        "      - {threshold_usd: 12.5, recipients: [a@example.com]}\n"
    )
    loaded = load_config(path)
    assert loaded.organization.monthly_limit_usd == Decimal("1500.00")
    assert loaded.projects["2024"].alerts[0].threshold_usd == Decimal("12.50")

    path.write_text(
        "projects:\n  x:\n    project_id: proj_1\n    monthly_limit_usd: '1.005'\n"
        "    alerts: [{threshold_usd: 5, recipients: []}]\n  y: {}\n"
    )
    with pytest.raises(ConfigFileError) as problem:
        load_config(path)
    message = str(problem.value)
    assert message.startswith(f"{path}: ")
    assert "projects.x.monthly_limit_usd: monthly_limit_usd has more than two decimals" in message
    assert "projects.x.alerts.0.recipients" in message and "projects.y.project_id" in message

    path.write_text("[1, 2]\n")
    with pytest.raises(ConfigFileError, match="expected a mapping"):
        load_config(path)
    with pytest.raises(ConfigFileError, match="cannot be read"):
        load_config(tmp_path / "missing.yaml")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "organization: {alerts: [{threshold_usd: 5, recipients: [not-an-address]}]}\n",
            "organization.alerts.0.recipients: recipients must be e-mail addresses such as finops@example.com; "
            "not valid: 'not-an-address'",
        ),
        (
            "top_up: {balance_threshold_usd: 20, target_balance_usd: 22, monthly_reload_limit_usd: 300}\n",
            "top_up: target_balance_usd (22.00) must be at least 5.00 USD above balance_threshold_usd (20.00)",
        ),
        (
            "top_up: {balance_threshold_usd: 20, target_balance_usd: 100, monthly_reload_limit_usd: 50}\n",
            "top_up: monthly_reload_limit_usd (50.00) is below the smallest reload",
        ),
    ],
)
def test_the_file_refuses_what_the_resources_refuse(text: str, problem: str, tmp_path: Path) -> None:
    """The configuration file and the resources read one set of rules (``fields``): the same words, too."""
    path = tmp_path / "billing.yaml"
    path.write_text(text)
    with pytest.raises(ConfigFileError) as refused:
        load_config(path)
    assert problem in str(refused.value)


def test_the_file_keeps_recipients_as_the_alert_resource_does(tmp_path: Path) -> None:
    path = tmp_path / "billing.yaml"
    path.write_text("organization: {alerts: [{threshold_usd: 5, recipients: [' B@Example.COM', b@example.com]}]}\n")
    assert load_config(path).organization.alerts[0].recipients == ("B@example.com",)


def test_a_missing_key_or_bad_options_exit_2_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_ADMIN_KEY", raising=False)
    assert _export("-o", str(tmp_path / "billing")) == 2
    err = capsys.readouterr().err
    assert "OPENAI_ADMIN_KEY" in err and "pulumi config set --secret openai-billing:adminKey" in err
    assert not (tmp_path / "billing").exists()

    monkeypatch.setenv("OPENAI_ADMIN_KEY", ADMIN_KEY)
    cases: list[tuple[list[str], str]] = [
        (["--format", "yaml", "--language", "go"], "--language and --format yaml exclude each other"),
        (["--format", "yaml", "--language", "python"], "--language and --format yaml exclude each other"),
        (["-o", str(tmp_path / "x"), "--language", "go", "--split"], "--split applies to --language python only"),
        (["--language", "yaml"], "--output DIR is required"),
        (["--format", "yaml", "--split"], "--split applies to --format python only"),
        (["--format", "yaml", "--rate-limits"], "--rate-limits applies to --format python only"),
        ([], "--output DIR is required"),
        (["-o", "-"], "--output must name a directory"),
        (["-o", str(tmp_path / "x"), "--project-name", "no spaces"], "--project-name may hold"),
    ]
    for args, message in cases:
        assert _export(*args) == 2
        captured = capsys.readouterr()
        assert message in captured.err and "Traceback" not in captured.err
        assert captured.err.count("\n") == 1, "one line"
    assert not (tmp_path / "x").exists()


def test_a_refused_key_exits_2_and_an_api_failure_1_with_the_message(
    sandbox: Sandbox,
    api: Api,
    env: None,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A key the API refuses is the user's to fix (2); a failing API may work on a second try (1)."""
    wrong = "sk-admin-not-this-one-12345678"
    monkeypatch.setenv("OPENAI_ADMIN_KEY", wrong)
    assert _export("-o", str(tmp_path / "billing")) == 2
    err = capsys.readouterr().err
    assert "reading the account failed: OpenAI API error 401 invalid_api_key" in err
    assert wrong not in err
    monkeypatch.setenv("OPENAI_ADMIN_KEY", ADMIN_KEY)
    api.faults({"method": "GET", "path": "/v1/organization/projects", "kind": "status", "status": 500, "times": 10})
    assert _export("-o", str(tmp_path / "billing")) == 1
    assert "reading the account failed: OpenAI API error 500" in capsys.readouterr().err
    assert not (tmp_path / "billing").exists()


# -- --language yaml|typescript|go ------------------------------------------------------------------------

LANGUAGE_FILES = {
    "yaml": {"Pulumi.yaml"},
    "typescript": {"Pulumi.yaml", "index.ts", "package.json", "tsconfig.json"},
    "go": {"Pulumi.yaml", "main.go", "go.mod"},
}
IMPORT_FILES = {"import.json", "import.sh"}
NOT_EXPORTED = {
    "Project",
    "ApiKeySpendLimit",
    "PaymentMethod",
    "DefaultPaymentMethod",
    "CreditTopUpPolicy",
    "CreditPurchase",
}
"""The kinds export never declares (it names projects by id; keys, cards, top-up and credits are not cost limits)."""
KIND_OF = {kind.name: kind for kind in KINDS}
STRING = r'"(?:[^"\\]|\\.)*"'

Declared = list[tuple[str, str, dict[str, Any]]]
"""``(name, kind, {schema name: value})`` of each resource, in the program's order."""


def _every_kind_account(api: Api) -> Account:
    """``_make_account``, and projects whose limit has notification settings and an alert above it, and whose
    tiers are every tier (``"all"``) with another default."""
    account = _make_account(api)
    over, tiers = api.project("Over"), api.project("Tiers")
    channel = {"type": "email", "recipients": ["ops@example.com"], "subject_prefix": "[cap]"}
    limit = {"threshold_amount": 10_000, "currency": "USD", "interval": "month", "notification_channel": channel}
    api.post(f"organization/projects/{over}/spend_limit", limit)
    _alert(api, 20_000, ["ops@example.com"], project=over)
    api.post(f"organization/projects/{tiers}/service_tier_settings", {"default": "scale", "enabled_tiers": "all"})
    return account


def _python_declared(program: Path) -> Declared:
    """What the Python program declares (its calls, read by ``ast``), in the schema's names and types: a lone
    ``"all"`` (every tier) is the list ``["all"]``."""
    found: Declared = []
    for node in ast.walk(ast.parse((program / "__main__.py").read_text())):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and ast.unparse(node.func.value) == "billing"
        ):
            kind = node.func.attr
            names = wire_names(KIND_OF[kind].inputs.model_fields)
            inputs = {keyword.arg: ast.literal_eval(keyword.value) for keyword in node.keywords if keyword.arg}
            wire = {names[k]: [v] if k == "enabled_tiers" and v == "all" else v for k, v in inputs.items()}
            found.append((ast.literal_eval(node.args[0]), kind, wire))
    return found


def _yaml_declared(program: Path) -> Declared:
    resources = yaml.safe_load((program / "Pulumi.yaml").read_text())["resources"]
    return [(name, r["type"].removeprefix("openai-billing:index:"), r["properties"]) for name, r in resources.items()]


def _typescript_declared(program: Path) -> Declared:
    """``new billing.<Kind>("name", {`` blocks, one ``key: value,`` a line (each value a JSON literal here)."""
    text = (program / "index.ts").read_text()
    blocks = re.finditer(rf"^new billing\.(\w+)\(({STRING}), \{{\n(.*?)^\}}\);$", text, re.M | re.S)
    found: Declared = []
    for block in blocks:
        fields = re.findall(r"^    (\w+): (.*),$", block[3], re.M)
        found.append((json.loads(block[2]), block[1], {key: json.loads(value) for key, value in fields}))
    assert len(found) == text.count("new billing."), "every declaration is one block"
    return found


def _go_json(value: str) -> Any:
    """A Go value of the program as JSON: ``pulumi.String("a")`` -> ``"a"``, ``pulumi.StringArray{…}`` -> a list."""
    value = re.sub(rf"pulumi\.(?:String|Bool|Int|Float64)\(({STRING}|[^()]*)\)", r"\1", value)
    return json.loads(re.sub(r"pulumi\.\w+Array\{(.*)\}", r"[\1]", value))


def _go_declared(program: Path) -> Declared:
    text = (program / "main.go").read_text()
    call = rf"^\t\tif _, err := openaibilling\.New(\w+)\(ctx, ({STRING}), &openaibilling\.(\w+)Args\{{\n"
    call += r"(.*?)^\t\t\}\); err != nil \{$"
    found: Declared = []
    for block in re.finditer(call, text, re.M | re.S):
        assert block[1] == block[3]
        fields = re.findall(r"^\t\t\t(\w+):( +)(.*),$", block[4], re.M)
        found.append((json.loads(block[2]), block[1], {k[0].lower() + k[1:]: _go_json(v) for k, _, v in fields}))
    assert len(found) == text.count("openaibilling.New"), "every declaration is one block"
    return found


READERS = {"yaml": _yaml_declared, "typescript": _typescript_declared, "go": _go_declared}


@pytest.mark.parametrize("language", sorted(LANGUAGE_FILES))
def test_every_language_declares_what_the_python_program_declares(
    local: Api, tmp_path: Path, capsys: pytest.CaptureFixture[str], language: str
) -> None:
    """Same names, kinds, values and adoption settings as the Python export, in the schema's camelCase names;
    the files each language needs, and nothing overwritten without --force."""
    account = _every_kind_account(local)
    python, program = tmp_path / "python", tmp_path / language
    assert _export("-o", str(python), "--rate-limits") == 0
    assert _export("-o", str(program), "--rate-limits", "--language", language) == 0

    assert {p.name for p in program.iterdir()} == LANGUAGE_FILES[language] | IMPORT_FILES
    project = yaml.safe_load((program / "Pulumi.yaml").read_text())
    runtime = {"yaml": "yaml", "typescript": "nodejs", "go": "go"}[language]
    assert (project["name"], project["runtime"]) == ("openai-billing", runtime)
    declared = READERS[language](program)
    expected = _python_declared(python)
    assert declared == expected
    assert {kind for _, kind, _ in declared} == set(IMPORT_IDS), "the account has every kind export declares"
    for _, kind, properties in declared:
        assert set(properties) <= set(wire_names(KIND_OF[kind].inputs.model_fields).values())
    by_name = {name: properties for name, _, properties in declared}
    assert by_name["organization-limit"] == {"monthlyLimitUsd": "5000.00", "adoptExisting": True}
    assert {p["adoptAlertId"] for p in by_name.values() if "adoptAlertId" in p} >= account.alert_ids
    assert by_name["tiers-tiers"]["enabledTiers"] == ["all"] and by_name["over-alert-200"]["allowAboveLimit"] is True
    assert by_name["over-limit"]["notifyRecipients"] == ["ops@example.com"]
    assert by_name["team-a-rate-gpt-4o"]["maxTokensPer1Minute"] == 30_000_000
    out = capsys.readouterr().out
    assert "import.sh" in out and "pulumi-resource-openai-billing must be on PATH" in out

    assert _export("-o", str(program), "--language", language) == 1, "existing files are kept without --force"
    assert "pass --force to overwrite them" in capsys.readouterr().err
    assert _export("-o", str(program), "--language", language, "--force") == 0


def test_the_typescript_and_go_projects_name_the_sdks(local: Api, tmp_path: Path) -> None:
    team = local.project('Team ✨ "quoted"')
    _alert(local, 4_200, ["it@example.com"], "it's \"quoted\" \\ 'twice' ✨", project=team)
    _limit(local, 10_000)
    for language in ("typescript", "go"):
        assert _export("-o", str(tmp_path / language), "--language", language, "--project-name", "Acme.Billing") == 0

    index = (tmp_path / "typescript" / "index.ts").read_text()
    assert 'import * as billing from "@pulumi-openai-billing/sdk";\n' in index
    assert '    subjectPrefix: "it\'s \\"quoted\\" \\\\ \'twice\' ✨",\n' in index
    package = json.loads((tmp_path / "typescript" / "package.json").read_text())
    assert package["name"] == "acme.billing" and package["main"] == "index.ts"
    assert {"@pulumi/pulumi", "@pulumi-openai-billing/sdk"} <= set(package["dependencies"])
    assert json.loads((tmp_path / "typescript" / "tsconfig.json").read_text())["files"] == ["index.ts"]

    main = (tmp_path / "go" / "main.go").read_text()
    sdk = "github.com/pulumi-openai-billing/pulumi-openai-billing/sdk/go/openaibilling"
    assert f'\t"{sdk}"\n' in main and '\t"github.com/pulumi/pulumi/sdk/v3/go/pulumi"\n' in main
    assert '\t\t\tMonthlyLimitUsd: pulumi.String("100.00"),\n\t\t\tAdoptExisting:   pulumi.Bool(true),\n' in main
    go_mod = (tmp_path / "go" / "go.mod").read_text()
    assert go_mod.startswith("module Acme.Billing\n") and "\tgithub.com/pulumi/pulumi/sdk/v3 v3." in go_mod
    checkout = Path(__file__).resolve().parents[1]
    assert f'replace {sdk.removesuffix("/openaibilling")} => "{checkout}/sdk/go"' in go_mod, "this checkout's SDK"
    if shutil.which("gofmt"):
        formatted = subprocess.run(["gofmt", "-l", "main.go"], cwd=tmp_path / "go", capture_output=True, text=True)
        assert (formatted.returncode, formatted.stdout, formatted.stderr) == (0, "", "")
    if shutil.which("go"):  # parses go.mod, builds nothing
        env = {**os.environ, "GOTOOLCHAIN": "local", "GOFLAGS": ""}
        parsed = subprocess.run(
            ["go", "mod", "edit", "-json"], cwd=tmp_path / "go", capture_output=True, text=True, env=env
        )
        assert parsed.returncode == 0, parsed.stderr
        assert json.loads(parsed.stdout)["Module"]["Path"] == "Acme.Billing"


def test_the_go_program_is_gofmt_clean(local: Api, tmp_path: Path) -> None:
    if not shutil.which("gofmt"):
        pytest.skip("no gofmt on PATH")
    _every_kind_account(local)
    assert _export("-o", str(tmp_path / "go"), "--language", "go", "--rate-limits") == 0
    formatted = subprocess.run(["gofmt", "-l", "main.go"], cwd=tmp_path / "go", capture_output=True, text=True)
    assert (formatted.returncode, formatted.stdout, formatted.stderr) == (0, "", "")


@pytest.mark.parametrize(
    "keys",
    [
        ["A", "Bb", "Ccccccccccccccccccccccccccccccccccccccc"],
        ["A", "B" * 41, "C"],
        ["Aaaaaaaaaa", "B" * 45, "C" * 44, "D", "Eeeeeeeeeeeeeeeeeeeeeee", "F" * 120, "G" * 50],
        ["A" * 41, "B" * 41, "C" * 100, "D" * 41, "E" * 16, "F" * 17, "G" * 7, "H" * 41, "I" * 300, "J"],
    ],
    ids=["short", "one-long", "mixed", "long"],
)
def test_go_fields_align_as_gofmt_aligns_them(keys: list[str], tmp_path: Path) -> None:
    """Keys past 40 characters break gofmt's column where they are 2.5 times off the keys before them."""
    if not shutil.which("gofmt"):
        pytest.skip("no gofmt on PATH")
    fields = _export_languages._go_fields([(key, f"{n}") for n, key in enumerate(keys)], "\t")
    source = tmp_path / "x.go"
    source.write_text("package x\n\nvar v = T{\n" + "\n".join(fields) + "\n}\n")
    formatted = subprocess.run(["gofmt", "-l", str(source)], capture_output=True, text=True)
    assert (formatted.returncode, formatted.stdout, formatted.stderr) == (0, "", "")


def test_every_import_id_is_what_the_kinds_read_finds(local: Api, tmp_path: Path) -> None:
    """import.json names each resource as the program does, with the id the plugin's read takes: the id the kind's
    create gives the adopted resource, which a read in a new step with no state finds."""
    account = _every_kind_account(local)
    program = tmp_path / "billing"
    assert _export("-o", str(program), "--rate-limits", "--language", "yaml") == 0
    imports = json.loads((program / "import.json").read_text())["resources"]
    declared = _yaml_declared(program)
    assert [(r["name"], r["type"]) for r in imports] == [(n, f"openai-billing:index:{k}") for n, k, _ in declared]

    ids = {r["name"]: r["id"] for r in imports}
    alert = {p["adoptAlertId"] for n, _, p in declared if n == "team-a-alert-1000"}.pop()
    assert ids["organization-limit"] == "organization"
    assert ids["team-a-limit"] == ids["team-a-models"] == ids["team-a-tools"] == ids["team-a-tiers"] == account.team_a
    assert ids["team-a-alert-1000"] == f"{account.team_a}/{alert}" and alert in account.alert_ids
    assert ids["organization-alert-4000"] in account.alert_ids
    assert ids["team-a-rate-gpt-4o"] == f"{account.team_a}/gpt-4o"

    local.clear_requests()
    for name, kind_name, properties in declared:  # what the engine does with the program: adopt, writing nothing
        provider, names = providers.PROVIDERS[kind_name](), wire_names(KIND_OF[kind_name].inputs.model_fields)
        inputs = {field: properties[wire] for field, wire in names.items() if wire in properties}
        checked = provider.check({}, inputs)
        assert checked.failures == [], name
        assert provider.create(checked.inputs).id == ids[name] == import_id(kind_name, inputs), name
    assert local.writes() == []

    new_local_step(local.transport)  # a plugin process of its own, as `pulumi import` starts, with no state
    for name, kind_name, properties in declared:
        found = providers.PROVIDERS[kind_name]().read(ids[name], {})
        assert found.id == ids[name] and found.inputs, f"{name}: the read finds {ids[name]}"
        assert found.inputs.get("project_id") == properties.get("projectId"), name
    assert local.writes() == []

    script = (program / "import.sh").read_text().splitlines()
    assert script[0] == "#!/bin/sh" and "set -e" in script
    commands = [shlex.split(line) for line in script if line.startswith("pulumi ")]
    assert commands == [["pulumi", "import", r["type"], r["name"], r["id"], "--yes"] for r in imports]
    checked = subprocess.run(["sh", "-n", str(program / "import.sh")], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr


def test_every_kind_export_can_declare_has_an_import_id_rule() -> None:
    """A new kind is either exported (and needs a row in IMPORT_IDS) or listed here as one export never declares;
    each rule reads only inputs of its kind."""
    assert set(IMPORT_IDS) | NOT_EXPORTED == set(KIND_OF) and not set(IMPORT_IDS) & NOT_EXPORTED
    for kind_name, rule in IMPORT_IDS.items():
        fields = set(re.findall(r"\{(\w+)\}", rule))
        assert fields <= set(KIND_OF[kind_name].inputs.model_fields), kind_name
    with pytest.raises(ValueError, match="no import id rule for Project"):
        import_id("Project", {})


def test_a_language_it_does_not_write_is_refused_and_nothing_is_written(
    local: Api, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as refused:
        _export("-o", str(tmp_path / "billing"), "--language", "rust")
    assert refused.value.code == 2
    err = capsys.readouterr().err
    assert "argument --language: invalid choice: 'rust'" in err and "Traceback" not in err
    assert not (tmp_path / "billing").exists()


def test_language_python_is_the_default(local: Api, tmp_path: Path) -> None:
    _make_account(local)
    assert _export("-o", str(tmp_path / "default"), "--split") == 0
    assert _export("-o", str(tmp_path / "python"), "--split", "--language", "python") == 0

    def files(folder: str) -> dict[str, str]:
        dated = re.compile(r"on \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
        return {p.name: dated.sub("on DATE", p.read_text()) for p in (tmp_path / folder).iterdir()}

    assert files("default") == files("python") and "import.json" not in files("python")


def test_the_yaml_program_adopts_everything_and_imports_with_the_files_it_wrote(
    sandbox: Sandbox, api: Api, env: None, tmp_path: Path
) -> None:
    """Under the real engine and the provider plugin: the exported Pulumi YAML program's first `up` writes
    nothing; in another stack, `pulumi import --file import.json` imports every resource (reads only) under the
    program's names, and the program then previews no create, replace or delete."""
    account = _every_kind_account(api)
    program = tmp_path / "billing"
    assert _export("-o", str(program), "--language", "yaml") == 0
    names = set(yaml.safe_load((program / "Pulumi.yaml").read_text())["resources"])
    stack = Stack(program, config=plugin_config(sandbox), backend_dir=tmp_path / "backend")

    api.clear_requests()
    assert stack.up().ops() == dict.fromkeys(names, "create")
    assert api.writes() == [], "adopting the live account writes nothing"
    assert stack.preview().changed() == {}
    assert {r["alertId"] for r in stack.resources.values() if "alertId" in r} >= account.alert_ids

    empty = tmp_path / "importing"
    empty.mkdir()
    (empty / "Pulumi.yaml").write_text(yaml.safe_dump({"name": "openai-billing", "runtime": "yaml"}))
    importing = Stack(empty, config=plugin_config(sandbox), backend_dir=tmp_path / "backend-2")
    api.clear_requests()
    importing.cli(
        "import",
        "--file",
        str(program / "import.json"),
        "--yes",
        "--non-interactive",
        "--out",
        str(tmp_path / "generated.yaml"),
    )
    assert api.writes() == [], "an import only reads"
    imported = json.loads((program / "import.json").read_text())["resources"]
    assert importing.ids() == {r["name"]: r["id"] for r in imported}
    work = importing.backend_dir / "workspaces" / importing.project / "Pulumi.yaml"
    project = yaml.safe_load(work.read_text())
    project["resources"] = yaml.safe_load((program / "Pulumi.yaml").read_text())["resources"]
    work.write_text(yaml.safe_dump(project, sort_keys=False))
    api.clear_requests()
    changed = importing.preview().changed()
    assert changed == {}, "imported, the exported program changes nothing"
    assert api.writes() == []
