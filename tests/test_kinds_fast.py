"""The fast tier: every kind's check, diff, create, read, update and delete, called in this process against the
sandbox's app behind ``httpx.MockTransport`` (the ``local`` fixture). No server, plugin or engine: the whole file
runs in seconds. What only a real deployment shows stays in the end-to-end tests."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from conftest import ADMIN_KEY, Api, new_local_step
from pulumi_openai_billing import providers
from pulumi_openai_billing.errors import OpenAIError, ProviderError, RequestFailed
from pulumi_openai_billing.resources import KINDS, spend_limits

Declare = Callable[[Api], dict[str, Any]]
Edit = Callable[[Api, str], None]


@dataclass
class Case:
    """One kind's story: what to declare, a change to make, a dashboard edit and the drift it shows, bad input."""

    declare: Declare
    change: dict[str, Any]
    edit: Edit | None
    drift: dict[str, Any] | Callable[[Api], dict[str, Any]]
    """The live input values a read finds after ``edit`` (or a function of the account that says them)."""
    bad: dict[str, Any]
    refusal: str
    kept: Callable[[Api], bool] = field(default=lambda api: False)
    """Whether delete leaves the live object in place (the kind's own rule)."""


def _alert_edit(project: bool) -> Edit:
    def edit(api: Api, id_: str) -> None:
        scope, _, alert = id_.rpartition("/")
        path = f"{api.alerts_path(scope if project else None)}/{alert}"
        live = api.get(path)
        body = {k: live[k] for k in ("currency", "interval", "notification_channel")}
        api.post(path, {**body, "threshold_amount": 99900})

    return edit


def _default_method(api: Api) -> dict[str, Any]:
    api.attach("pm_card_visa")
    return {"payment_method_id": api.attach("pm_card_mastercard")}


def _paid_for(api: Api) -> dict[str, Any]:
    api.set_default(api.attach("pm_card_visa"))
    return {}


def _first_method(api: Api) -> str:
    return api.billing("payment_methods")["data"][0]["id"]


def _purchase(api: Api) -> dict[str, str | int]:
    return {**_paid_for(api), "amount_usd": 50, "purchase_key": "k1"}


def _key_limit(api: Api) -> dict[str, Any]:
    """A limit on a new key of the case's project (the newest "team-a", which the tier has just made)."""
    project = [p for p in api.get("organization/projects", limit=100)["data"] if p["name"] == "team-a"][-1]["id"]
    return {"api_key_id": api.api_key(project), "monthly_limit_usd": 300}


def _key_limits(api: Api) -> list[int | None]:
    keys = [key for held in api.state()["api_keys"].values() for key in held]
    return [key["spend_limit"] and key["spend_limit"]["threshold_amount"] for key in keys]


def _project_path(api: Api, setting: str) -> str:
    """A setting of the case's project (the newest "team-a", which the tier has just made)."""
    project = [p for p in api.get("organization/projects", limit=100)["data"] if p["name"] == "team-a"][-1]["id"]
    return f"organization/projects/{project}/{setting}"


def _rate_limit_edit(api: Api, id_: str) -> None:
    project, _, model = id_.partition("/")
    (limit,) = [r for r in api.get(f"organization/projects/{project}/rate_limits")["data"] if r["model"] == model]
    api.post(f"organization/projects/{project}/rate_limits/{limit['id']}", {"max_requests_per_1_minute": 77})


POLICY = {"balance_threshold_usd": 20, "target_balance_usd": 100, "monthly_reload_limit_usd": 300}

