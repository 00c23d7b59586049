"""The provider plugin (``pulumi-resource-openai-billing``) that programs in every language use: it serves every
kind and function, ``pulumi import`` works from the CLI, and secrets stay secret. The examples' lifecycles are in
test_examples.py (YAML) and test_sdk_examples.py (TypeScript, Go)."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from google.protobuf import struct_pb2

from conftest import ADMIN_KEY, Api, plugin_config
from plugin_driver import Plugin, PluginError, _plain
from pulumi_openai_billing.resources import KINDS
from pulumi_openai_billing.sandbox import Sandbox
from pulumi_openai_billing.schema import INVOKES, package_schema, schema_json
from pulumi_openai_billing.testing import DeploymentError, Stack

PLUGIN = str(Path(sys.executable).with_name("pulumi-resource-openai-billing"))


def _urn(kind: str, name: str = "r") -> str:
    return f"urn:pulumi:dev::billing::openai-billing:index:{kind}::{name}"


@pytest.fixture
def served(sandbox: Sandbox) -> Any:
    settings = {"baseUrl": sandbox.base_url, "adminKey": ADMIN_KEY, "maxRetries": "3"}
    with Plugin(settings, env={"OPENAI_ADMIN_KEY": ""}, command=[PLUGIN, "127.0.0.1:0"]) as running:
        yield running


def test_the_plugin_serves_every_kind_and_function_of_the_schema(served: Plugin) -> None:
    schema = json.loads(served._stub.GetSchema(served._pb.GetSchemaRequest()).schema)
    assert schema == json.loads(schema_json()) == package_schema()
    kinds = {f"openai-billing:index:{kind.name}" for kind in KINDS}
    assert {t for t, r in schema["resources"].items() if not r.get("isComponent")} == kinds
    assert set(schema["functions"]) == {invoke.token for invoke in INVOKES}
    for kind in KINDS:  # each is checked by its own model: an empty declaration names what it lacks
        _, failures = served.check(_urn(kind.name), {}, {})
        required = [n for n, f in kind.inputs.model_fields.items() if f.is_required()]
        assert bool(failures) == bool(required or kind.one_of), kind.name
    with pytest.raises(PluginError, match="openai-billing:index:Nope is not a resource of openai-billing"):
        served.check(_urn("Nope"), {}, {})


def test_a_bad_input_is_refused_in_the_schemas_words_and_nothing_is_written(served: Plugin, api: Api) -> None:
    api.clear_requests()
    _, failures = served.check(_urn("OrganizationSpendLimit"), {}, {"monthlyLimitUsd": -5, "onDelete": "maybe"})
    reasons = " ".join(reason for _, reason in failures)
    assert "monthlyLimitUsd must not be negative" in reasons and "onDelete" in reasons
    assert "monthly_limit_usd" not in reasons and "on_delete" not in reasons
    assert api.writes() == []


def _invoke(served: Plugin, function: str, **args: Any) -> dict[str, Any]:
    request = served._pb.InvokeRequest(tok=f"openai-billing:index:{function}", args=struct_pb2.Struct())
    request.args.update(args)
    return _plain(getattr(served._call("Invoke", request), "return"))


def test_read_functions_are_invokes(served: Plugin, api: Api) -> None:
    project = api.project("team-a")
    assert _invoke(served, "getSpendLimit") == {"exists": False}
    api.set_limit(1200)
    limit = _invoke(served, "getSpendLimit")
    assert (
        limit["exists"] is True and limit["monthlyLimitUsd"] == "1200.00" and limit["monthlyLimitCents"] == 1200 * 100
    )
    assert _invoke(served, "getProject", name="team-a")["id"] == project
    assert [p["name"] for p in _invoke(served, "listProjects")["projects"]] == ["team-a"]
    with pytest.raises(PluginError, match="no project with that name"):
        _invoke(served, "getProject", name="nobody")


def _program(folder: Path, resources: dict[str, Any] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    project = {"name": "billing-any-language", "runtime": "yaml", "resources": resources or {}}
    (folder / "Pulumi.yaml").write_text(yaml.safe_dump(project, sort_keys=False))
    return folder


def test_pulumi_import_from_the_cli_then_a_preview_shows_no_changes(sandbox: Sandbox, api: Api, tmp_path: Path) -> None:
    """For a spend limit, a spend alert and a project's rate limit: the CLI reads each through the plugin, writes
    the YAML to paste in, and with it pasted the next preview changes nothing."""
    project = api.project("team-a")
    api.set_limit(3000)
    alert = api.post(
        api.alerts_path(project),
        {
            "threshold_amount": 40000,
            "currency": "USD",
            "interval": "month",
            "notification_channel": {"type": "email", "recipients": ["lead@example.com"]},
        },
    )["id"]
    stack = Stack(_program(tmp_path / "program"), config=plugin_config(sandbox), backend_dir=tmp_path / "backend")
    work = stack.backend_dir / "workspaces" / stack.project / "Pulumi.yaml"
    imports = [
        ("OrganizationSpendLimit", "org-limit", "organization", {"monthlyLimitUsd": "3000.00"}),
        ("ProjectSpendAlert", "team-alert", f"{project}/{alert}", {"thresholdUsd": "400.00"}),
        ("ProjectRateLimit", "team-rate", f"{project}/gpt-4o-mini", {"model": "gpt-4o-mini"}),
    ]
    for kind, name, id_, expected in imports:
        out = tmp_path / f"{name}.yaml"
        api.clear_requests()
        stack.cli("import", f"openai-billing:index:{kind}", name, id_, "--yes", "--non-interactive", "--out", str(out))
        assert api.writes() == [], "an import only reads"
        generated = yaml.safe_load(out.read_text())["resources"][name]
        assert generated["type"] in (f"openai-billing:index:{kind}", f"openai-billing:{kind}")  # YAML's short form
        assert expected.items() <= generated["properties"].items(), generated
        assert all("_" not in key for key in generated["properties"]), "the schema's names"
        program = yaml.safe_load(work.read_text())
        program.setdefault("resources", {})[name] = generated
        work.write_text(yaml.safe_dump(program, sort_keys=False))
        assert stack.ids()[name] == id_
        api.clear_requests()
        assert stack.preview().changed() == {}, f"after importing {name}"
        assert api.writes() == []


def test_a_secret_setting_is_ciphertext_in_state_and_in_no_log(sandbox: Sandbox, tmp_path: Path) -> None:
    log = tmp_path / "steps.log"
    program = _program(
        tmp_path / "program",
        {
            "limit": {"type": "openai-billing:index:OrganizationSpendLimit", "properties": {"monthlyLimitUsd": 900}},
            "card": {"type": "openai-billing:index:PaymentMethod", "properties": {"token": "pm_card_visa"}},
        },
    )
    stack = Stack(program, config=plugin_config(sandbox), backend_dir=tmp_path / "backend", log_file=log)
    stack.up()
    stack.refresh()
    stack.preview()
    state = stack.state_file().read_text()
    assert ADMIN_KEY not in state and "pm_card_visa" not in state
    provider = next(
        r for r in json.loads(state)["checkpoint"]["latest"]["resources"] if r["type"].startswith("pulumi:providers:")
    )
    assert "ciphertext" in provider["inputs"]["adminKey"], "the admin key is encrypted in state"
    assert stack.resources["card"]["token"] == "pm_card_visa", "the card token is a secret output"
    assert ADMIN_KEY not in log.read_text() and log.read_text().strip()
    stack.destroy()
    assert ADMIN_KEY not in log.read_text()


def test_with_the_environment_variable_the_admin_key_is_not_in_state(sandbox: Sandbox, tmp_path: Path) -> None:
    program = _program(
        tmp_path / "program",
        {"limit": {"type": "openai-billing:index:OrganizationSpendLimit", "properties": {"monthlyLimitUsd": 900}}},
    )
    config = {k: v for k, v in plugin_config(sandbox).items() if not k.endswith(":adminKey")}
    stack = Stack(program, config=config, backend_dir=tmp_path / "backend", env={"OPENAI_ADMIN_KEY": ADMIN_KEY})
    stack.up()
    state = stack.state_file().read_text()
    assert ADMIN_KEY not in state and "adminKey" not in state
    assert stack.resources["limit"]["monthlyLimitUsd"] == "900.00"


def test_budget_is_a_component_every_language_can_use(sandbox: Sandbox, api: Api, tmp_path: Path) -> None:
    """The plugin constructs it: the same children as Python's Budget, parented to it, waiting for a project
    made in the same program; a budget whose alerts could never fire is refused, and nothing is written."""
    budget = {
        "type": "openai-billing:index:Budget",
        "properties": {
            "monthlyBudgetUsd": 1000,
            "recipients": ["lead@example.com"],
            "projectId": "${team.id}",
            "hardLimitPercent": 120,
            "alertAtPercent": [50, 100],
        },
    }
    team = {"type": "openai-billing:index:Project", "properties": {"name": "team-b"}}
    program = _program(tmp_path / "program", {"team": team, "team-budget": budget})
    stack = Stack(program, config=plugin_config(sandbox), backend_dir=tmp_path / "backend")
    assert set(stack.up().ops()) == {"team", "team-budget-limit", "team-budget-alert-50", "team-budget-alert-100"}
    project = stack.ids()["team"]
    assert api.get(f"organization/projects/{project}/spend_limit")["threshold_amount"] == 120000
    assert sorted(a["threshold_amount"] for a in api.alerts(project)) == [50000, 100000]
    children = [r for r in stack.export()["deployment"]["resources"] if r["urn"].endswith("::team-budget-limit")]
    assert children[0]["parent"].endswith("openai-billing:index:Budget::team-budget")
    assert stack.preview().changed() == {}

    budget["properties"]["alertAtPercent"] = [50, 150]
    program = _program(tmp_path / "program", {"team": team, "team-budget": budget})
    refused = Stack(program, config=plugin_config(sandbox), backend_dir=tmp_path / "backend")
    api.clear_requests()
    with pytest.raises(DeploymentError, match=r"alerts at 150% are above hardLimitPercent \(120%\)"):
        refused.up()
    assert api.writes() == []


def _readme_ids() -> dict[str, str]:
    """The README's table of the id each kind takes (``pulumi import``), as kind -> id pattern."""
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    table = text.split("The id each kind takes:", 1)[1].strip().split("\n\n", 1)[0]
    rows = re.findall(r"^\| `(\w+)` \| `([^`]+)`", table, re.MULTILINE)
    return dict(rows)


