"""What Pulumi's engine does with resource options, and the provider's part in it, against the sandbox.

Each test runs a program under the real engine (``pulumi_openai_billing.testing.Stack``) and checks both what
the engine reports and what the live account holds.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import Api, plugin_config, write_program
from pulumi_openai_billing.sandbox import Sandbox
from pulumi_openai_billing.testing import DeploymentError, Stack

ALERT = 'billing.OrganizationSpendAlert("{name}", threshold_usd={usd}, recipients={recipients}{extra})\n'


def _alert(name: str = "alert", usd: int = 100, recipients: str = '["a@example.com"]', extra: str = "") -> str:
    return ALERT.format(name=name, usd=usd, recipients=recipients, extra=extra)


def _stack(sandbox: Sandbox, tmp_path: Path, body: str) -> Stack:
    return Stack(write_program(tmp_path, body), config=plugin_config(sandbox), backend_dir=tmp_path / "backend")


def _rewrite(stack: Stack, tmp_path: Path, body: str) -> None:
    """The user edits the program (same folder, same stack)."""
    write_program(tmp_path, body)


def test_protect_refuses_delete_and_destroy(sandbox: Sandbox, api: Api, tmp_path: Path) -> None:
    stack = _stack(sandbox, tmp_path, _alert(extra=", opts=pulumi.ResourceOptions(protect=True)"))
    stack.up()
    _rewrite(stack, tmp_path, "")
    for step in (stack.up, stack.destroy):
        with pytest.raises(DeploymentError, match="protected"):
            step()
    assert len(api.alerts()) == 1 and set(stack.ids()) == {"alert"}


@pytest.mark.parametrize("on_delete", ["retain", "remove"])
def test_retain_on_delete_keeps_the_live_object_whatever_on_delete_says(
    sandbox: Sandbox, api: Api, tmp_path: Path, on_delete: str
) -> None:
    body = (
        f'billing.OrganizationSpendLimit("cap", monthly_limit_usd=300, on_delete="{on_delete}", '
        "opts=pulumi.ResourceOptions(retain_on_delete=True))\n"
        + _alert(extra=", opts=pulumi.ResourceOptions(retain_on_delete=True)")
    )
    stack = _stack(sandbox, tmp_path, body)
    stack.up()
    destroyed = stack.destroy()
    assert {name: change.label for name, change in destroyed.changes.items()} == {
        "cap": "kept (retain_on_delete)",
        "alert": "kept (retain_on_delete)",
    }
    assert api.get("organization/spend_limit")["threshold_amount"] == 30000
    assert len(api.alerts()) == 1 and stack.ids() == {}


def test_on_delete_remove_without_retain_on_delete_removes_the_limit(
    sandbox: Sandbox, api: Api, tmp_path: Path
) -> None:
    stack = _stack(
        sandbox, tmp_path, 'billing.OrganizationSpendLimit("cap", monthly_limit_usd=300, on_delete="remove")\n'
    )
    stack.up()
    assert stack.destroy().changes["cap"].label == "delete"
    assert api.state()["spend_limits"]["organization"] is None


def test_ignore_changes_on_an_amount_and_on_recipients(sandbox: Sandbox, api: Api, tmp_path: Path) -> None:
    def body(usd: int, recipients: str) -> str:
        return (
            f'billing.OrganizationSpendLimit("cap", monthly_limit_usd={usd}, '
            'opts=pulumi.ResourceOptions(ignore_changes=["monthly_limit_usd"]))\n'
            + _alert(recipients=recipients, extra=', opts=pulumi.ResourceOptions(ignore_changes=["recipients"])')
        )

    stack = _stack(sandbox, tmp_path, body(300, '["a@example.com"]'))
    stack.up()
    _rewrite(stack, tmp_path, body(400, '["b@example.com"]'))
    api.clear_requests()
    assert stack.preview().changed() == {} and stack.up().changed() == {}
    assert api.writes() == []
    assert api.get("organization/spend_limit")["threshold_amount"] == 30000
    assert api.alerts()[0]["notification_channel"]["recipients"] == ["a@example.com"]

    # A dashboard edit of an ignored property is recorded by refresh (the engine shows no change for it) and
    # left alone by up.
    api.set_limit(350)
    assert stack.refresh().changed() == {}
    assert stack.resources["cap"]["monthly_limit_usd"] == "350.00"
    assert stack.up().changed() == {}
    assert api.get("organization/spend_limit")["threshold_amount"] == 35000


def test_replace_on_changes_replaces_an_alert_instead_of_updating_it(
    sandbox: Sandbox, api: Api, tmp_path: Path
) -> None:
    def body(recipients: str) -> str:
        return _alert(recipients=recipients, extra=', opts=pulumi.ResourceOptions(replace_on_changes=["recipients"])')

    stack = _stack(sandbox, tmp_path, body('["a@example.com"]'))
    stack.up()
    first = stack.ids()["alert"]
    _rewrite(stack, tmp_path, body('["b@example.com"]'))
    preview = stack.preview()
    assert preview.ops() == {"alert": "replace"}
    assert preview.changes["alert"].values == {"recipients": (["a@example.com"], ["b@example.com"])}
    assert stack.up().ops() == {"alert": "replace"}
    live = api.alerts()
    assert [a["notification_channel"]["recipients"] for a in live] == [["b@example.com"]], "one alert, the new one"
    assert live[0]["id"] == stack.ids()["alert"] != first


def test_moving_a_project_limit_deletes_before_it_creates(sandbox: Sandbox, api: Api, tmp_path: Path) -> None:
    a, b = api.project("a"), api.project("b")
    body = 'billing.ProjectSpendLimit("cap", project_id="{}", monthly_limit_usd=200, on_delete="remove")\n'
    alert = 'billing.ProjectSpendAlert("warn", project_id="{}", threshold_usd=10, recipients=["a@example.com"], '
    alert += "opts=pulumi.ResourceOptions(delete_before_replace=True))\n"
    stack = _stack(sandbox, tmp_path, body.format(a) + alert.format(a))
    stack.up()
    _rewrite(stack, tmp_path, body.format(b) + alert.format(b))
    moved = stack.up()
    assert moved.ops() == {"cap": "replace", "warn": "replace"}
    order = [(op, name) for op, name in moved.order if name in ("cap", "warn")]
    for name in ("cap", "warn"):
        assert order.index(("delete-replaced", name)) < order.index(("create-replacement", name)), order
    assert a not in api.state()["spend_limits"]["projects"]
    assert api.get(f"organization/projects/{b}/spend_limit")["threshold_amount"] == 20000
    assert api.alerts(a) == [] and len(api.alerts(b)) == 1


def test_a_rename_with_an_alias_writes_nothing(sandbox: Sandbox, api: Api, tmp_path: Path) -> None:
    limit = 'billing.OrganizationSpendLimit("{}", monthly_limit_usd=300{})\n'
    stack = _stack(sandbox, tmp_path, limit.format("cap", "") + _alert())
    stack.up()
    renamed = limit.format("org-cap", ', opts=pulumi.ResourceOptions(aliases=[pulumi.Alias(name="cap")])')
    _rewrite(
        stack,
        tmp_path,
        renamed + _alert("org-alert", extra=', opts=pulumi.ResourceOptions(aliases=[pulumi.Alias(name="alert")])'),
    )
    api.clear_requests()
    assert stack.preview().ops() == {"org-cap": "same", "org-alert": "same"}
    assert stack.up().ops() == {"org-cap": "same", "org-alert": "same"}
    assert api.writes() == [] and set(stack.ids()) == {"org-cap", "org-alert"}


def test_target_updates_one_alert_only(sandbox: Sandbox, api: Api, tmp_path: Path) -> None:
    stack = _stack(sandbox, tmp_path, _alert("low", 100) + _alert("high", 200))
    stack.up()
    _rewrite(stack, tmp_path, _alert("low", 110) + _alert("high", 210))
    up = stack.up(target=[stack.urn("low")])
    assert up.changed().keys() == {"low"}
    assert sorted(a["threshold_amount"] for a in api.alerts()) == [11000, 20000]
    assert stack.preview().changed().keys() == {"high"}, "the other alert is still to do"


def test_destroy_deletes_a_budgets_children_before_the_budget(sandbox: Sandbox, api: Api, tmp_path: Path) -> None:
    stack = _stack(
        sandbox,
        tmp_path,
        'billing.Budget("org", monthly_budget_usd=1000, recipients=["a@example.com"], hard_limit_percent=100)\n',
    )
    stack.up()
    destroyed = stack.destroy()
    order = [name for op, name in destroyed.order if op == "delete"]
    assert order[-1] == "org" and set(order[:-1]) == {"org-limit", "org-alert-50", "org-alert-80", "org-alert-100"}
    assert order.index("org-limit") > max(order.index(f"org-alert-{p}") for p in (50, 80, 100)), (
        "alerts depend on the limit, so they go first"
    )


def test_an_alert_removed_from_state_by_hand_is_adopted_not_duplicated(
    sandbox: Sandbox, api: Api, tmp_path: Path
) -> None:
    stack = _stack(sandbox, tmp_path, _alert())
    stack.up()
    live = api.alerts()[0]["id"]
    stack.cli("state", "delete", stack.urn("alert"), "--yes")
    assert stack.ids() == {}
    assert stack.preview().ops() == {"alert": "create"}
    stack.up()
    assert [a["id"] for a in api.alerts()] == [live] and stack.ids()["alert"] == live
    assert stack.preview().changed() == {}


def test_a_limit_removed_from_state_by_hand_says_how_to_take_it_back(
    sandbox: Sandbox, api: Api, tmp_path: Path
) -> None:
    stack = _stack(sandbox, tmp_path, 'billing.OrganizationSpendLimit("cap", monthly_limit_usd=300)\n')
    stack.up()
    stack.cli("state", "delete", stack.urn("cap"), "--yes")
    with pytest.raises(DeploymentError, match=r"already has a monthly spend limit of 300\.00 USD; set adopt_existing"):
        stack.preview()
    _rewrite(stack, tmp_path, 'billing.OrganizationSpendLimit("cap", monthly_limit_usd=300, adopt_existing=True)\n')
    api.clear_requests()
    assert stack.up().ops() == {"cap": "create"}
    assert api.writes() == [], "taking back an equal limit writes nothing"
    assert stack.preview().changed() == {}, "adopt_existing never diffs"


def test_the_cli_shows_what_changed_and_nothing_else(sandbox: Sandbox, api: Api, tmp_path: Path) -> None:
    """`pulumi preview --diff` as a user reads it: a replacement names the input that forces it (a secret one
    too) and lists no output-only property as removed."""
    api.set_default(api.attach("pm_card_visa"))
    body = (
        'billing.CreditPurchase("buy", amount_usd=50, purchase_key="{key}")\n'
        'billing.PaymentMethod("card", token="{token}")\n'
        'billing.OrganizationSpendLimit("cap", monthly_limit_usd={usd})\n'
    )
    stack = _stack(sandbox, tmp_path, body.format(key="k1", token="pm_card_visa", usd=100))
    stack.up()
    _rewrite(stack, tmp_path, body.format(key="k2", token="pm_card_mastercard", usd=200))
    printed: list[str] = []
    stack.preview(json=False, diff=True, on_output=printed.append)
    text = "\n".join(printed)
    assert '~ monthly_limit_usd: "100.00" => "200.00"' in text
    assert '~ purchase_key: "k1" => "k2"' in text and "~ token: [secret] => [secret]" in text
    assert "amount_cents" not in text and "purchase_id" not in text and "monthly_limit_cents" not in text
    assert "pm_card_mastercard" not in text and "1 to update" in text and "2 to replace" in text
