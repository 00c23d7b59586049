"""Guardrails at preview: lowering a limit near month-to-date spend or by more than half needs an expiring
acknowledgement; alerts above a live limit and resources in archived or invisible projects are refused."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from conftest import Api, Resource, last_month, this_month
from plugin_driver import Plugin

ALICE = ["alice@example.com"]


def spend(api: Api, project_id: str, dollars: str) -> None:
    api.post("sandbox/usage", {"project_id": project_id, "amount_usd": dollars})


def failures_of(resource: Resource, news: dict, olds: dict | None = None) -> dict[str, str]:
    """Check failures by the property each reason names."""
    return dict(resource.check(news, olds)[1])


def test_lowering_near_month_to_date_spend_needs_this_months_acknowledgement(plugin: Plugin, api: Api) -> None:
    project = api.project("team-a")
    spend(api, project, "95.00")
    api.set_limit(120, project)
    limit = Resource(plugin, "ProjectSpendLimit")
    limit.create({"project_id": project, "monthly_limit_usd": 120, "adopt_existing": True})
    api.clear_requests()

    failures = failures_of(limit, {"project_id": project, "monthly_limit_usd": 100})
    message = failures["monthly_limit_usd"]
    assert f"lowering the limit of project {project} from 120.00 to 100.00 USD" in message
    assert "month-to-date spend is 95.00 USD" in message
    assert "110% of it (104.50 USD)" in message  # 95 x 1.10, computed here
    assert f'acknowledge_until="{this_month()}"' in message

    expired = failures_of(limit, {"project_id": project, "monthly_limit_usd": 100, "acknowledge_until": last_month()})
    assert f"acknowledge_until={last_month()!r} has expired" in expired["monthly_limit_usd"]

    assert (
        failures_of(limit, {"project_id": project, "monthly_limit_usd": 100, "acknowledge_until": this_month()}) == {}
    )
    assert failures_of(limit, {"project_id": project, "monthly_limit_usd": 105}) == {}  # above 104.50
    assert api.writes() == []


def test_cutting_by_more_than_half_needs_an_acknowledgement_even_without_spend(plugin: Plugin, api: Api) -> None:
    limit = Resource(plugin, "OrganizationSpendLimit")
    limit.create({"monthly_limit_usd": 1000})
    message = failures_of(limit, {"monthly_limit_usd": "499.99"})["monthly_limit_usd"]
    assert "from 1000.00 to 499.99 USD" in message and "more than half" in message and "500.00" in message
    assert failures_of(limit, {"monthly_limit_usd": 500}) == {}
    assert failures_of(limit, {"monthly_limit_usd": 400, "acknowledge_until": this_month()}) == {}
    assert api.get("organization/spend_limit")["threshold_amount"] == 100000


def test_raising_or_keeping_a_limit_never_needs_an_acknowledgement(plugin: Plugin, api: Api) -> None:
    project = api.project("hot")
    spend(api, project, "500")
    limit = Resource(plugin, "ProjectSpendLimit")
    limit.create({"project_id": project, "monthly_limit_usd": 600})
    assert failures_of(limit, {"project_id": project, "monthly_limit_usd": 600}) == {}
    assert failures_of(limit, {"project_id": project, "monthly_limit_usd": 5000}) == {}
    # A stale acknowledgement left in the program is harmless while nothing is lowered.
    assert failures_of(limit, {"project_id": project, "monthly_limit_usd": 600, "acknowledge_until": "2020-01"}) == {}


def test_a_new_limit_below_spend_so_far_is_refused(plugin: Plugin, api: Api) -> None:
    project = api.project("busy")
    spend(api, project, "40")
    spend(api, project, "10.004")
    api.clear_requests()
    limit = Resource(plugin, "ProjectSpendLimit")
    message = failures_of(limit, {"project_id": project, "monthly_limit_usd": 50})["monthly_limit_usd"]
    assert f"setting a limit of 50.00 USD on project {project}" in message
    assert "month-to-date spend is 50.00 USD" in message and "(55.01 USD)" in message  # 50.004 x 1.1 rounded up
    assert api.writes() == []
    # The organization's spend is the sum of its projects'.
    org = Resource(plugin, "OrganizationSpendLimit", "org")
    assert "month-to-date spend is 50.00 USD" in failures_of(org, {"monthly_limit_usd": 20})["monthly_limit_usd"]


def test_acknowledge_until_never_diffs_and_must_be_a_month(plugin: Plugin) -> None:
    limit = Resource(plugin, "OrganizationSpendLimit")
    limit.create({"monthly_limit_usd": 100})
    assert limit.diff({"monthly_limit_usd": 100, "acknowledge_until": this_month()}).changes is False
    failures = failures_of(limit, {"monthly_limit_usd": 100, "acknowledge_until": "November"})
    assert failures["acknowledge_until"].startswith("acknowledge_until must match")


def test_alert_above_the_live_limit_is_refused_unless_allowed(plugin: Plugin, api: Api) -> None:
    project = api.project("capped")
    api.set_limit(100, project)
    alert = Resource(plugin, "ProjectSpendAlert")
    news = {"project_id": project, "threshold_usd": "100.01", "recipients": ALICE}
    message = failures_of(alert, news)["threshold_usd"]
    assert f"threshold_usd (100.01 USD) is above the spend limit of project {project} (100.00 USD)" in message
    assert "allow_above_limit=True" in message
    assert failures_of(alert, {**news, "allow_above_limit": True}) == {}
    assert failures_of(alert, {**news, "threshold_usd": 100}) == {}
    assert api.alerts(project) == []


def test_alert_is_measured_against_the_limit_the_program_declares(plugin: Plugin, api: Api) -> None:
    project = api.project("growing")
    api.set_limit(100, project)
    limit = Resource(plugin, "ProjectSpendLimit", "limit")
    limit.check({"project_id": project, "monthly_limit_usd": 300, "adopt_existing": True})
    alert = Resource(plugin, "ProjectSpendAlert", "alert")
    assert failures_of(alert, {"project_id": project, "threshold_usd": 250, "recipients": ALICE}) == {}


def test_archived_and_invisible_projects_are_refused(plugin: Plugin, api: Api) -> None:
    project = api.project("old")
    api.post(f"organization/projects/{project}/archive", {})
    api.clear_requests()
    for kind, news in (
        ("ProjectSpendLimit", {"monthly_limit_usd": 10}),
        ("ProjectSpendAlert", {"threshold_usd": 5, "recipients": ALICE}),
    ):
        message = failures_of(Resource(plugin, kind), {"project_id": project, **news})["project_id"]
        assert f"project {project} (old) is archived" in message
        missing = failures_of(Resource(plugin, kind), {"project_id": "proj_nope", **news})["project_id"]
        assert "proj_nope is not visible" in missing and "wrong organization?" in missing
    assert api.writes() == []


@pytest.mark.parametrize("alerts", [12])
def test_live_figures_are_read_once_per_scope_not_per_resource(plugin: Plugin, api: Api, alerts: int) -> None:
    project = api.project("many")
    api.set_limit(1000, project)
    api.clear_requests()
    for index in range(alerts):
        alert = Resource(plugin, "ProjectSpendAlert", f"alert-{index}")
        assert failures_of(alert, {"project_id": project, "threshold_usd": 10 + index, "recipients": ALICE}) == {}
    for index in range(3):
        limit = Resource(plugin, "ProjectSpendLimit", f"limit-{index}")
        limit.check({"project_id": api.project(f"p{index}"), "monthly_limit_usd": 5})
    paths = [r["path"] for r in api.requests() if r["method"] == "GET"]
    assert paths.count(f"/v1/organization/projects/{project}/spend_limit") == 1
    assert paths.count(f"/v1/organization/projects/{project}") == 1
    assert paths.count("/v1/organization/costs") == 1


def test_a_limit_that_would_have_blocked_last_month_on_too_many_days_is_refused(plugin: Plugin, api: Api) -> None:
    project = api.project("steady")
    first = last_month_start()
    for day in range(20):  # 10 USD on each of last month's first 20 days
        moment = first + timedelta(days=day, hours=12)
        api.post("sandbox/usage", {"project_id": project, "amount_usd": "10", "timestamp": int(moment.timestamp())})
    limit = Resource(plugin, "ProjectSpendLimit")
    news = {"project_id": project, "monthly_limit_usd": 150, "warn_if_would_have_blocked_days": 3}
    api.clear_requests()

    # 150 is reached on day 15 (15 x 10), so days 16 to 20 are refused: 5 days, 50 USD
    message = failures_of(limit, news)["monthly_limit_usd"]
    blocked_from = (first + timedelta(days=15)).date().isoformat()
    assert f"would have blocked traffic on 5 days of {last_month()} (from {blocked_from}; 50.00 USD" in message
    assert "more than warn_if_would_have_blocked_days=3" in message
    assert failures_of(limit, {**news, "warn_if_would_have_blocked_days": 5}) == {}
    assert failures_of(limit, {**news, "monthly_limit_usd": 200}) == {}, "200 is never reached"
    assert failures_of(limit, {**news, "warn_if_would_have_blocked_days": None}) == {}
    assert api.writes() == []
    last_month_reads = [r for r in api.requests() if f"start_time={int(first.timestamp())}&" in r["query"]]
    assert len(last_month_reads) == 1, "one read of last month's costs serves every check of the process"


def test_the_organization_limit_is_replayed_against_every_project_s_spend(plugin: Plugin, api: Api) -> None:
    first = last_month_start()
    for name in ("a", "b"):
        project = api.project(name)
        for day in range(4):
            moment = first + timedelta(days=day, hours=1)
            api.post("sandbox/usage", {"project_id": project, "amount_usd": "30", "timestamp": int(moment.timestamp())})
    limit = Resource(plugin, "OrganizationSpendLimit")
    # 60 a day together: 100 is reached on day 2 with 20 refused, and days 3 and 4 are refused in full
    message = failures_of(limit, {"monthly_limit_usd": 100, "warn_if_would_have_blocked_days": 0})["monthly_limit_usd"]
    assert "on the organization would have blocked traffic on 3 days" in message and "140.00 USD" in message


def last_month_start() -> datetime:
    now = datetime.now(timezone.utc)
    this = datetime(now.year, now.month, 1, tzinfo=timezone.utc)
    previous = this - timedelta(days=1)
    return datetime(previous.year, previous.month, 1, tzinfo=timezone.utc)


def test_from_the_second_project_one_list_of_projects_serves_the_rest(plugin: Plugin, api: Api) -> None:
    projects = [api.project(f"team-{i}") for i in range(30)]
    archived = projects[-1]
    api.post(f"organization/projects/{archived}/archive", {})
    api.clear_requests()
    for project in projects[:-1]:
        alert = Resource(plugin, "ProjectSpendAlert", f"alert-{project}")
        assert failures_of(alert, {"project_id": project, "threshold_usd": 10, "recipients": ALICE}) == {}
    message = failures_of(Resource(plugin, "ProjectSpendLimit"), {"project_id": archived, "monthly_limit_usd": 10})
    assert f"project {archived} (team-29) is archived" in message["project_id"], "found in the list, archived"
    missing = failures_of(Resource(plugin, "ProjectSpendLimit"), {"project_id": "proj_nope", "monthly_limit_usd": 10})
    assert "proj_nope is not visible" in missing["project_id"], "not in the list: read on its own, then refused"
    reads = [r["path"] for r in api.requests() if r["path"].startswith("/v1/organization/projects")]
    one_by_one = [p for p in reads if p.count("/") == 4]
    assert len(one_by_one) == 1 + 1, "the first project read on its own, then proj_nope"
    assert reads.count("/v1/organization/projects") == 1, "30 projects fit one page of the list"
