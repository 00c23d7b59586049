"""The providers inside the real ``python -m pulumi.dynamic`` plugin server, against a real sandbox."""

from __future__ import annotations

import base64
import pickletools
import re
import time
from contextlib import ExitStack
from typing import Any

import pytest

from conftest import ADMIN_KEY, Api, Resource, fresh_plugin, pickled, provider_blob, this_month
from plugin_driver import UNKNOWN, Plugin, PluginError
from pulumi_openai_billing.sandbox import Sandbox

ALERT = {"threshold_usd": 250, "recipients": ["finops@example.com"]}


# -- limits ----------------------------------------------------------------------------------------------


def test_organization_limit_lifecycle_with_drift(plugin: Plugin, api: Api) -> None:
    limit = Resource(plugin, "OrganizationSpendLimit")
    outs = limit.create({"monthly_limit_usd": 1500})
    assert limit.id == "organization"
    assert outs["monthly_limit_usd"] == "1500.00" and outs["monthly_limit_cents"] == 150000
    assert outs["currency"] == "USD" and outs["interval"] == "month" and outs["schema_version"] == 1
    assert outs["on_delete"] == "retain" and outs["organization"] == "127.0.0.1"
    assert api.get("organization/spend_limit")["threshold_amount"] == 150000

    api.set_limit(2500)  # someone edits the dashboard
    id_, live, inputs = limit.read()
    assert id_ == "organization" and live["monthly_limit_usd"] == "2500.00"
    assert inputs is not None and inputs["monthly_limit_usd"] == "2500.00" and inputs["on_delete"] == "retain"
    limit.refresh()
    diff = limit.diff({"monthly_limit_usd": "1500"})
    assert diff.changes is not False and diff.replaces == []
    limit.update({"monthly_limit_usd": "1500"})
    assert api.get("organization/spend_limit")["threshold_amount"] == 150000
    assert limit.read()[1]["monthly_limit_usd"] == "1500.00"


@pytest.mark.parametrize("spelling", ["1500", 1500.0, "1500.00", 1500, " 1500.0 "])
def test_equal_amounts_never_diff(plugin: Plugin, spelling: object) -> None:
    limit = Resource(plugin, "OrganizationSpendLimit")
    limit.create({"monthly_limit_usd": "1500.00"})
    assert limit.diff({"monthly_limit_usd": spelling}).changes is False


def test_enforcement_status_is_read_only_and_never_diffs(plugin: Plugin, api: Api) -> None:
    project = api.project("team-a")
    limit = Resource(plugin, "ProjectSpendLimit")
    limit.create({"project_id": project, "monthly_limit_usd": 10})
    api.post("sandbox/usage", {"project_id": project, "amount_usd": "12.50"})
    limit.refresh()
    assert limit.outputs["enforcement_status"] == "enforcing"
    assert limit.diff({"project_id": project, "monthly_limit_usd": 10}).changes is False


def test_existing_limit_is_refused_unless_adopted(plugin: Plugin, api: Api) -> None:
    api.set_limit(700)
    before = api.state()
    limit = Resource(plugin, "OrganizationSpendLimit")
    refused = (
        "the organization already has a monthly spend limit of 700.00 USD; set adopt_existing=True to take it over "
        "(it will be set to the declared values)"
    )
    assert limit.check({"monthly_limit_usd": 1000})[1] == [("", refused)], "preview says so"
    inputs = {"monthly_limit_usd": "1000.00", "on_delete": "retain", "adopt_existing": False}
    with pytest.raises(PluginError, match=re.escape(refused)):  # and create, should the limit appear after it
        plugin.create(limit.urn, {**inputs, "__provider": limit.blob})
    assert api.state() == before

    outs = limit.create({"monthly_limit_usd": 1000, "adopt_existing": True})
    assert outs["monthly_limit_usd"] == "1000.00"
    assert api.get("organization/spend_limit")["threshold_amount"] == 100000


def test_adoption_that_changes_nothing_writes_nothing(plugin: Plugin, api: Api) -> None:
    api.set_limit(1000)
    api.clear_requests()
    Resource(plugin, "OrganizationSpendLimit").create({"monthly_limit_usd": "1000.00", "adopt_existing": True})
    assert api.writes() == []