CASES: dict[str, Case] = {
    "OrganizationSpendLimit": Case(
        declare=lambda api: {"monthly_limit_usd": 300},
        change={"monthly_limit_usd": 400},
        edit=lambda api, id_: api.set_limit(500),
        drift={"monthly_limit_usd": "500.00"},
        bad={"monthly_limit_usd": -5},
        refusal="monthly_limit_usd",
        kept=lambda api: api.get("organization/spend_limit")["threshold_amount"] == 40000,
    ),
    "ProjectSpendLimit": Case(
        declare=lambda api: {"monthly_limit_usd": 300},
        change={"monthly_limit_usd": 400},
        edit=lambda api, id_: api.set_limit(500, id_),
        drift={"monthly_limit_usd": "500.00"},
        bad={"monthly_limit_usd": "a lot"},
        refusal="monthly_limit_usd",
        kept=lambda api: True,
    ),
    "ApiKeySpendLimit": Case(
        declare=_key_limit,
        change={"monthly_limit_usd": 400},
        edit=lambda api, id_: api.set_key_limit(*id_.split("/"), 500),
        drift={"monthly_limit_usd": "500.00"},
        bad={"monthly_limit_usd": -5},
        refusal="monthly_limit_usd",
        kept=lambda api: _key_limits(api) == [40000],
    ),
    "OrganizationSpendAlert": Case(
        declare=lambda api: {"threshold_usd": 100, "recipients": ["a@example.com"]},
        change={"threshold_usd": 150},
        edit=_alert_edit(project=False),
        drift={"threshold_usd": "999.00"},
        bad={"recipients": []},
        refusal="recipients",
    ),
    "ProjectSpendAlert": Case(
        declare=lambda api: {"threshold_usd": 100, "recipients": ["a@example.com"]},
        change={"recipients": ["b@example.com"]},
        edit=_alert_edit(project=True),
        drift={"threshold_usd": "999.00"},
        bad={"recipients": ["not an address"]},
        refusal="recipients",
    ),
    "PaymentMethod": Case(
        declare=lambda api: {"token": "pm_card_visa", "on_delete": "retain"},
        change={"on_delete": "remove"},
        edit=None,
        drift={},
        bad={"token": "4242 4242 4242 4242"},
        refusal="payment card number",
    ),
    "DefaultPaymentMethod": Case(
        declare=_default_method,
        change={},
        edit=lambda api, id_: api.set_default(_first_method(api)),
        drift=lambda api: {"payment_method_id": _first_method(api)},
        bad={"payment_method_id": ""},
        refusal="payment_method_id",
        kept=lambda api: True,
    ),
    "CreditTopUpPolicy": Case(
        declare=lambda api: {**_paid_for(api), **POLICY, "on_delete": "remove"},
        change={"target_balance_usd": 150},
        edit=lambda api, id_: api.set_policy(target_balance_amount=20000),
        drift={"target_balance_usd": "200.00"},
        bad={"target_balance_usd": 10},
        refusal="target_balance_usd",
    ),
    "CreditPurchase": Case(
        declare=_purchase,
        change={},
        edit=None,
        drift={},
        bad={"amount_usd": 0},
        refusal="amount_usd",
        kept=lambda api: len(api.charges()) == 1,
    ),
    "Project": Case(
        declare=lambda api: {"name": "made-here", "on_delete": "archive"},
        change={"name": "renamed-here"},
        edit=lambda api, id_: api.post(f"organization/projects/{id_}", {"name": "renamed-there"}),
        drift={"name": "renamed-there"},
        bad={"name": ""},
        refusal="name",
    ),
    "ProjectModelPermissions": Case(
        declare=lambda api: {"model_ids": ["gpt-4o-mini", "gpt-4o", "gpt-4o"], "on_delete": "remove"},
        change={"model_ids": ["gpt-4o"]},
        edit=lambda api, id_: api.post(
            _project_path(api, "model_permissions"), {"mode": "deny_list", "model_ids": ["o3"]}
        ),
        drift={"mode": "deny_list", "model_ids": ["o3"]},
        bad={"model_ids": ["gpt-4o", 5]},
        refusal="model_ids",
    ),
    "ProjectHostedTools": Case(
        declare=lambda api: {"web_search": False, "image_generation": False},
        change={"web_search": True},
        edit=lambda api, id_: api.post(
            _project_path(api, "hosted_tool_permissions"), {"image_generation": {"enabled": True}}
        ),
        drift={"image_generation": True},
        bad={"browser": True},
        refusal="browser",
        kept=lambda api: api.get(_project_path(api, "hosted_tool_permissions"))["web_search"]["enabled"] is True,
    ),
    "ProjectServiceTiers": Case(
        declare=lambda api: {"default": "standard", "enabled_tiers": ["flex"]},
        change={"enabled_tiers": []},
        edit=lambda api, id_: api.post(_project_path(api, "service_tier_settings"), {"default": "scale"}),
        drift={"default": "scale"},
        bad={"enabled_tiers": ["turbo"]},
        refusal="enabled_tiers",
        kept=lambda api: api.get(_project_path(api, "service_tier_settings"))["enabled_tiers"] == [],
    ),
    "ProjectRateLimit": Case(
        declare=lambda api: {"model": "gpt-4o-mini", "max_requests_per_1_minute": 100},
        change={"max_requests_per_1_minute": 50},
        edit=_rate_limit_edit,
        drift={"max_requests_per_1_minute": 77},
        bad={"max_tokens_per_1_minute": -1},
        refusal="max_tokens_per_1_minute",
        kept=lambda api: True,
    ),
}


