"""Alert reads share one paged list per scope, and the sharing never hides a change."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import Api, Resource, fresh_plugin, plugin_config, write_program
from plugin_driver import Plugin, PluginError
from pulumi_openai_billing.sandbox import Sandbox
from pulumi_openai_billing.testing import Stack


def _alert(threshold: int, *recipients: str) -> dict:
    return {"threshold_usd": threshold, "recipients": list(recipients or ["finops@example.com"])}


def _reads(api: Api) -> list[str]:
    return [r["path"] for r in api.requests() if r["method"] == "GET"]


def test_a_refresh_reads_each_scope_once(sandbox: Sandbox, plugin: Plugin, api: Api) -> None:
    team = api.project("team")
    alerts = [Resource(plugin, "OrganizationSpendAlert", f"org-{i}") for i in range(12)]
    for i, alert in enumerate(alerts):
        alert.create(_alert(10 + i))
    scoped = [Resource(plugin, "ProjectSpendAlert", f"team-{i}") for i in range(3)]
    for i, alert in enumerate(scoped):
        alert.create({**_alert(5 + i), "project_id": team})
    with fresh_plugin(sandbox) as again:
        api.clear_requests()
        for alert in [*alerts, *scoped]:
            alert.plugin = again
            alert.refresh()
    assert _reads(api) == ["/v1/" + Api.alerts_path(), "/v1/" + Api.alerts_path(team)]
    assert [a.outputs["threshold_cents"] for a in alerts] == [1000 + 100 * i for i in range(12)]


def test_a_change_made_by_this_process_is_read_back(plugin: Plugin, api: Api) -> None:
    kept, changed, deleted = (Resource(plugin, "OrganizationSpendAlert", name) for name in ("a", "b", "c"))
    for i, alert in enumerate((kept, changed, deleted)):
        alert.create(_alert(10 + i))
    kept.refresh()
    changed.update(_alert(99, "new@example.com"))
    changed.refresh()
    assert changed.inputs["recipients"] == ["new@example.com"] and changed.outputs["threshold_cents"] == 9900
    deleted.delete()
    assert deleted.read()[0] == "", "deleted by this process: gone, not served from the list read before"
    created = Resource(plugin, "OrganizationSpendAlert", "d")
    created.create(_alert(50))
    assert created.read()[1]["threshold_cents"] == 5000, "created by this process after the list was read"
    assert len(api.alerts()) == 3


def test_an_alert_missing_from_the_shared_list_is_looked_up_before_it_is_called_gone(plugin: Plugin, api: Api) -> None:
    first = Resource(plugin, "OrganizationSpendAlert", "first")
    first.create(_alert(10))
    first.refresh()
    made_elsewhere = api.post(
        Api.alerts_path(),
        {
            "threshold_amount": 2000,
            "currency": "USD",
            "interval": "month",
            "notification_channel": {"type": "email", "recipients": ["x@example.com"]},
        },
    )["id"]
    later = Resource(plugin, "OrganizationSpendAlert", "later")
    later.id, later.outputs = made_elsewhere, {"__provider": later.blob}
    api.clear_requests()
    id_, outputs, _ = later.read()
    assert id_ == made_elsewhere and outputs["threshold_cents"] == 2000
    assert _reads(api) == [f"/v1/{Api.alerts_path()}/{made_elsewhere}"], "the list was shared; the id got its own GET"


def test_a_change_made_elsewhere_is_seen_by_the_next_run(sandbox: Sandbox, plugin: Plugin, api: Api) -> None:
    alert = Resource(plugin, "OrganizationSpendAlert")
    alert.create(_alert(10))
    alert.refresh()
    api.post(
        f"{Api.alerts_path()}/{alert.id}",
        {
            "threshold_amount": 1000,
            "currency": "USD",
            "interval": "month",
            "notification_channel": {"type": "email", "recipients": ["someone@example.com"]},
        },
    )
    with fresh_plugin(sandbox) as next_run:
        alert.plugin = next_run
        alert.refresh()
    assert alert.inputs["recipients"] == ["someone@example.com"]


def test_creates_in_one_scope_share_one_list_and_this_process_reads_its_own_writes(plugin: Plugin, api: Api) -> None:
    api.clear_requests()
    alerts = [Resource(plugin, "OrganizationSpendAlert", f"a{i}") for i in range(6)]
    for i, alert in enumerate(alerts):
        alert.create(_alert(10 + i))
    alerts[0].update(_alert(99, "new@example.com"))
    alerts[1].delete()
    log = [(r["method"], r["path"]) for r in api.requests() if "spend_alerts" in r["path"]]
    assert log.count(("GET", "/v1/" + Api.alerts_path())) == 1, "one list served all six creates"
    assert [method for method, _ in log] == ["GET"] + ["POST"] * 7 + ["DELETE"]
    api.clear_requests()
    assert alerts[0].read()[2]["recipients"] == ["new@example.com"]
    assert alerts[1].read()[0] == ""
    assert [a.read()[1]["threshold_cents"] for a in alerts[2:]] == [1200, 1300, 1400, 1500]
    assert _reads(api) == [f"/v1/{Api.alerts_path()}/{alerts[1].id}"], (
        "every read came from the list this process kept up to date; the id missing from it got its own GET"
    )


def test_a_failed_write_drops_the_kept_list(plugin: Plugin, api: Api) -> None:
    kept, lost = Resource(plugin, "OrganizationSpendAlert", "kept"), Resource(plugin, "OrganizationSpendAlert", "lost")
    kept.create(_alert(10))
    lost.create(_alert(20))
    for alert in (kept, lost):
        api.http.delete(f"{Api.alerts_path()}/{alert.id}").raise_for_status()
    with pytest.raises(PluginError, match="no longer exists"):
        lost.plugin.update(lost.urn, lost.id, {**lost.outputs, "threshold_usd": "20.00"}, lost.checked(_alert(30)))
    api.clear_requests()
    assert kept.read()[0] == "", "the list was read again after the failed write, so the deletion shows"
    assert _reads(api)[0] == "/v1/" + Api.alerts_path()


def test_equal_alerts_are_created_one_at_a_time_and_each_is_its_own(sandbox: Sandbox, api: Api, tmp_path: Path) -> None:
    """Creates in one scope run side by side, except those of equal alerts: each of three equal declared
    alerts gets an alert of its own, the live one adopted once, and the others are created next to them."""
    live = api.post(
        Api.alerts_path(), {**_wire(100), "notification_channel": {"type": "email", "recipients": ["a@x.io"]}}
    )
    program = write_program(
        tmp_path,
        """
for i in range(3):
    billing.OrganizationSpendAlert(f"same-{i}", threshold_usd=100, recipients=["a@x.io"])
for usd in (200, 300, 400):
    billing.OrganizationSpendAlert(f"other-{usd}", threshold_usd=usd, recipients=["a@x.io"])
""",
    )
    stack = Stack(program, config=plugin_config(sandbox))
    stack.up()
    ids = stack.ids()
    assert len(set(ids.values())) == 6 and live["id"] in ids.values()
    assert sorted(a["threshold_amount"] for a in api.alerts()) == [10000] * 3 + [20000, 30000, 40000]
    assert stack.preview().changed() == {}


def _wire(usd: int) -> dict:
    return {"threshold_amount": usd * 100, "currency": "USD", "interval": "month"}