def test_destroy_retains_the_limit_by_default(sandbox: Sandbox, api: Api) -> None:
    with fresh_plugin(sandbox) as plugin:
        limit = Resource(plugin, "OrganizationSpendLimit")
        limit.create({"monthly_limit_usd": 1000})
    with fresh_plugin(sandbox) as plugin:
        limit.plugin = plugin
        limit.delete()
    assert api.get("organization/spend_limit")["threshold_amount"] == 100000


def test_on_delete_remove_removes_the_limit(sandbox: Sandbox, api: Api) -> None:
    project = api.project("team-a")
    with fresh_plugin(sandbox) as plugin:
        limit = Resource(plugin, "ProjectSpendLimit")
        limit.create({"project_id": project, "monthly_limit_usd": 1000, "on_delete": "remove"})
    with fresh_plugin(sandbox) as plugin:
        limit.plugin = plugin
        limit.delete()
        limit.delete()  # already gone: a 404 is success
    assert project not in api.state()["spend_limits"]["projects"]


def test_remove_is_skipped_when_another_resource_took_the_scope_over(sandbox: Sandbox, api: Api) -> None:
    """A rename: the new resource adopts the scope, then the old one is deleted in the same run."""
    with fresh_plugin(sandbox) as plugin:
        old = Resource(plugin, "OrganizationSpendLimit", "old")
        old.create({"monthly_limit_usd": 1000, "on_delete": "remove"})
    with fresh_plugin(sandbox) as plugin:
        new = Resource(plugin, "OrganizationSpendLimit", "new")
        new.create({"monthly_limit_usd": 1200, "adopt_existing": True, "on_delete": "remove"})
        old.plugin = plugin
        old.delete()
    assert api.get("organization/spend_limit")["threshold_amount"] == 120000


def test_project_change_replaces_delete_before_create(plugin: Plugin, api: Api) -> None:
    a, b = api.project("a"), api.project("b")
    limit = Resource(plugin, "ProjectSpendLimit")
    limit.create({"project_id": a, "monthly_limit_usd": 500})
    diff = limit.diff({"project_id": b, "monthly_limit_usd": 500})
    assert diff.changes is not False and diff.replaces == ["project_id"] and diff.delete_before_replace is True

    alert = Resource(plugin, "ProjectSpendAlert")
    alert.create({"project_id": a, **ALERT})
    diff = alert.diff({"project_id": b, **ALERT})
    assert diff.replaces == ["project_id"]
    assert alert.diff({"project_id": a, **ALERT, "threshold_usd": 300}).replaces == []


def test_limit_gone_when_deleted_or_zero(plugin: Plugin, api: Api, sandbox: Sandbox) -> None:
    limit = Resource(plugin, "OrganizationSpendLimit")
    limit.create({"monthly_limit_usd": 1000})
    api.http.delete("organization/spend_limit").raise_for_status()
    assert limit.read()[0] == "" and limit.read()[1] == {"__provider": limit.blob}


def test_limit_gone_when_api_answers_a_zero_amount() -> None:
    with Sandbox(ADMIN_KEY, empty_limit="zero", rate_limit="off") as sandbox, fresh_plugin(sandbox) as plugin:
        limit = Resource(plugin, "OrganizationSpendLimit")
        limit.create({"monthly_limit_usd": 5})
        Api(sandbox).http.delete("organization/spend_limit").raise_for_status()
        assert limit.read()[0] == ""
        # and a zero-amount "no limit" is not mistaken for a live limit at create
        other = Resource(plugin, "OrganizationSpendLimit", "again")
        assert other.create({"monthly_limit_usd": 5})["monthly_limit_cents"] == 500


# -- alerts ----------------------------------------------------------------------------------------------