def test_every_kind_has_a_case() -> None:
    assert set(CASES) == {kind.name for kind in KINDS}


def _declared(name: str, api: Api) -> dict[str, Any]:
    """The case's declaration, in a live project when the kind lives in one (the kind says so)."""
    in_project = providers.PROVIDERS[name].kind.project_scoped()
    return {**({"project_id": api.project("team-a")} if in_project else {}), **CASES[name].declare(api)}


@pytest.mark.parametrize("name", sorted(CASES))
def test_check_create_read_drift_update_delete(name: str, local: Api) -> None:
    case, provider = CASES[name], providers.PROVIDERS[name]()
    declared = _declared(name, local)

    checked = provider.check({}, declared)
    assert checked.failures == []
    created = provider.create(checked.inputs)
    assert created.id and created.outs is not None
    assert provider.diff(created.id, created.outs, provider.check(created.outs, declared).inputs).changes is False

    new_local_step(local.transport)
    local.clear_requests()
    assert provider.check(created.outs, declared).failures == []
    asked = {r["path"] for r in local.requests()} - {"/v1/organization/billing/capabilities"}
    assert asked == set(), "an unchanged resource's check reads nothing (a step probes the extension once)"
    read = provider.read(created.id, created.outs)
    assert (read.id, read.outs) == (created.id, created.outs), "a read right after create finds no drift"

    if case.edit:
        case.edit(local, created.id)
        new_local_step(local.transport)
        drifted = provider.read(created.id, created.outs)
        assert drifted.outs is not None and drifted.inputs is not None
        drift = case.drift(local) if callable(case.drift) else case.drift
        assert drift and {k: drifted.inputs[k] for k in drift} == drift
        olds = drifted.outs
    else:
        olds = created.outs

    if case.change or case.edit:
        news = provider.check(olds, {**declared, **case.change}).inputs
        assert provider.diff(created.id, olds, news).changes is not False
        updated = provider.update(created.id, olds, news)
        assert updated.outs is not None
        new_local_step(local.transport)
        again = provider.read(created.id, updated.outs)
        assert again.outs == updated.outs, "the update is what the account now holds"
        olds = updated.outs

    writes = len(local.writes())
    provider.delete(created.id, olds)
    new_local_step(local.transport)
    gone = provider.read(created.id, olds)
    if case.kept(local):
        assert len(local.writes()) == writes, "a kept object is not written to on delete"
    else:
        assert gone.id == "", "deleted, and a later refresh says gone"


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_is_refused_at_check_with_nothing_sent(name: str, local: Api) -> None:
    case, provider = CASES[name], providers.PROVIDERS[name]()
    declared = {**_declared(name, local), **case.bad}
    local.clear_requests()
    result = provider.check({}, declared)
    assert len(result.failures) == 1 and case.refusal in result.failures[0].reason
    assert local.writes() == []
    assert "4242 4242" not in json.dumps(result.inputs), "a card number is never echoed back"


