"""`openai-billing export` against a real sandbox: the generated program adopts every live limit and alert and
declares each project's changed controls (its first `up` sends no write), it is ruff-clean, and the YAML form
round-trips through ``load_config``."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from conftest import ADMIN_KEY, Api, plugin_config
from pulumi_openai_billing import cli
from pulumi_openai_billing.model.config import (
    AlertConfig,
    BillingConfig,
    ConfigFileError,
    OrganizationConfig,
    ProjectConfig,
    dump_config,
    load_config,
)
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