def test_alert_lifecycle_with_drift_and_canonical_recipients(plugin: Plugin, api: Api, sandbox: Sandbox) -> None:
    """Each change made in the dashboard is read by a later run (a new plugin process, as the CLI starts)."""
    alert = Resource(plugin, "OrganizationSpendAlert")
    outs = alert.create(
        {
            "threshold_usd": "250.5",
            "recipients": ["b@Example.com", "a@example.com", "B@EXAMPLE.COM"],
            "subject_prefix": "[ai]",
        }
    )
    assert alert.id.startswith("alert_") and outs["alert_id"] == alert.id
    assert outs["recipients"] == ["a@example.com", "b@example.com"]
    assert outs["threshold_usd"] == "250.50" and outs["threshold_cents"] == 25050
    assert (
        alert.diff(
            {"threshold_usd": 250.50, "recipients": ["b@EXAMPLE.com", "a@Example.COM"], "subject_prefix": "[ai]"}
        ).changes
        is False
    )

    with ExitStack() as later_runs:
        live = api.get(f"organization/spend_alerts/{alert.id}")
        body = {k: live[k] for k in ("currency", "interval", "notification_channel")}
        api.post(f"organization/spend_alerts/{alert.id}", {**body, "threshold_amount": 99900})
        alert.plugin = later_runs.enter_context(fresh_plugin(sandbox))
        alert.refresh()
        assert alert.outputs["threshold_usd"] == "999.00"
        diff = alert.diff(
            {"threshold_usd": "250.50", "recipients": ["a@example.com", "b@example.com"], "subject_prefix": "[ai]"}
        )
        assert diff.changes is not False and diff.replaces == []
        alert.update(
            {"threshold_usd": "250.50", "recipients": ["a@example.com", "b@example.com"], "subject_prefix": "[ai]"}
        )
        assert api.get(f"organization/spend_alerts/{alert.id}")["threshold_amount"] == 25050

        api.http.delete(f"organization/spend_alerts/{alert.id}").raise_for_status()
        alert.plugin = later_runs.enter_context(fresh_plugin(sandbox))
        assert alert.read()[0] == ""
        alert.delete()  # already gone: success


def test_identical_live_alert_is_adopted_not_duplicated(plugin: Plugin, api: Api) -> None:
    live = api.post(
        "organization/spend_alerts",
        {
            "threshold_amount": 25000,
            "currency": "USD",
            "interval": "month",
            "notification_channel": {"type": "email", "recipients": ["FinOps@Example.com"]},
        },
    )
    api.clear_requests()
    alert = Resource(plugin, "OrganizationSpendAlert")
    alert.create({"threshold_usd": 250, "recipients": ["FinOps@example.com"]})
    assert alert.id == live["id"]
    assert api.writes() == []
    twin = Resource(plugin, "OrganizationSpendAlert", "twin")
    twin.create({"threshold_usd": 250, "recipients": ["FinOps@example.com"]})
    assert twin.id != alert.id, "two declared alerts never share one live alert"
    assert len(api.alerts()) == 2


def test_adopt_alert_id_takes_over_and_reconciles(plugin: Plugin, api: Api) -> None:
    project = api.project("team-a")
    live = api.post(
        f"organization/projects/{project}/spend_alerts",
        {
            "threshold_amount": 100,
            "currency": "USD",
            "interval": "month",
            "notification_channel": {"type": "email", "recipients": ["old@example.com"]},
        },
    )
    alert = Resource(plugin, "ProjectSpendAlert")
    alert.create({"project_id": project, **ALERT, "adopt_alert_id": live["id"]})
    assert alert.id == f"{project}/{live['id']}"
    now = api.get(f"organization/projects/{project}/spend_alerts/{live['id']}")
    assert now["threshold_amount"] == 25000 and now["notification_channel"]["recipients"] == ["finops@example.com"]
    assert len(api.alerts(project)) == 1
    assert alert.diff({"project_id": project, **ALERT}).changes is False, "adopt_alert_id is create-only"

    missing = Resource(plugin, "ProjectSpendAlert", "missing")
    with pytest.raises(PluginError, match="no spend alert alert_nope"):
        missing.create({"project_id": project, **ALERT, "adopt_alert_id": "alert_nope"})


def test_lost_create_response_ends_with_exactly_one_alert(plugin: Plugin, api: Api) -> None:
    api.faults({"method": "POST", "path": "/v1/organization/spend_alerts", "kind": "drop_after_commit", "times": 1})
    alert = Resource(plugin, "OrganizationSpendAlert")
    alert.create(ALERT)
    alerts = api.alerts()
    assert [a["id"] for a in alerts] == [alert.id]
    posts = [r for r in api.requests() if r["method"] == "POST"]
    assert len(posts) == 1, "the create was never re-sent"


def test_rate_limit_is_waited_out_and_retried(plugin: Plugin, api: Api) -> None:
    api.faults(
        {
            "method": "POST",
            "path": "/v1/organization/spend_alerts",
            "kind": "status",
            "status": 429,
            "retry_after": 1,
            "times": 1,
        }
    )
    started = time.monotonic()
    Resource(plugin, "OrganizationSpendAlert").create(ALERT)
    assert time.monotonic() - started >= 0.9
    assert len(api.alerts()) == 1
    assert [r["status"] for r in api.requests() if r["method"] == "POST"] == [429, 200]


