"""The HTTP client (headers, paging, retries, errors, redaction) and the read functions, against a sandbox."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from conftest import ADMIN_KEY, Api, Resource, plugin_config
from plugin_driver import Plugin, PluginError
from pulumi_openai_billing import __version__, get_project, get_spend_limit, list_projects, list_spend_alerts
from pulumi_openai_billing._api import config as settings
from pulumi_openai_billing._api.client import OpenAIError
from pulumi_openai_billing.errors import ProviderError
from pulumi_openai_billing.resources._wire import check_currency
from pulumi_openai_billing.sandbox import Sandbox
from test_plugin_provider import ALERT


def alert_body(cents: int) -> dict:
    return {
        "threshold_amount": cents,
        "currency": "USD",
        "interval": "month",
        "notification_channel": {"type": "email", "recipients": ["a@example.com"]},
    }


def test_functions_read_projects_limits_and_alerts(env: None, api: Api) -> None:
    team = api.project("team-a")
    api.project("team-b")
    assert [p.name for p in list_projects()] == ["team-a", "team-b"]
    assert get_project(name="team-a").id == team
    assert get_project(id=team).name == "team-a"
    with pytest.raises(ProviderError, match="no project with that name"):
        get_project(name="nope")
    api.project("team-a")
    with pytest.raises(ProviderError, match="2 projects"):
        get_project(name="team-a")

    assert get_spend_limit() is None and get_spend_limit(team) is None
    api.set_limit(1500)
    api.set_limit(20, team)
    org = get_spend_limit()
    assert org is not None and (org.monthly_limit_usd, org.monthly_limit_cents) == ("1500.00", 150000)
    assert get_spend_limit(team).monthly_limit_usd == "20.00"  # type: ignore[union-attr]

    api.post(f"organization/projects/{team}/spend_alerts", alert_body(1234))
    alerts = list_spend_alerts(team)
    assert [(a.threshold_usd, a.recipients, a.project_id) for a in alerts] == [("12.34", ("a@example.com",), team)]
    with pytest.raises(ProviderError, match="not visible"):
        list_spend_alerts("proj_missing")


def test_lists_page_by_100_after_the_last_id(env: None, api: Api) -> None:
    for i in range(230):
        api.post("organization/spend_alerts", alert_body(i))
    api.clear_requests()
    alerts = list_spend_alerts()
    assert [a.threshold_cents for a in alerts] == list(range(230))
    queries = [r["query"] for r in api.requests()]
    assert queries == ["limit=100", f"limit=100&after={alerts[99].id}", f"limit=100&after={alerts[199].id}"]


def test_requests_carry_user_agent_and_organization(env: None, api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BILLING_ORGANIZATION", "org-sandbox")
    list_projects()
    [entry] = api.requests()
    assert entry["user_agent"].startswith(f"pulumi-openai-billing/{__version__} ")
    assert entry["organization"] == "org-sandbox"


def test_reads_are_retried_on_5xx(env: None, api: Api) -> None:
    api.set_limit(10)
    api.faults({"method": "GET", "path": "/v1/organization/spend_limit", "kind": "status", "status": 503, "times": 2})
    assert get_spend_limit().monthly_limit_cents == 1000  # type: ignore[union-attr]
    assert [r["status"] for r in api.requests() if r["method"] == "GET"] == [503, 503, 200]


def test_retries_are_bounded_and_the_error_is_openais(env: None, api: Api) -> None:
    api.faults({"method": "GET", "path": "/v1/organization/projects", "kind": "status", "status": 500, "times": 5})
    with pytest.raises(OpenAIError) as info:
        list_projects()
    assert info.value.status == 500 and info.value.request_id and info.value.request_id.startswith("req_")
    assert "gave up after 3 attempts" in str(info.value)
    assert [r["retry"] for r in api.requests()] == [0, 1, 2], "maxRetries=2: one try and two retries, numbered"


def test_retries_stop_when_the_time_budget_is_spent(env: None, api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Retry-After longer than the budget left is not waited for: the error comes at once."""
    monkeypatch.setenv("OPENAI_BILLING_RETRY_BUDGET_SECONDS", "2")
    path = "/v1/organization/projects"
    api.faults({"method": "GET", "path": path, "kind": "status", "status": 503, "retry_after": 30})
    started = time.monotonic()
    with pytest.raises(OpenAIError, match="503") as info:
        list_projects()
    assert time.monotonic() - started < 2
    assert info.value.status == 503 and len(api.requests()) == 1
    api.faults({"method": "GET", "path": path, "kind": "status", "status": 503, "retry_after": 0.8, "times": 5})
    with pytest.raises(OpenAIError, match=r"gave up after 3 attempts in 1\.\d s"):
        list_projects()
    assert [r["retry"] for r in api.requests()][1:] == [0, 1, 2], "the third wait of 0.8 s would pass 2 s"


