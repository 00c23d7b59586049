"""Who a spend limit e-mails when it is reached (``notify_recipients``, ``notify_subject_prefix``), under Pulumi's
real engine: declared means managed (drift shows, ``up`` puts it back); left out means the dashboard's setting
is kept, through any change of the amount."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import Api, plugin_config, write_program
from pulumi_openai_billing.sandbox import Sandbox
from pulumi_openai_billing.testing import DeploymentError, Stack


def _channel(api: Api, project: str | None = None) -> dict[str, object] | None:
    path = f"organization/projects/{project}/spend_limit" if project else "organization/spend_limit"
    return api.get(path).get("notification_channel")


def _edit(api: Api, project: str | None, cents: int, channel: dict[str, object] | None) -> None:
    """A person's edit in the dashboard."""
    path = f"organization/projects/{project}/spend_limit" if project else "organization/spend_limit"
    body = {"threshold_amount": cents, "currency": "USD", "interval": "month", "notification_channel": channel}
    api.post(path, body)


def test_declared_notifications_are_managed_through_the_whole_lifecycle(
    sandbox: Sandbox, api: Api, tmp_path: Path
) -> None:
    team = api.project("team-a")
    _edit(api, team, 50000, {"type": "email", "recipients": ["old@example.com"], "subject_prefix": "[old]"})
    program = write_program(
        tmp_path,
        'billing.OrganizationSpendLimit("org", monthly_limit_usd=1000, '
        'notify_recipients=["FinOps@Example.COM", "a@example.com", "finops@example.com"], '
        'notify_subject_prefix="[cap]")\n'
        f'billing.ProjectSpendLimit("team", project_id="{team}", monthly_limit_usd=500, adopt_existing=True, '
        'notify_recipients=[], notify_subject_prefix="")\n',
    )
    stack = Stack(program, config=plugin_config(sandbox))

    api.clear_requests()
    preview = stack.preview()
    assert preview.ops() == {"org": "create", "team": "create"}
    assert api.writes() == [], "a preview writes nothing"

    stack.up()
    org = {"type": "email", "recipients": ["a@example.com", "FinOps@example.com"], "subject_prefix": "[cap]"}
    assert _channel(api) == org, "recipients canonical: trimmed, domain lower-cased, de-duplicated"
    assert _channel(api, team) == {"type": "email", "recipients": [], "subject_prefix": None}, "[] and '' clear"
    assert stack.preview().changed() == {}, "order and case never diff"

    _edit(api, None, 100000, {"type": "email", "recipients": ["x@example.com"], "subject_prefix": "[edited]"})
    drift = stack.refresh().changed()["org"].values
    assert drift["notify_recipients"] == (["a@example.com", "FinOps@example.com"], ["x@example.com"])
    assert drift["notify_subject_prefix"] == ("[cap]", "[edited]")

    assert set(stack.up().changed()) == {"org"}
    assert _channel(api) == org, "up puts the declared notifications back"
    assert stack.preview().changed() == {}

    destroyed = stack.destroy()
    assert destroyed.changed()["org"].retained and destroyed.changed()["team"].retained
    assert _channel(api) == org, "on_delete='retain' keeps the limit and whom it notifies"


def test_notifications_left_out_keep_the_dashboards_setting_through_an_amount_change(
    sandbox: Sandbox, api: Api, tmp_path: Path
) -> None:
    channel = {"type": "email", "recipients": ["ops@example.com"], "subject_prefix": "[ops]"}
    _edit(api, None, 50000, channel)
    declared = 'billing.OrganizationSpendLimit("org", monthly_limit_usd={}, adopt_existing=True)\n'
    program = write_program(tmp_path, declared.format(700))
    stack = Stack(program, config=plugin_config(sandbox))
    stack.up()
    assert api.get("organization/spend_limit")["threshold_amount"] == 70000
    assert _channel(api) == channel

    write_program(tmp_path, declared.format(800))
    assert set(stack.up().changed()) == {"org"}
    assert api.get("organization/spend_limit")["threshold_amount"] == 80000
    assert _channel(api) == channel, "the program never sent notification_channel"

    _edit(api, None, 80000, {**channel, "recipients": ["someone@example.com"]})
    assert stack.refresh().changed() == {}, "an unmanaged setting is never drift"
    assert stack.preview().changed() == {}


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ('notify_recipients=["not an address"]', "notify_recipients must be e-mail addresses"),
        ('notify_recipients="a@example.com"', "notify_recipients"),
        ("notify_subject_prefix=5", "notify_subject_prefix"),
    ],
)
def test_bad_notification_input_is_refused_at_preview_with_nothing_written(
    sandbox: Sandbox, api: Api, tmp_path: Path, arguments: str, message: str
) -> None:
    program = write_program(tmp_path, f'billing.OrganizationSpendLimit("org", monthly_limit_usd=700, {arguments})\n')
    stack = Stack(program, config=plugin_config(sandbox))
    api.clear_requests()
    with pytest.raises(DeploymentError) as refused:
        stack.preview()
    assert len(refused.value.errors) == 1 and message in refused.value.errors[0]
    assert api.writes() == []