def test_project_alert_404_with_invisible_project_is_an_error_not_gone(plugin: Plugin, api: Api) -> None:
    project = api.project("team-a")
    alert = Resource(plugin, "ProjectSpendAlert")
    alert.create({"project_id": project, **ALERT})
    alert.id = "proj_elsewhere/" + alert.id.split("/")[1]
    with pytest.raises(PluginError, match=r"not visible.*wrong organization"):
        alert.read()
    with pytest.raises(PluginError, match=r"not visible.*wrong organization"):
        alert.delete()
    limit = Resource(plugin, "ProjectSpendLimit")
    limit.create({"project_id": project, "monthly_limit_usd": 5, "on_delete": "remove"})
    limit.id, limit.outputs["project_id"] = "proj_elsewhere", "proj_elsewhere"
    for operation in (limit.read, limit.delete):
        with pytest.raises(PluginError, match=r"not visible.*wrong organization"):
            operation()


# -- preview, bad input, organization ----------------------------------------------------------------------


def test_unknowns_at_preview_fail_nothing_and_send_nothing(plugin: Plugin, api: Api) -> None:
    api.clear_requests()
    alert = Resource(plugin, "ProjectSpendAlert")
    inputs, failures = alert.check(
        {"project_id": UNKNOWN, "threshold_usd": UNKNOWN, "recipients": ["a@example.com", UNKNOWN]}
    )
    assert failures == []
    assert inputs["project_id"] == UNKNOWN and inputs["threshold_usd"] == UNKNOWN
    limit = Resource(plugin, "ProjectSpendLimit")
    inputs, failures = limit.check({"project_id": UNKNOWN, "monthly_limit_usd": "10.0"})
    assert failures == [] and inputs["monthly_limit_usd"] == "10.00"
    assert api.requests() == []


BAD_INPUTS = [
    ("OrganizationSpendLimit", {"monthly_limit_usd": -5}, "monthly_limit_usd", "must not be negative"),
    ("OrganizationSpendLimit", {"monthly_limit_usd": "10.005"}, "monthly_limit_usd", "more than two decimals"),
    ("OrganizationSpendLimit", {"monthly_limit_usd": "lots"}, "monthly_limit_usd", "dollar amount"),
    ("OrganizationSpendLimit", {"monthly_limit_usd": 0}, "monthly_limit_usd", "at least 0.01"),
    ("OrganizationSpendLimit", {"monthly_limit_usd": True}, "monthly_limit_usd", "not bool"),
    ("OrganizationSpendLimit", {"monthly_limit_usd": 5, "on_delete": "keep"}, "on_delete", "'retain' or 'remove'"),
    ("OrganizationSpendLimit", {}, "monthly_limit_usd", "is required"),
    ("OrganizationSpendAlert", {**ALERT, "threshold_usd": -1}, "threshold_usd", "must not be negative"),
    ("OrganizationSpendAlert", {**ALERT, "recipients": []}, "recipients", "at least one"),
    ("OrganizationSpendAlert", {**ALERT, "recipients": ["not-an-email"]}, "recipients", "e-mail addresses"),
    ("OrganizationSpendAlert", {**ALERT, "recipients": "a@example.com"}, "recipients", "valid list"),
    ("OrganizationSpendAlert", {**ALERT, "colour": "red"}, "colour", "not a property"),
    ("ProjectSpendAlert", {**ALERT, "project_id": "proj_unknown"}, "project_id", "not visible"),
    ("ProjectSpendLimit", {"monthly_limit_usd": 5, "project_id": "proj_unknown"}, "project_id", "not visible"),
]


@pytest.mark.parametrize(("kind", "news", "prop", "reason"), BAD_INPUTS)
def test_bad_input_fails_check_naming_the_field_and_changes_nothing(
    plugin: Plugin, api: Api, kind: str, news: dict[str, Any], prop: str, reason: str
) -> None:
    before = api.state()
    _, failures = Resource(plugin, kind).check(news)
    assert [f[0] for f in failures] == [prop]
    assert reason in failures[0][1] and failures[0][1].startswith(prop)
    assert api.state() == before
    assert api.writes() == []