def test_the_throttle_has_its_own_budget_and_the_error_says_which_setting_to_raise(
    env: None, api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """429s are waited out within rateLimitWaitSeconds, not maxRetries: ten in a row still succeed."""
    monkeypatch.setenv("OPENAI_BILLING_MAX_RETRIES", "0")
    monkeypatch.setenv("OPENAI_BILLING_RATE_LIMIT_WAIT_SECONDS", "2")
    path = "/v1/organization/projects"
    api.faults({"method": "GET", "path": path, "kind": "status", "status": 429, "retry_after": 0.01, "times": 10})
    assert list_projects() == []
    assert [r["status"] for r in api.requests()] == [429] * 10 + [200]
    api.faults({"method": "GET", "path": path, "kind": "status", "status": 429, "retry_after": 30})
    started = time.monotonic()
    with pytest.raises(Exception, match=r"rate limit on GET /organization/projects held this request") as info:
        list_projects()
    assert time.monotonic() - started < 2, "a wait the budget cannot cover is not started"
    assert "openai-billing:rateLimitWaitSeconds (2 s)" in str(info.value)


def test_unanswered_create_refused_before_it_ran_is_sent_again_once(plugin: Plugin, api: Api) -> None:
    """A 500 whose change did not happen: the live list shows no such alert, so re-sending is safe."""
    api.faults({"method": "POST", "path": "/v1/organization/spend_alerts", "kind": "status", "status": 500})
    alert = Resource(plugin, "OrganizationSpendAlert")
    alert.create(ALERT)
    log = [(r["method"], r["status"]) for r in api.requests() if r["path"] == "/v1/organization/spend_alerts"]
    assert [a["id"] for a in api.alerts()] == [alert.id]
    assert log == [("GET", 200), ("POST", 500), ("GET", 200), ("POST", 200)]


def test_a_lost_create_whose_list_fails_too_says_what_is_known(plugin: Plugin, api: Api) -> None:
    path = "/v1/" + Api.alerts_path()
    api.faults(
        {"method": "POST", "path": path, "kind": "drop_after_commit"},
        {"method": "GET", "path": path, "kind": "status", "status": 503, "times": 4, "skip": 1},
    )
    alert = Resource(plugin, "OrganizationSpendAlert")
    with pytest.raises(PluginError) as info:
        alert.create(ALERT)
    message = str(info.value)
    assert "the connection failed after the request was sent" in message
    assert "may or may not have been created, and listing the scope's alerts to find out failed too" in message
    assert "gave up after 4 attempts" in message and "adopts an identical one" in message
    assert len(api.alerts()) == 1, "the lost answer's alert exists"
    Resource(plugin, "OrganizationSpendAlert", "again").create(ALERT)
    assert len(api.alerts()) == 1, "the next run adopted it instead of creating a second"


def test_debug_log_shows_requests_but_never_the_key(sandbox: Sandbox, tmp_path: Path) -> None:
    log = tmp_path / "plugin.log"
    config = plugin_config(sandbox, **{"openai-billing:debug": "true"})
    with Plugin(config, env={"OPENAI_ADMIN_KEY": ""}, log_file=log) as plugin:
        Resource(plugin, "OrganizationSpendLimit").create({"monthly_limit_usd": 5})
    text = log.read_text()
    assert "POST organization/spend_limit -> 200" in text
    assert ADMIN_KEY not in text


def test_settings_never_show_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_ADMIN_KEY", ADMIN_KEY)
    resolved = settings.resolve()
    assert ADMIN_KEY not in repr(resolved)
    assert settings.redact(ADMIN_KEY) == "sk-admin-…6789"
    assert settings.scrub(f"oops {ADMIN_KEY}!") == "oops sk-admin-…6789!"
    monkeypatch.setenv("OPENAI_BILLING_MAX_RETRIES", "many")
    with pytest.raises(settings.ConfigError, match=r"^OPENAI_BILLING_MAX_RETRIES must be a whole number, got 'many'"):
        settings.resolve()


@pytest.mark.parametrize(
    ("source", "value", "problem"),
    [
        ("OPENAI_BILLING_TIMEOUT_SECONDS", "soon", "OPENAI_BILLING_TIMEOUT_SECONDS must be a number, got 'soon'"),
        ("openai-billing:timeoutSeconds", "soon", "openai-billing:timeoutSeconds must be a number, got 'soon'"),
        ("OPENAI_BILLING_RATE_LIMIT_WAIT_SECONDS", "-1", "OPENAI_BILLING_RATE_LIMIT_WAIT_SECONDS must not be negative"),
        ("OPENAI_BILLING_BASE_URL", "ftp://example.com/v1", "OPENAI_BILLING_BASE_URL must be an http(s) URL"),
        ("openai-billing:baseUrl", "http://127.0.0.1:8080", "e.g. http://127.0.0.1:8080/v1"),
        ("OPENAI_BILLING_BASE_URL", "https://api.openai.com/v1?x=1", "must not have a query or fragment"),
    ],
)
def test_a_bad_setting_is_named_where_it_came_from(
    source: str, value: str, problem: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A message names the environment variable or the stack key the value was read from, never the other."""
    overrides = {source: value} if source.startswith("openai-billing:") else {}
    if not overrides:
        monkeypatch.setenv(source, value)
    with pytest.raises(settings.ConfigError) as refused:
        settings.resolve(overrides)
    assert problem in str(refused.value) and str(refused.value).startswith(source)


def test_every_setting_is_in_the_readme_and_the_schema() -> None:
    """The settings table in _api/config.py is the one statement; the README's Configure section and the
    schema must mention each key and its variable."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    schema = json.loads((Path(__file__).resolve().parents[1] / "schema.json").read_text())["config"]["variables"]
    for setting in settings.SETTINGS:
        assert setting.key in readme and setting.env in readme, setting.key
        assert setting.env in schema[setting.key]["description"], setting.key


def test_settings_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://inference-proxy.invalid/v1")
    monkeypatch.delenv("OPENAI_BILLING_BASE_URL", raising=False)
    assert settings.resolve().base_url == "https://api.openai.com/v1", "OPENAI_BASE_URL is never used"
    monkeypatch.setenv("OPENAI_BILLING_BASE_URL", "http://127.0.0.1:1/v1/")
    assert settings.resolve().base_url == "http://127.0.0.1:1/v1"
    assert settings.resolve({"openai-billing:baseUrl": "http://other/v1"}).base_url == "http://other/v1"
    assert settings.resolve().organization_binding == "127.0.0.1"
    monkeypatch.setenv("OPENAI_BILLING_ORGANIZATION", "org-abc")
    assert settings.resolve().organization_binding == "org-abc"


def test_amounts_in_another_currency_are_an_error() -> None:
    check_currency({"currency": "USD"}, "limit")
    check_currency({"currency": "usd"}, "limit")
    with pytest.raises(ProviderError, match="in 'EUR', not USD"):
        check_currency({"currency": "EUR"}, "the spend limit")


LIMIT_PATH = "/v1/organization/spend_limit"


def test_a_limit_whose_answers_were_all_lost_is_read_back_and_kept(plugin: Plugin, api: Api) -> None:
    """maxRetries=3: every one of the four answers is cut after its commit; the read-back shows the write."""
    api.faults({"method": "POST", "path": LIMIT_PATH, "kind": "drop_after_commit", "times": 4})
    limit = Resource(plugin, "OrganizationSpendLimit")
    limit.create({"monthly_limit_usd": 250})
    assert (
        limit.outputs["monthly_limit_cents"] == 25000
        and api.get("organization/spend_limit")["threshold_amount"] == 25000
    )
    assert [r["method"] for r in api.requests() if r["path"] == LIMIT_PATH][-1] == "GET", "the read-back"


def test_a_limit_write_refused_every_time_says_what_the_scope_still_has(plugin: Plugin, api: Api) -> None:
    api.set_limit(900)
    limit = Resource(plugin, "OrganizationSpendLimit")
    inputs = limit.checked({"monthly_limit_usd": 800, "adopt_existing": True})
    api.faults({"method": "POST", "path": LIMIT_PATH, "kind": "status", "status": 503, "times": 4})
    with pytest.raises(PluginError) as info:
        plugin.create(limit.urn, {**inputs, "__provider": limit.blob})
    message = str(info.value)
    assert "gave up after 4 attempts" in message
    assert "The write did not take effect: the organization still has a monthly spend limit of 900.00 USD" in message
    assert api.get("organization/spend_limit")["threshold_amount"] == 90000
