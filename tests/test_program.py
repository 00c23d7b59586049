"""Whole programs under Pulumi's real engine, through ``pulumi_openai_billing.testing``."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from conftest import ADMIN_KEY, Api, plugin_config, write_program
from pulumi_openai_billing.sandbox import Sandbox
from pulumi_openai_billing.testing import DeploymentError, Stack

QUICKSTART = Path(__file__).resolve().parents[1] / "examples" / "quickstart"
QUICKSTART_NAMES = {"org-limit", "org-alert-50", "org-alert-80", "org-alert-100", "team-a-limit", "team-a-alert"}


def test_quickstart_preview_up_drift_refresh_up_destroy(sandbox: Sandbox, api: Api, tmp_path: Path) -> None:
    team = api.project("team-a")
    stack = Stack(QUICKSTART, config=plugin_config(sandbox), backend_dir=tmp_path / "backend")

    api.clear_requests()
    preview = stack.preview()
    assert preview.ops() == dict.fromkeys(QUICKSTART_NAMES, "create")
    assert api.writes() == [], "a preview never writes"
    assert stack.ids() == {}

    up = stack.up()
    assert up.ops() == dict.fromkeys(QUICKSTART_NAMES, "create")
    assert up.exports == {"organization_limit_usd": "5000.00", "team_project_id": team, "team_limit_usd": "750.00"}
    assert api.get("organization/spend_limit")["threshold_amount"] == 500000
    assert sorted(a["threshold_amount"] for a in api.alerts()) == [250000, 400000, 500000]
    assert [a["threshold_amount"] for a in api.alerts(team)] == [60000]
    assert api.get(f"organization/projects/{team}/spend_limit")["threshold_amount"] == 75000

    assert stack.preview().changed() == {}, "a second preview after up reports no change"

    api.set_limit(9000)
    refreshed = stack.refresh()
    assert refreshed.changed().keys() == {"org-limit"}
    assert refreshed.changes["org-limit"].values == {
        "monthly_limit_cents": (500000, 900000),
        "monthly_limit_usd": ("5000.00", "9000.00"),
    }
    drift = stack.preview()
    assert drift.ops()["org-limit"] == "update"
    assert drift.changes["org-limit"].values == {"monthly_limit_usd": ("9000.00", "5000.00")}
    assert stack.up().changed().keys() == {"org-limit"}
    assert api.get("organization/spend_limit")["threshold_amount"] == 500000
    assert stack.refresh().changed() == {}

    text = stack.state_file().read_text()
    assert ADMIN_KEY not in text

    destroyed = stack.destroy()
    assert destroyed.ops() == dict.fromkeys(QUICKSTART_NAMES, "delete")
    assert api.alerts() == [] and api.alerts(team) == []
    assert api.get("organization/spend_limit")["threshold_amount"] == 500000, "limits are retained by default"
    assert stack.ids() == {}


@pytest.mark.parametrize(
    ("declaration", "message"),
    [
        (
            'billing.OrganizationSpendLimit("limit", monthly_limit_usd="12.345")',
            "limit: monthly_limit_usd has more than two decimals (12.345): amounts are whole cents",
        ),
        (
            'billing.OrganizationSpendAlert("alert", threshold_usd=10, recipients=["nobody"])',
            "alert: recipients must be e-mail addresses such as finops@example.com; not valid: 'nobody'",
        ),
    ],
)
def test_bad_program_input_fails_preview_and_up_and_changes_nothing(
    sandbox: Sandbox, api: Api, tmp_path: Path, declaration: str, message: str
) -> None:
    """The engine stops a step at the first check failure; the user reads the provider's message once."""
    stack = Stack(write_program(tmp_path, declaration + "\n"), config=plugin_config(sandbox))
    before = api.state()
    for step in (stack.preview, stack.up):
        with pytest.raises(DeploymentError) as info:
            step()
        assert info.value.errors == [message]
        assert "Traceback" not in str(info.value) and "has a problem" not in str(info.value)
    assert api.state() == before
    assert stack.ids() == {}


def test_state_file_holds_no_secret_value(sandbox: Sandbox, api: Api, tmp_path: Path) -> None:
    program = write_program(
        tmp_path,
        """
billing.OrganizationSpendAlert("alert", threshold_usd=10, recipients=["a@example.com"],
                               subject_prefix=pulumi.Output.secret("[secret-prefix-value]"))
""",
    )
    stack = Stack(program, config=plugin_config(sandbox))
    stack.up()
    text = stack.state_file().read_text()
    assert "secret-prefix-value" not in text and "ciphertext" in text
    assert stack.resources["alert"]["subject_prefix"] == "[secret-prefix-value]"
    assert stack.preview().changed() == {}