def test_missing_admin_key_is_a_check_failure_naming_both_ways(sandbox: Sandbox, api: Api) -> None:
    before = api.state()
    with Plugin({"openai-billing:baseUrl": sandbox.base_url}, env={"OPENAI_ADMIN_KEY": ""}) as plugin:
        _, failures = Resource(plugin, "OrganizationSpendLimit").check({"monthly_limit_usd": 5})
    assert len(failures) == 1
    _, reason = failures[0]
    assert "pulumi config set --secret openai-billing:adminKey" in reason and "OPENAI_ADMIN_KEY" in reason
    assert api.state() == before


def test_admin_key_from_environment(sandbox: Sandbox, api: Api) -> None:
    with Plugin({"openai-billing:baseUrl": sandbox.base_url}, env={"OPENAI_ADMIN_KEY": ADMIN_KEY}) as plugin:
        Resource(plugin, "OrganizationSpendLimit").create({"monthly_limit_usd": 5})
    assert api.get("organization/spend_limit")["threshold_amount"] == 500


def test_wrong_organization_is_refused(sandbox: Sandbox, api: Api) -> None:
    with fresh_plugin(sandbox) as plugin:
        limit = Resource(plugin, "OrganizationSpendLimit")
        limit.create({"monthly_limit_usd": 5})
    before = api.state()
    with fresh_plugin(sandbox, **{"openai-billing:organization": "org-other"}) as plugin:
        limit.plugin = plugin
        _, failures = limit.check({"monthly_limit_usd": 50}, olds=limit.outputs)
        assert failures and failures[0][0] == "" and "belongs to" in failures[0][1] and "org-other" in failures[0][1]
        with pytest.raises(PluginError, match=r"belongs to 127\.0\.0\.1"):
            limit.delete()
        fresh = Resource(plugin, "OrganizationSpendLimit", "fresh")
        inputs, failures = fresh.check({"monthly_limit_usd": 50})
        with pytest.raises(PluginError, match="mismatched_organization"):
            plugin.create(fresh.urn, inputs)
    assert api.state() == before


def test_errors_carry_request_id_and_never_the_key(sandbox: Sandbox, api: Api) -> None:
    with Plugin(
        {"openai-billing:baseUrl": sandbox.base_url, "openai-billing:adminKey": "sk-admin-wrong-key-999999"},
        env={"OPENAI_ADMIN_KEY": ""},
    ) as plugin:
        limit = Resource(plugin, "OrganizationSpendLimit")
        with pytest.raises(PluginError) as info:
            plugin.create(
                limit.urn,
                {"monthly_limit_usd": "5.00", "on_delete": "retain", "adopt_existing": False, "__provider": limit.blob},
            )
    message = str(info.value)
    assert "401" in message and "invalid_api_key" in message and "request id req_" in message
    assert "sk-admin-wrong-key-999999" not in message


# -- the pickled provider ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind", ["OrganizationSpendLimit", "ProjectSpendLimit", "OrganizationSpendAlert", "ProjectSpendAlert"]
)
def test_pickled_provider_is_a_reference_without_secrets(kind: str) -> None:
    blob = pickled(kind)
    ops = [op.name for op, _, _ in pickletools.genops(blob)]
    text = blob.decode("latin-1")
    assert f"{kind}Provider" in text and "pulumi_openai_billing.providers" in text
    assert "CodeType" not in text and "_create_code" not in text and "_create_function" not in text
    assert ADMIN_KEY not in text and "sk-admin" not in text
    assert ops.count("STACK_GLOBAL") + ops.count("GLOBAL") <= 2
    assert base64.b64decode(provider_blob(kind)) == blob  # deterministic: no spurious diff on __provider


def test_diff_lets_the_engine_compare_inputs_only_where_it_would_agree(plugin: Plugin) -> None:
    """ "Changes unknown" makes the engine compare the inputs itself (so it knows which keys changed, for
    replace_on_changes and the display); where a create-only input differs too, it would see a change the kind
    ignores, so diff answers for itself."""
    limit = Resource(plugin, "OrganizationSpendLimit")
    limit.create({"monthly_limit_usd": 100})
    assert limit.diff({"monthly_limit_usd": 200}).changes is None
    assert limit.diff({"monthly_limit_usd": 200, "acknowledge_until": this_month()}).changes is True
    assert limit.diff({"monthly_limit_usd": 100, "acknowledge_until": this_month()}).changes is False