def test_an_alert_that_vanished_reads_as_gone(local: Api) -> None:
    provider = providers.PROVIDERS["OrganizationSpendAlert"]()
    created = provider.create(provider.check({}, CASES["OrganizationSpendAlert"].declare(local)).inputs)
    local.http.delete(f"{local.alerts_path()}/{created.id}").raise_for_status()
    new_local_step(local.transport)
    assert provider.read(created.id, created.outs).id == ""


def test_a_server_error_reaches_the_user_as_one_line_naming_the_request(local: Api) -> None:
    local.faults({"method": "GET", "path": "/v1/organization/spend_limit", "kind": "status", "status": 500})
    provider = providers.PROVIDERS["OrganizationSpendLimit"]()
    with pytest.raises(OpenAIError) as raised:
        provider.read("organization", {"monthly_limit_usd": "300.00"})
    assert "500" in str(raised.value) and "GET /organization/spend_limit" in str(raised.value)
    assert "\n" not in str(raised.value) and ADMIN_KEY not in str(raised.value)


def test_a_create_that_failed_says_nothing_was_made_after_looking(local: Api) -> None:
    """A create is never sent twice blindly: after a 500 the provider lists the alerts and says what it found."""
    local.faults({"method": "POST", "path": "/v1/organization/spend_alerts", "kind": "status", "status": 500})
    provider = providers.PROVIDERS["OrganizationSpendAlert"]()
    with pytest.raises(RequestFailed, match="nothing was created"):
        provider.create(provider.check({}, CASES["OrganizationSpendAlert"].declare(local)).inputs)
    assert local.alerts() == []


def test_an_answer_off_the_model_is_an_error_never_state(local: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """The outputs go through the kind's output model: an id that is not a string is refused with its name."""
    forward = local.transport
    assert isinstance(forward, httpx.MockTransport)

    def numeric_ids(request: httpx.Request) -> httpx.Response:
        answer = forward.handle_request(request)
        answer.read()
        body = answer.json()
        if request.method == "POST" and isinstance(body, dict) and "id" in body:
            body["id"] = 7
        return httpx.Response(answer.status_code, json=body)

    new_local_step(httpx.MockTransport(numeric_ids))
    provider = providers.PROVIDERS["OrganizationSpendAlert"]()
    with pytest.raises(ProviderError, match="unexpected alert_id: 7"):
        provider.create(provider.check({}, CASES["OrganizationSpendAlert"].declare(local)).inputs)


def test_an_alert_checked_before_the_limit_its_program_raises_waits_for_it(local: Api) -> None:
    """The engine checks a program's resources concurrently: an alert above today's limit, checked before the
    program's higher limit, is judged by the declared limit once that check has run, not refused by the live one."""
    project = local.project("growing")
    local.set_limit(100, project)
    alert, limit = providers.PROVIDERS["ProjectSpendAlert"](), providers.PROVIDERS["ProjectSpendLimit"]()
    with ThreadPoolExecutor(max_workers=2) as pool:
        checked = pool.submit(
            alert.check, {}, {"project_id": project, "threshold_usd": 250, "recipients": ["a@example.com"]}
        )
        time.sleep(0.5)
        raised = pool.submit(limit.check, {}, {"project_id": project, "monthly_limit_usd": 300, "adopt_existing": True})
        assert raised.result().failures == [] and checked.result().failures == []

    new_local_step(local.transport)
    started = time.monotonic()
    refused = alert.check({}, {"project_id": project, "threshold_usd": 250, "recipients": ["a@example.com"]})
    assert "is above the spend limit" in refused.failures[0].reason, "no higher limit declared: refused"
    assert time.monotonic() - started >= spend_limits.DECLARATION_WAIT_SECONDS
