"""The sandbox over real HTTP: the official ``openai`` SDK unchanged, OpenAI's errors, faults, persistence."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import openai
import pytest
from openai import OpenAI
from openai._legacy_response import LegacyAPIResponse
from openai.types.admin.organization import OrganizationSpendAlert, OrganizationSpendLimit
from openai.types.admin.organization.projects import APIKeyDeleteResponse, ProjectAPIKey, ProjectSpendLimit
from pydantic import BaseModel

from pulumi_openai_billing.sandbox import Sandbox

KEY = "sk-admin-test-key"  # a fake key: only these sandboxes know it
DAY = 86400
CHANNEL = {"type": "email", "recipients": ["FinOps@Example.com", "a@example.com"], "subject_prefix": None}
ALERT = {"threshold_amount": 25000, "currency": "USD", "interval": "month", "notification_channel": CHANNEL}
LIMIT = {"threshold_amount": 100000, "currency": "USD", "interval": "month"}
M = TypeVar("M", bound=BaseModel)


@pytest.fixture
def box() -> Iterator[Sandbox]:
    with Sandbox(KEY, rate_limit="off") as running:
        yield running


@pytest.fixture
def http(box: Sandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=box.base_url + "/", headers={"Authorization": f"Bearer {KEY}"}) as client:
        yield client


@pytest.fixture
def sdk(box: Sandbox) -> Iterator[OpenAI]:
    client = OpenAI(admin_api_key=KEY, base_url=box.base_url, max_retries=0)
    yield client
    client.close()


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["x-request-id"].startswith("req_")
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}
    return body["error"]


def validated(model: type[M], answer: LegacyAPIResponse[Any]) -> M:
    """The raw answer, validated by the locked SDK's own model: every field it requires, of its type. The model
    may have fields the sandbox does not send (OpenAI adds them), so tests assert the fields the provider
    reads, never that nothing else is there."""
    return model.model_validate(answer.http_response.json())


def project(http: httpx.Client, name: str = "team") -> str:
    return ok(http.post("organization/projects", json={"name": name}))["id"]


def state(http: httpx.Client) -> Any:
    return ok(http.get("sandbox/state"))


# -- the official SDK ----------------------------------------------------------------------------------


def test_sdk_org_alerts_create_page_retrieve_update_delete(sdk: OpenAI, http: httpx.Client) -> None:
    alerts = sdk.admin.organization.spend_alerts
    created = [
        validated(OrganizationSpendAlert, alerts.with_raw_response.create(**{**ALERT, "threshold_amount": 100 * i}))
        for i in range(25)
    ]
    assert created[0].object == "organization.spend_alert" and created[0].id.startswith("alert_")
    assert len(created[0].id) == len("alert_") + 24
    assert created[0].notification_channel.recipients == ["FinOps@Example.com", "a@example.com"]

    http.delete("sandbox/requests")
    first = alerts.list(limit=10)
    assert first.has_more and len(first.data) == 10
    listed = [alert.id for alert in first]
    assert listed == [alert.id for alert in created]
    assert [r["query"] for r in ok(http.get("sandbox/requests"))] == [
        "limit=10",
        f"limit=10&after={created[9].id}",
        f"limit=10&after={created[19].id}",
    ]

    newest = alerts.list(order="desc", limit=3)
    assert [a.id for a in newest.data] == [a.id for a in created[:-4:-1]]

    target = created[3]
    assert alerts.retrieve(target.id) == target
    updated = alerts.update(
        target.id,
        threshold_amount=999,
        currency="USD",
        interval="month",
        notification_channel={"type": "email", "recipients": ["x@example.org"], "subject_prefix": "[billing]"},
    )
    assert updated.id == target.id and updated.threshold_amount == 999
    assert updated.notification_channel.subject_prefix == "[billing]"
    assert alerts.retrieve(target.id).notification_channel.recipients == ["x@example.org"]

    deleted = alerts.delete(target.id)
    assert (deleted.id, deleted.object, deleted.deleted) == (target.id, "organization.spend_alert.deleted", True)
    with pytest.raises(openai.NotFoundError):
        alerts.retrieve(target.id)
    assert len(list(alerts.list(limit=100))) == 24


def test_sdk_project_alerts_are_scoped_to_their_project(sdk: OpenAI, http: httpx.Client) -> None:
    team, other = project(http, "team"), project(http, "other")
    alerts = sdk.admin.organization.projects.spend_alerts
    alert = alerts.create(team, **ALERT)
    assert alert.object == "project.spend_alert"
    assert [a.id for a in alerts.list(team)] == [alert.id]
    assert list(alerts.list(other)) == [] and list(sdk.admin.organization.spend_alerts.list()) == []
    assert alerts.retrieve(alert.id, project_id=team).threshold_amount == 25000

    updated = alerts.update(alert.id, project_id=team, **{**ALERT, "threshold_amount": 0})
    assert updated.threshold_amount == 0
    for wrong_scope in (
        lambda: alerts.retrieve(alert.id, project_id=other),
        lambda: sdk.admin.organization.spend_alerts.retrieve(alert.id),
        lambda: alerts.delete(alert.id, project_id=other),
    ):
        with pytest.raises(openai.NotFoundError):
            wrong_scope()
    deleted = alerts.delete(alert.id, project_id=team)
    assert (deleted.object, deleted.deleted) == ("project.spend_alert.deleted", True)
    assert state(http)["spend_alerts"] == {"organization": [], "projects": {}}


def test_sdk_limits_set_read_delete(sdk: OpenAI, http: httpx.Client) -> None:
    team = project(http)
    org_limit = sdk.admin.organization.spend_limit
    project_limit = sdk.admin.organization.projects.spend_limit
    unset = org_limit.retrieve()  # as OpenAI's reference example answers when no limit is set
    assert (unset.threshold_amount, unset.enforcement.status) == (0, "inactive")

    answer = org_limit.with_raw_response.update(threshold_amount=100000, currency="USD", interval="month")
    first = validated(OrganizationSpendLimit, answer)
    assert (first.object, first.threshold_amount, first.currency, first.interval) == (
        "organization.spend_limit",
        100000,
        "USD",
        "month",
    )
    assert first.enforcement.status == "enforcing"
    assert org_limit.update(threshold_amount=50000, currency="USD", interval="month").threshold_amount == 50000
    assert org_limit.retrieve().threshold_amount == 50000

    set_project = validated(
        ProjectSpendLimit,
        project_limit.with_raw_response.update(team, threshold_amount=2500, currency="USD", interval="month"),
    )
    assert (set_project.object, set_project.threshold_amount) == ("project.spend_limit", 2500)
    assert project_limit.retrieve(team).threshold_amount == 2500
    limits = state(http)["spend_limits"]
    assert limits["organization"]["threshold_amount"] == 50000
    assert limits["projects"][team]["threshold_amount"] == 2500

    assert project_limit.delete(team).object == "project.spend_limit.deleted"
    deleted = org_limit.delete()
    assert (deleted.object, deleted.deleted) == ("organization.spend_limit.deleted", True)
    with pytest.raises(openai.NotFoundError):
        org_limit.delete()
    assert state(http)["spend_limits"] == {"organization": None, "projects": {}}


def test_sdk_projects_create_list_retrieve_rename_archive(sdk: OpenAI) -> None:
    projects = sdk.admin.organization.projects
    made = [projects.create(name=f"team-{i}") for i in range(3)]
    assert made[0].object == "organization.project" and made[0].id.startswith("proj_")
    assert (made[0].status, made[0].archived_at) == ("active", None)
    assert [p.id for p in projects.list(limit=2)] == [p.id for p in made]

    assert projects.update(made[1].id, name="renamed").name == "renamed"
    assert projects.retrieve(made[1].id).name == "renamed"
    archived = projects.archive(made[0].id)
    assert archived.status == "archived" and archived.archived_at is not None
    assert [p.id for p in projects.list()] == [made[1].id, made[2].id]
    assert [p.id for p in projects.list(include_archived=True)] == [p.id for p in made]
    with pytest.raises(openai.NotFoundError) as missing:
        projects.retrieve("proj_nope")
    assert missing.value.code == "project_not_found"


def test_sdk_costs_sum_recorded_usage_by_day_project_and_line_item(sdk: OpenAI, http: httpx.Client) -> None:
    team, other = project(http, "team"), project(http, "other")
    day = 1_767_225_600  # 2026-01-01T00:00:00Z
    for project_id, amount, line_item, at in [
        (team, "0.10", "completions", day + 10),
        (team, 0.2, "completions", day + 20),
        (team, "1.005", "embeddings", day + 30),
        (other, "3", "completions", day + DAY + 5),
        (team, "7", "completions", day + 3 * DAY),
    ]:
        ok(
            http.post(
                "sandbox/usage",
                json={"project_id": project_id, "amount_usd": amount, "line_item": line_item, "timestamp": at},
            )
        )

    page = sdk.admin.organization.usage.costs(
        start_time=day, end_time=day + 2 * DAY, group_by=["project_id", "line_item"], limit=7
    )
    assert (page.object, page.has_more, page.next_page) == ("page", False, None)
    assert [(b.start_time, b.end_time) for b in page.data] == [(day, day + DAY), (day + DAY, day + 2 * DAY)]
    first = {(r.project_id, r.line_item): r.amount.value for r in page.data[0].results}
    assert first == {(team, "completions"): 0.3, (team, "embeddings"): 1.005}
    assert page.data[0].results[0].amount.currency == "usd"
    assert [(r.project_id, r.amount.value) for r in page.data[1].results] == [(other, 3.0)]

    totals = sdk.admin.organization.usage.costs(start_time=day, end_time=day + 4 * DAY, project_ids=[team])
    assert [[r.amount.value for r in b.results] for b in totals.data] == [[1.305], [], [], [7.0]]
    assert totals.data[0].results[0].project_id is None

    paged = sdk.admin.organization.usage.costs(start_time=day, end_time=day + 4 * DAY, limit=3)
    assert paged.has_more and len(paged.data) == 3
    rest = sdk.admin.organization.usage.costs(start_time=day, end_time=day + 4 * DAY, limit=3, page=paged.next_page)
    assert [b.start_time for b in rest.data] == [day + 3 * DAY] and not rest.has_more


def api_key(http: httpx.Client, project_id: str, name: str = "ci", owner: str = "user") -> str:
    return ok(http.post("sandbox/api_keys", json={"project_id": project_id, "name": name, "owner": owner}))["id"]


def test_sdk_api_keys_page_retrieve_update_delete(sdk: OpenAI, http: httpx.Client) -> None:
    team, other = project(http, "team"), project(http, "other")
    made = [api_key(http, team, f"k{i}", "service_account" if i == 1 else "user") for i in range(23)]
    theirs = api_key(http, other, "theirs")
    keys = sdk.admin.organization.projects.api_keys

    raw = validated(ProjectAPIKey, keys.with_raw_response.retrieve(made[0], project_id=team))
    assert (raw.id, raw.object, raw.name, raw.spend_limit, raw.expires_at) == (
        made[0],
        "organization.project.api_key",
        "k0",
        None,
        None,
    )
    assert raw.owner.type == "user" and raw.owner.user is not None and raw.owner_project_access == "active"
    assert raw.redacted_value.startswith("sk-proj-") and "****" in raw.redacted_value
    assert keys.retrieve(made[1], project_id=team).owner.type == "service_account"

    http.delete("sandbox/requests")
    assert [k.id for k in keys.list(team, limit=10)] == made, "every page, in creation order"
    assert [r["query"] for r in ok(http.get("sandbox/requests"))] == [
        "limit=10",
        f"limit=10&after={made[9]}",
        f"limit=10&after={made[19]}",
    ]

    limit = {"threshold_amount": 2500, "currency": "USD", "interval": "month"}
    updated = validated(ProjectAPIKey, keys.with_raw_response.update(made[2], project_id=team, spend_limit=limit))
    assert updated.spend_limit is not None and updated.spend_limit.threshold_amount == 2500
    assert updated.spend_limit.enforcement.status == "inactive", "nothing spent with the key yet"
    assert keys.update(made[2], project_id=team, scopes=["api.all.read"]).spend_limit == updated.spend_limit, (
        "a field left out stays as it is"
    )
    ok(http.post("sandbox/usage", json={"project_id": team, "amount_usd": "25", "api_key_id": made[2]}))
    spent = keys.retrieve(made[2], project_id=team)
    assert spent.spend_limit is not None and spent.spend_limit.enforcement.status == "enforcing"
    assert spent.last_used_at is not None
    refused = http.post("sandbox/usage", json={"project_id": team, "amount_usd": "1", "api_key_id": made[2]})
    assert error(refused, 429)["code"] == "api_key_spend_limit_exceeded"
    assert keys.update(made[2], project_id=team, spend_limit=None).spend_limit is None
    assert state(http)["api_keys"][team][2]["spend_limit"] is None

    deleted = validated(APIKeyDeleteResponse, keys.with_raw_response.delete(made[3], project_id=team))
    assert (deleted.id, deleted.object, deleted.deleted) == (made[3], "organization.project.api_key.deleted", True)
    with pytest.raises(openai.NotFoundError) as gone:
        keys.retrieve(made[3], project_id=team)
    assert gone.value.code == "api_key_not_found"
    with pytest.raises(openai.NotFoundError) as elsewhere:
        keys.update(theirs, project_id=team, spend_limit=limit)
    assert elsewhere.value.code == "api_key_not_found", "a key of another project is not found in this one"
    with pytest.raises(openai.NotFoundError) as unknown_project:
        keys.list("proj_nope")
    assert unknown_project.value.code == "project_not_found"
    assert [k["id"] for k in state(http)["api_keys"][other]] == [theirs]
    assert keys.retrieve(theirs, project_id=other).spend_limit is None


def test_api_key_updates_refuse_an_empty_or_bad_body_and_change_nothing(http: httpx.Client) -> None:
    team = project(http)
    key = api_key(http, team)
    path = f"organization/projects/{team}/api_keys/{key}"
    before = state(http)
    assert "at least one" in error(http.post(path, json={}), 400)["message"]
    bad = {"spend_limit": {"threshold_amount": -5, "currency": "USD", "interval": "month"}}
    assert error(http.post(path, json=bad), 400)["param"] == "spend_limit.threshold_amount"
    assert error(http.post(path, json={"spend_limit": {"threshold_amount": 5}}), 400)["param"] == "spend_limit.currency"
    assert state(http) == before


def test_costs_group_and_filter_by_api_key(sdk: OpenAI, http: httpx.Client) -> None:
    team = project(http)
    first, second = api_key(http, team, "a"), api_key(http, team, "b")
    day = 1_767_225_600
    for key, amount in [(first, "1.5"), (second, "2"), (None, "4")]:
        usage = {"project_id": team, "amount_usd": amount, "timestamp": day + 10, "api_key_id": key}
        ok(http.post("sandbox/usage", json=usage))
    page = sdk.admin.organization.usage.costs(start_time=day, end_time=day + DAY, group_by=["api_key_id"])
    assert {r.api_key_id: r.amount.value for r in page.data[0].results} == {first: 1.5, second: 2.0, None: 4.0}
    only = sdk.admin.organization.usage.costs(start_time=day, end_time=day + DAY, api_key_ids=[second])
    assert [r.amount.value for r in only.data[0].results] == [2.0]


def test_api_keys_are_seeded_by_project_and_name() -> None:
    seeds = {"project_names": ["team"], "api_key_names": ["team/ci", "team/ci", "new/bot"]}
    with (
        Sandbox(KEY, rate_limit="off", **seeds) as box,
        httpx.Client(base_url=box.base_url + "/", headers={"Authorization": f"Bearer {KEY}"}) as http,
    ):
        seeded = state(http)
    ids = {p["name"]: p["id"] for p in seeded["projects"]}
    names = {project_id: [k["name"] for k in keys] for project_id, keys in seeded["api_keys"].items()}
    assert names == {ids["team"]: ["ci"], ids["new"]: ["bot"]}, "a project made when missing, a key only once"


# -- auth and errors ----------------------------------------------------------------------------------


def test_wrong_or_missing_key_is_401_and_the_key_is_never_echoed(box: Sandbox) -> None:
    wrong = "sk-admin-wrong-key-999999"
    with httpx.Client(base_url=box.base_url + "/") as client:
        err = error(client.get("organization/spend_alerts", headers={"Authorization": f"Bearer {wrong}"}), 401)
        assert err["code"] == "invalid_api_key" and err["type"] == "invalid_request_error"
        assert "sk-adm" in err["message"] and "sk-admi" not in err["message"] and "999999" not in err["message"]
        assert error(client.get("organization/spend_alerts"), 401)["code"] == "invalid_api_key"
        assert error(client.get("sandbox/state", headers={"Authorization": "Basic x"}), 401)["code"]
        assert error(client.get("no/such/route"), 401)["code"] == "invalid_api_key"
    with (
        OpenAI(admin_api_key=wrong, base_url=box.base_url, max_retries=0) as client,
        pytest.raises(openai.AuthenticationError) as info,
    ):
        client.admin.organization.spend_alerts.list()
    assert wrong not in str(info.value)


def test_organization_header_must_name_the_sandbox_org(box: Sandbox) -> None:
    with (
        OpenAI(admin_api_key=KEY, base_url=box.base_url, organization="org-other", max_retries=0) as client,
        pytest.raises(openai.AuthenticationError) as info,
    ):
        client.admin.organization.spend_limit.update(threshold_amount=500, currency="USD", interval="month")
    assert info.value.code == "mismatched_organization"
    with OpenAI(admin_api_key=KEY, base_url=box.base_url, organization=box.org_id, max_retries=0) as client:
        assert (
            client.admin.organization.spend_limit.update(
                threshold_amount=500, currency="USD", interval="month"
            ).threshold_amount
            == 500
        )


def _alert_with(**changes: Any) -> dict[str, Any]:
    return {**ALERT, **changes}


def _channel_with(**changes: Any) -> dict[str, Any]:
    return _alert_with(notification_channel={**CHANNEL, **changes})


BAD_BODIES = [
    ("alert negative", "organization/spend_alerts", _alert_with(threshold_amount=-1), "threshold_amount"),
    ("alert float", "organization/spend_alerts", _alert_with(threshold_amount=100.0), "threshold_amount"),
    ("alert string", "organization/spend_alerts", _alert_with(threshold_amount="100"), "threshold_amount"),
    ("alert bool", "organization/spend_alerts", _alert_with(threshold_amount=True), "threshold_amount"),
    ("limit zero", "organization/spend_limit", {**LIMIT, "threshold_amount": 0}, "threshold_amount"),
    ("limit bool", "organization/spend_limit", {**LIMIT, "threshold_amount": False}, "threshold_amount"),
    ("limit euro", "organization/spend_limit", {**LIMIT, "currency": "EUR"}, "currency"),
    ("limit missing", "organization/spend_limit", {"threshold_amount": 100, "currency": "USD"}, "interval"),
    ("limit unknown", "organization/spend_limit", {**LIMIT, "nickname": "x"}, "nickname"),
    ("no recipients", "organization/spend_alerts", _channel_with(recipients=[]), "notification_channel.recipients"),
    (
        "bad email",
        "organization/spend_alerts",
        _channel_with(recipients=["ok@example.com", "not-an-email"]),
        "notification_channel.recipients[1]",
    ),
    ("nested unknown", "organization/spend_alerts", _channel_with(cc=["a@example.com"]), "notification_channel.cc"),
    (
        "long prefix",
        "organization/spend_alerts",
        _channel_with(subject_prefix="x" * 256),
        "notification_channel.subject_prefix",
    ),
    ("not sms", "organization/spend_alerts", _channel_with(type="sms"), "notification_channel.type"),
]


@pytest.mark.parametrize(
    ("path", "body", "param"), [case[1:] for case in BAD_BODIES], ids=[case[0] for case in BAD_BODIES]
)
def test_bad_bodies_are_400_naming_the_field_and_change_nothing(
    http: httpx.Client, path: str, body: Any, param: str
) -> None:
    ok(http.post("organization/spend_alerts", json=ALERT))
    before = state(http)
    err = error(http.post(path, json=body), 400)
    assert err["param"] == param and err["type"] == "invalid_request_error"
    assert param.split(".")[-1].split("[")[0] in err["message"]
    assert state(http) == before


def test_malformed_json_and_bad_queries_are_400(http: httpx.Client) -> None:
    before = state(http)
    err = error(
        http.post(
            "organization/spend_alerts",
            content=b'{"threshold_amount": 1,',
            headers={"Content-Type": "application/json"},
        ),
        400,
    )
    assert "parse the JSON body" in err["message"] and err["param"] is None
    assert (
        error(
            http.post("organization/spend_limit", content=b"[1, 2]", headers={"Content-Type": "application/json"}), 400
        )["param"]
        is None
    )
    assert error(http.get("organization/spend_alerts", params={"limit": 101}), 400)["param"] == "limit"
    assert error(http.get("organization/spend_alerts", params={"order": "up"}), 400)["param"] == "order"
    assert error(http.get("organization/spend_alerts", params={"after": "alert_nope"}), 400)["param"] == "after"
    assert error(http.get("organization/costs"), 400)["param"] == "start_time"
    assert (
        error(http.get("organization/costs", params={"start_time": 1, "group_by[]": "model"}), 400)["param"]
        == "group_by[0]"
    )
    assert state(http) == before


def test_unknown_project_alert_route_and_method(http: httpx.Client) -> None:
    team = project(http)
    alert_id = ok(http.post("organization/spend_alerts", json=ALERT))["id"]
    before = state(http)
    for method, path in [
        ("GET", "organization/projects/proj_missing"),
        ("GET", "organization/projects/proj_missing/spend_limit"),
        ("POST", "organization/projects/proj_missing/spend_alerts"),
        ("DELETE", f"organization/projects/proj_missing/spend_alerts/{alert_id}"),
    ]:
        err = error(http.request(method, path, json=ALERT if method == "POST" else None), 404)
        assert err["code"] == "project_not_found" and "proj_missing" in err["message"]
    assert (
        error(http.get(f"organization/projects/{team}/spend_alerts/{alert_id}"), 404)["code"] == "spend_alert_not_found"
    )
    assert error(http.delete("organization/spend_alerts/alert_000000000000000000000000"), 404)["code"]
    assert error(http.delete("organization/spend_limit"), 404)["code"] == "spend_limit_not_found"
    assert (
        error(http.post("sandbox/usage", json={"project_id": "proj_missing", "amount_usd": "1"}), 404)["code"]
        == "project_not_found"
    )
    assert "Invalid URL" in error(http.get("organization/nothing_here"), 404)["message"]
    error(http.put("organization/spend_limit", json=LIMIT), 405)
    assert state(http) == before


def test_oversize_body_is_413(http: httpx.Client) -> None:
    before = state(http)
    huge = {**ALERT, "notification_channel": {**CHANNEL, "subject_prefix": "x" * (1024 * 1024)}}
    err = error(http.post("organization/spend_alerts", json=huge), 413)
    assert err["code"] == "request_too_large"
    assert state(http) == before
    ok(http.post("organization/spend_alerts", json=ALERT))


def test_recipients_are_stored_exactly_as_sent(http: httpx.Client) -> None:
    recipients = ["B@Example.COM", "a@example.com", "B@Example.COM"]
    created = ok(http.post("organization/spend_alerts", json=_channel_with(recipients=recipients)))
    assert ok(http.get(f"organization/spend_alerts/{created['id']}"))["notification_channel"] == {
        "type": "email",
        "recipients": recipients,
        "subject_prefix": None,
    }


def test_alert_list_cursors(http: httpx.Client) -> None:
    ids = [ok(http.post("organization/spend_alerts", json=_alert_with(threshold_amount=i)))["id"] for i in range(5)]
    empty = ok(http.get("organization/spend_alerts", params={"limit": 0}))
    assert empty == {"object": "list", "data": [], "first_id": None, "last_id": None, "has_more": True}
    before = ok(http.get("organization/spend_alerts", params={"before": ids[4], "limit": 2}))
    assert [a["id"] for a in before["data"]] == ids[2:4] and before["has_more"]
    desc = ok(http.get("organization/spend_alerts", params={"order": "desc", "after": ids[3]}))
    assert [a["id"] for a in desc["data"]] == [ids[2], ids[1], ids[0]] and not desc["has_more"]
    ok(http.delete(f"organization/spend_alerts/{ids[1]}"))
    after_deleted = ok(http.get("organization/spend_alerts", params={"after": ids[1]}))
    assert [a["id"] for a in after_deleted["data"]] == ids[2:], "a deleted alert still works as a cursor"


# -- spend limits: empty reads and enforcement ------------------------------------------------------


def test_by_default_an_unset_limit_reads_as_zero_and_inactive_and_the_404_mode_answers_404() -> None:
    with (
        Sandbox(KEY, rate_limit="off") as running,
        OpenAI(admin_api_key=KEY, base_url=running.base_url, max_retries=0) as client,
    ):
        team = client.admin.organization.projects.create(name="team").id
        for limit in (
            client.admin.organization.spend_limit.retrieve(),
            client.admin.organization.projects.spend_limit.retrieve(team),
        ):
            assert (limit.threshold_amount, limit.enforcement.status) == (0, "inactive")
        assert client.admin.organization.projects.spend_limit.retrieve(team).object == "project.spend_limit"
        with pytest.raises(openai.NotFoundError):
            client.admin.organization.spend_limit.delete()
    with (
        Sandbox(KEY, rate_limit="off", empty_limit="404") as running,
        OpenAI(admin_api_key=KEY, base_url=running.base_url, max_retries=0) as client,
        pytest.raises(openai.NotFoundError) as missing,
    ):
        client.admin.organization.spend_limit.retrieve()
    assert missing.value.code == "spend_limit_not_found"


def test_enforcement_reads_enforcing_while_a_limit_is_set_and_spend_reaching_it_is_refused(
    http: httpx.Client,
) -> None:
    """As OpenAI's examples show, ``enforcing`` means a limit is in force, whatever was spent; reaching the limit
    refuses traffic (here: synthetic usage) with 429 ``project_spend_limit_exceeded``."""
    team = project(http, "team")

    def status(path: str) -> str:
        return ok(http.get(path))["enforcement"]["status"]

    assert status(f"organization/projects/{team}/spend_limit") == "inactive"
    ok(http.post(f"organization/projects/{team}/spend_limit", json={**LIMIT, "threshold_amount": 1000}))
    assert status(f"organization/projects/{team}/spend_limit") == "enforcing", "straight after it is set"
    assert status("organization/spend_limit") == "inactive"
    ok(http.post("sandbox/usage", json={"project_id": team, "amount_usd": "500", "timestamp": 1_000_000}))
    ok(http.post("sandbox/usage", json={"project_id": team, "amount_usd": "10.00"}))
    refused = error(http.post("sandbox/usage", json={"project_id": team, "amount_usd": "0.01"}), 429)
    assert refused["code"] == "project_spend_limit_exceeded", "last month's 500 did not count; this month's 10 did"
    ok(http.delete(f"organization/projects/{team}/spend_limit"))
    assert status(f"organization/projects/{team}/spend_limit") == "inactive"


# -- faults ---------------------------------------------------------------------------------------------


def test_status_fault_answers_once_without_running_the_request(http: httpx.Client) -> None:
    fault = {
        "method": "POST",
        "path": "/v1/organization/spend_alerts",
        "kind": "status",
        "status": 429,
        "retry_after": 1,
        "times": 1,
    }
    assert ok(http.post("sandbox/faults", json={"faults": [fault]}))["faults"][0]["times"] == 1
    refused = http.post("organization/spend_alerts", json=ALERT)
    err = error(refused, 429)
    assert err["code"] == "rate_limit_exceeded" and refused.headers["retry-after"] == "1"
    assert state(http)["spend_alerts"]["organization"] == []
    ok(http.post("organization/spend_alerts", json=ALERT))
    assert ok(http.get("sandbox/faults")) == {"faults": []}
    assert [(r["method"], r["path"], r["status"]) for r in ok(http.get("sandbox/requests"))] == [
        ("POST", "/v1/organization/spend_alerts", 429),
        ("POST", "/v1/organization/spend_alerts", 200),
    ]


def test_sdk_retries_a_faulted_503(sdk: OpenAI, http: httpx.Client) -> None:
    fault = {
        "method": "GET",
        "path": "/v1/organization/spend_alerts",
        "kind": "status",
        "status": 503,
        "retry_after": 0,
        "times": 1,
    }
    ok(http.post("sandbox/faults", json={"faults": [fault]}))
    with OpenAI(admin_api_key=KEY, base_url=str(sdk.base_url), max_retries=1) as client:
        assert list(client.admin.organization.spend_alerts.list()) == []
    assert [r["status"] for r in ok(http.get("sandbox/requests"))] == [503, 200]


def test_drop_after_commit_loses_the_answer_but_keeps_the_change(http: httpx.Client) -> None:
    ok(
        http.post(
            "sandbox/faults",
            json={"faults": [{"method": "POST", "path": "/v1/organization/spend_alerts", "kind": "drop_after_commit"}]},
        )
    )
    with pytest.raises(httpx.TransportError):
        http.post("organization/spend_alerts", json=ALERT)
    alerts = state(http)["spend_alerts"]["organization"]
    assert len(alerts) == 1 and alerts[0]["threshold_amount"] == ALERT["threshold_amount"]
    assert ok(http.get("sandbox/requests"))[-1]["status"] == 200
    ok(http.post("organization/spend_alerts", json=ALERT))
    ok(http.post("sandbox/faults", json={"faults": [{"method": "GET", "path": "/v1/x", "kind": "status"}]}))
    ok(http.delete("sandbox/faults"))
    assert ok(http.get("sandbox/faults")) == {"faults": []}


# -- request log, persistence, serve() ----------------------------------------------------------------


def test_request_log_records_api_calls_only(http: httpx.Client) -> None:
    ok(http.get("organization/spend_alerts", params={"limit": 5}))
    error(http.delete("organization/spend_limit"), 404)
    ok(http.get("sandbox/state"))
    log = ok(http.get("sandbox/requests"))
    assert [{k: e[k] for k in ("method", "path", "query", "status")} for e in log] == [
        {"method": "GET", "path": "/v1/organization/spend_alerts", "query": "limit=5", "status": 200},
        {"method": "DELETE", "path": "/v1/organization/spend_limit", "query": "", "status": 404},
    ]
    assert log[0]["user_agent"].startswith("python-httpx/") and log[0]["organization"] is None
    assert KEY not in json.dumps(log)
    ok(http.delete("sandbox/requests"))
    assert ok(http.get("sandbox/requests")) == []


def test_a_file_account_survives_a_restart(tmp_path: Path) -> None:
    db = str(tmp_path / "account.db")
    with (
        Sandbox(KEY, db_path=db, rate_limit="off") as first,
        httpx.Client(base_url=first.base_url + "/", headers={"Authorization": f"Bearer {KEY}"}) as http,
    ):
        team = project(http)
        ok(http.post("organization/spend_limit", json=LIMIT))
        ok(http.post(f"organization/projects/{team}/spend_alerts", json=ALERT))
        ok(http.post("sandbox/usage", json={"project_id": team, "amount_usd": "1.25"}))
        before = state(http)
    with (
        Sandbox(KEY, db_path=db, rate_limit="off") as second,
        httpx.Client(base_url=second.base_url + "/", headers={"Authorization": f"Bearer {KEY}"}) as http,
    ):
        assert second.base_url != "" and state(http) == before
        assert ok(http.post("organization/spend_alerts", json=ALERT))["id"].startswith("alert_")


def test_sandbox_starts_fast_and_stops_cleanly() -> None:
    started = time.monotonic()
    running = Sandbox(KEY, org_id="org-test", rate_limit="off").start()
    assert time.monotonic() - started < 1.0
    assert running.base_url.startswith("http://127.0.0.1:") and running.base_url.endswith("/v1")
    assert (running.admin_key, running.org_id) == (KEY, "org-test")
    running.stop()
    running.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(running.base_url + "/organization/spend_limit", timeout=2)


def test_serve_prints_its_url_first_and_exits_cleanly_on_sigterm() -> None:
    code = f"from pulumi_openai_billing.sandbox import serve; serve({KEY!r}, port=0)"
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/v1")
        answer = httpx.get(base_url + "/organization/spend_alerts", headers={"Authorization": f"Bearer {KEY}"})
        assert answer.status_code == 200 and answer.json()["object"] == "list"
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=10)
    assert process.returncode == 0, stderr
    assert KEY not in stderr


def test_the_openapi_document_describes_what_each_admin_endpoint_answers(http: httpx.Client) -> None:
    """Every Admin API operation the sandbox mirrors names the model of its 200 answer; the models forbid extra
    fields, so an answer that strays from its model is an error the tests see."""
    document = ok(http.get("sandbox/openapi.json"))
    mirrored = [
        (path, method, operation)
        for path, operations in document["paths"].items()
        if path.startswith("/v1/organization/") and "/billing/" not in path
        for method, operation in operations.items()
    ]
    assert len(mirrored) >= 20
    for path, method, operation in mirrored:
        answer = operation["responses"]["200"]["content"]["application/json"]["schema"]
        assert answer.get("$ref", "").startswith("#/components/schemas/"), (method, path, answer)
    schemas = document["components"]["schemas"]
    assert schemas["SpendLimit"]["additionalProperties"] is False
    assert set(schemas["SpendAlert"]["required"]) == {
        "id",
        "object",
        "threshold_amount",
        "currency",
        "interval",
        "notification_channel",
    }


def test_sdk_limit_notifications_follow_openais_omit_null_and_empty_rules(sdk: OpenAI, http: httpx.Client) -> None:
    """``notification_channel`` left out keeps what is set; null resets to the owners only; inside it, a field
    left out is kept, ``recipients: []`` clears them and an empty ``subject_prefix`` clears it."""
    limit = sdk.admin.organization.spend_limit
    channel = {"type": "email", "recipients": ["a@example.com"], "subject_prefix": "[cap]"}
    first = limit.with_raw_response.update(**LIMIT, notification_channel=channel)  # type: ignore[arg-type]
    assert validated(OrganizationSpendLimit, first).notification_channel is not None
    kept = validated(OrganizationSpendLimit, limit.with_raw_response.update(**{**LIMIT, "threshold_amount": 5}))
    assert kept.notification_channel is not None and kept.notification_channel.recipients == ["a@example.com"]
    cleared = limit.update(**LIMIT, notification_channel={"type": "email", "subject_prefix": ""})  # type: ignore[arg-type]
    assert cleared.notification_channel is not None
    assert (cleared.notification_channel.recipients, cleared.notification_channel.subject_prefix) == (
        ["a@example.com"],
        None,
    )
    emptied = limit.update(**LIMIT, notification_channel={"type": "email", "recipients": []})  # type: ignore[arg-type]
    assert emptied.notification_channel is not None and emptied.notification_channel.recipients == []
    reset = limit.update(**LIMIT, notification_channel=None)  # type: ignore[arg-type]
    assert reset.notification_channel is None
    assert ok(http.get("organization/spend_limit")).get("notification_channel") is None, "owners only"
    bad = http.post(
        "organization/spend_limit", json={**LIMIT, "notification_channel": {"type": "email", "recipients": ["x"]}}
    )
    assert error(bad, 400)["param"] == "notification_channel.recipients[0]"