def _pattern(documented: str) -> str:
    return re.escape(documented).replace("…", "[A-Za-z0-9]+").replace("<model>", r"[\w.-]+")


def test_every_kind_with_a_live_id_is_read_by_the_id_the_readme_gives(served: Plugin, api: Api) -> None:
    """What ``pulumi import`` asks the plugin: a read by id alone. Each kind's object is made through the plugin,
    then found again from nothing but its id, which has the README's form."""
    ids = _readme_ids()
    assert "| `PaymentMethod` | not importable" in (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert set(ids) | {"PaymentMethod"} == {kind.name for kind in KINDS}, "every kind has a row in the README"
    project = api.project("team-a")
    key = api.api_key(project)
    card = served.create(_urn("PaymentMethod"), served.check(_urn("PaymentMethod"), {}, {"token": "pm_card_visa"})[0])
    declared = {
        "Project": {"name": "team-b"},
        "OrganizationSpendLimit": {"monthlyLimitUsd": 900},
        "ProjectSpendLimit": {"projectId": project, "monthlyLimitUsd": 300},
        "ApiKeySpendLimit": {"projectId": project, "apiKeyId": key, "monthlyLimitUsd": 50},
        "OrganizationSpendAlert": {"thresholdUsd": 400, "recipients": ["a@example.com"]},
        "ProjectSpendAlert": {"projectId": project, "thresholdUsd": 200, "recipients": ["a@example.com"]},
        "ProjectModelPermissions": {"projectId": project, "mode": "allow_list", "modelIds": ["gpt-4o-mini"]},
        "ProjectHostedTools": {"projectId": project, "webSearch": False},
        "ProjectServiceTiers": {"projectId": project, "default": "scale"},
        "ProjectRateLimit": {"projectId": project, "model": "gpt-4o-mini", "maxRequestsPer1Minute": 100},
        "DefaultPaymentMethod": {"paymentMethodId": card[1]["paymentMethodId"]},
        "CreditTopUpPolicy": {"balanceThresholdUsd": 20, "targetBalanceUsd": 100, "monthlyReloadLimitUsd": 300},
        "CreditPurchase": {"amountUsd": 25, "purchaseKey": "march"},
    }
    assert set(declared) == set(ids)
    for kind, news in declared.items():
        inputs, failures = served.check(_urn(kind), {}, news)
        assert failures == [], (kind, failures)
        id_, _ = served.create(_urn(kind), inputs)
        assert re.fullmatch(_pattern(ids[kind]), id_), (kind, id_, ids[kind])
        api.clear_requests()
        found, outputs, imported = served.read(_urn(kind, "imported"), id_, {})
        assert found == id_ and outputs and imported is not None, kind
        assert api.writes() == [], f"importing a {kind} only reads"
        specs = package_schema()["resources"][f"openai-billing:index:{kind}"]["inputProperties"]
        declared_values = {k: v for k, v in inputs.items() if k in specs and v not in (None, specs[k].get("default"))}
        assert all(imported.get(k) == v for k, v in declared_values.items()), (kind, declared_values, imported)
        assert set(imported) <= set(specs), "an import declares inputs only"