def test_removed_resource_is_deleted_and_replacement_is_named(sandbox: Sandbox, api: Api, tmp_path: Path) -> None:
    a, b = api.project("a"), api.project("b")
    body = """
billing.ProjectSpendAlert("alert", project_id="{project}", threshold_usd=10, recipients=["a@example.com"])
billing.OrganizationSpendAlert("extra", threshold_usd=20, recipients=["a@example.com"])
"""
    program = write_program(tmp_path, body.format(project=a))
    stack = Stack(program, config=plugin_config(sandbox), backend_dir=tmp_path / "backend")
    stack.up()
    write_program(tmp_path, body.format(project=b).split("billing.OrganizationSpendAlert")[0])
    preview = stack.preview()
    assert preview.ops() == {"alert": "replace", "extra": "delete"}
    assert preview.changes["alert"].properties == ["project_id"]
    stack.up()
    assert api.alerts() == [] and api.alerts(a) == [] and len(api.alerts(b)) == 1


def test_a_programs_own_modules_run_again_at_every_step(sandbox: Sandbox, api: Api, tmp_path: Path) -> None:
    """A module the program imports declares resources at import time: each step must run it again, as each
    `pulumi` command starts a new process."""
    program = write_program(tmp_path, "import org_limits  # noqa: F401\n")
    (program / "org_limits.py").write_text(
        'import pulumi_openai_billing as billing\nbilling.OrganizationSpendLimit("cap", monthly_limit_usd=10)\n'
    )
    stack = Stack(program, config=plugin_config(sandbox), backend_dir=tmp_path / "backend")
    assert stack.up().ops() == {"cap": "create"}
    assert stack.preview().ops() == {"cap": "same"}
    assert "org_limits" not in sys.modules


def test_a_stack_made_without_an_organization_is_bound_to_it_explicitly(
    sandbox: Sandbox, api: Api, tmp_path: Path
) -> None:
    program = write_program(tmp_path, 'billing.OrganizationSpendLimit("cap", monthly_limit_usd=300)\n')
    stack = Stack(program, config=plugin_config(sandbox), backend_dir=tmp_path / "backend")
    stack.up()
    assert stack.resources["cap"]["organization"] == "127.0.0.1", "no organization configured: the API host"

    stack.set_config({"openai-billing:organization": sandbox.org_id})
    with pytest.raises(DeploymentError, match="bindOrganization") as refused:
        stack.preview()
    assert f"pulumi config set openai-billing:bindOrganization {sandbox.org_id}" in str(refused.value)

    stack.set_config({"openai-billing:bindOrganization": "org-elsewhere"})
    with pytest.raises(DeploymentError, match=r"bindOrganization \(org-elsewhere\) must equal"):
        stack.preview()

    # The key is verified against the organization before anything is bound.
    stack.set_config({"openai-billing:organization": "org-elsewhere"})
    with pytest.raises(DeploymentError, match="the admin key does not belong to org-elsewhere"):
        stack.preview()

    stack.set_config({"openai-billing:organization": sandbox.org_id, "openai-billing:bindOrganization": sandbox.org_id})
    preview = stack.preview()
    assert preview.changes["cap"].values == {"organization": ("127.0.0.1", sandbox.org_id)}
    api.clear_requests()
    assert stack.up().changes["cap"].values == {"organization": ("127.0.0.1", sandbox.org_id)}
    assert api.writes() == [], "binding writes nothing to the account"
    assert stack.resources["cap"]["organization"] == sandbox.org_id

    stack.set_config({"openai-billing:bindOrganization": None})
    assert stack.preview().changed() == {}


def test_an_error_during_up_reads_as_the_providers_message_not_a_class_path(
    sandbox: Sandbox, api: Api, tmp_path: Path
) -> None:
    program = write_program(
        tmp_path, 'billing.OrganizationSpendAlert("alert", threshold_usd=10, recipients=["a@example.com"])\n'
    )
    api.faults({"method": "POST", "path": "/v1/organization/spend_alerts", "kind": "status", "status": 400})
    with pytest.raises(DeploymentError) as info:
        Stack(program, config=plugin_config(sandbox)).up()
    text = str(info.value)
    assert "OpenAI API error 400" in text
    assert "pulumi_openai_billing." not in text and "Traceback" not in text and "Error:" not in text


def test_a_base_url_without_v1_fails_the_preview_with_the_fix(sandbox: Sandbox, tmp_path: Path) -> None:
    """It used to pass the preview of an alerts-only program and fail at up, with no hint."""
    program = write_program(
        tmp_path, 'billing.OrganizationSpendAlert("alert", threshold_usd=10, recipients=["a@example.com"])\n'
    )
    root = sandbox.base_url.removesuffix("/v1")
    for base_url, fix in (
        (root + "/v2", "its base URL ends in /v1 (https://api.openai.com/v1), not /v2"),
        (root, f"must end in the API's version, as https://api.openai.com/v1 does (e.g. {root}/v1)"),
    ):
        config = {**plugin_config(sandbox), "openai-billing:baseUrl": base_url}
        with pytest.raises(DeploymentError) as info:
            Stack(program, config=config).preview()
        assert fix in str(info.value)
