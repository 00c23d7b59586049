"""`openai-billing simulate`: offline from saved pages and a configuration file, live from the sandbox, and
its chart checked from the figure object."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from conftest import ADMIN_KEY, Api
from pulumi_openai_billing import cli
from pulumi_openai_billing._api.costs import page_results
from pulumi_openai_billing._api.fields import ORGANIZATION
from pulumi_openai_billing._api.money import show_usd
from pulumi_openai_billing.cli.simulate import REFUSED_LABEL, apply_overrides, draw_chart
from pulumi_openai_billing.model.config import load_config
from pulumi_openai_billing.model.simulate import NOT_BY_KEY, daily_costs, simulate
from pulumi_openai_billing.sandbox import Sandbox

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "simulate"
COSTS = EXAMPLE / "costs-2026-10.json"
CONFIG = EXAMPLE / "billing.yaml"
OCTOBER = (date(2026, 10, 1), date(2026, 11, 1))


def _example(*overrides: str):
    billing = apply_overrides(load_config(CONFIG), list(overrides))
    results = [r for page in json.loads(COSTS.read_text()) for r in page_results(page)]
    return billing, simulate(billing, daily_costs(results), *OCTOBER)


def test_the_readme_command_runs_offline_and_writes_the_chart(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BILLING_BASE_URL", "http://127.0.0.1:9/v1")  # nothing listens: offline or fail
    monkeypatch.delenv("OPENAI_ADMIN_KEY", raising=False)
    chart = tmp_path / "spend.png"
    args = ["simulate", "--costs", str(COSTS), "--config", str(CONFIG), "--month", "2026-10", "--chart", str(chart)]
    assert cli.main(args) == 0
    out = capsys.readouterr().out
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = {line.split()[0]: line for line in out.splitlines()[3:7]}
    assert set(rows) == {ORGANIZATION, "team-a", "team-b", "research"}
    _, sim = _example()
    research = sim.limit_of("research")[0]
    assert research.first_blocked_on is not None
    assert research.first_blocked_on.isoformat() in rows["research"]
    assert "auto-reload: " in out and "credit balance: " in out


def test_the_example_month_matches_its_costs_file() -> None:
    """The example's figures, summed here straight from the JSON pages."""
    pages = json.loads(COSTS.read_text())
    assert [p["has_more"] for p in pages] == [True] * 4 + [False], "the file exercises paging"
    total = sum(Decimal(str(r["amount"]["value"])) for p in pages for b in p["data"] for r in b["results"])
    _, sim = _example("research.monthly_limit_usd=none", "organization.monthly_limit_usd=none")
    assert sim.totals.demand_usd == total and sim.totals.refused_usd == 0


def test_a_lower_limit_set_on_the_command_line_shows_the_day_it_would_have_blocked(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["simulate", "--costs", str(COSTS), "--config", str(CONFIG), "--month", "2026-10", "--json"]
    assert cli.main([*args, "--set", "team-a.monthly_limit_usd=400"]) == 0
    data = json.loads(capsys.readouterr().out)
    team_a = next(limit for limit in data["limits"] if limit["scope"] == "team-a")
    assert team_a["limit_usd"] == "400.00"
    # worked out from the pages: the first day team-a's month-to-date spend reaches 400
    running, reached = 0.0, None
    for page in json.loads(COSTS.read_text()):
        for bucket in page["data"]:
            cost = next(r["amount"]["value"] for r in bucket["results"] if r["project_id"] == "proj_teamA0production")
            running += cost
            if reached is None and running >= 400:
                reached = datetime.fromtimestamp(bucket["start_time"], timezone.utc).date().isoformat()
    assert team_a["reached_on"] == reached == team_a["blocked_days"][0]
    assert data["overrides"] == ["team-a.monthly_limit_usd=400"]


def _refused(args: list[str], problem: str, capsys: pytest.CaptureFixture[str]) -> str:
    """The command exits 2, says ``problem`` on stderr and prints nothing else; its stderr."""
    assert cli.main(args) == 2
    captured = capsys.readouterr()
    assert problem in captured.err and captured.out == ""
    return captured.err


@pytest.mark.parametrize(
    ("override", "problem"),
    [
        ("team-z.monthly_limit_usd=400", "no project named 'team-z' in the configuration (projects: 'team-a'"),
        ("team-a.threshold=400", "a scope's field is one of monthly_limit_usd"),
        ("team-a.monthly_limit_usd=4.001", "monthly_limit_usd has more than two decimals (4.001)"),
        ("team-a.monthly_limit_usd", "--set takes NAME.FIELD=VALUE"),
        ("top_up.target_balance_usd=50", "top_up: target_balance_usd (50.00) must be at least 5.00 USD above"),
    ],
)
def test_a_bad_override_is_refused_before_anything_is_written(
    override: str, problem: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    chart = tmp_path / "spend.png"
    args = ["simulate", "--costs", str(COSTS), "--config", str(CONFIG), "--month", "2026-10", "--chart", str(chart)]
    _refused([*args, "--set", override], problem, capsys)
    assert not chart.exists()


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", "not JSON"),
        (
            '{"object": "page", "data": [{"results": []}]}',
            "page 1: data[0]: a costs bucket is an object with an integer",
        ),
        (
            '[{"data": [{"start_time": 0, "results": [{"amount": {"value": 1, "currency": "eur"}}]}]}]',
            "page 1: data[0].results[0]: the costs endpoint answered an amount in 'eur', not USD",
        ),
        ('[{"foo": 1}]', "page 1: not a costs page: a page is an object with a `data` list of buckets"),
        (
            '[{"data": [{"start_time": 0, "results": [{"project_id": "proj_1"}]}]}]',
            "page 1: data[0].results[0]: a costs result is an object with an `amount` object",
        ),
    ],
)
def test_a_bad_costs_file_is_refused_with_what_is_wrong(
    content: str, problem: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    costs = tmp_path / "costs.json"
    costs.write_text(content)
    assert cli.main(["simulate", "--costs", str(costs), "--config", str(CONFIG), "--month", "2026-10"]) == 2
    captured = capsys.readouterr()
    assert problem in captured.err and captured.out == ""


def test_a_bad_month_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["simulate", "--costs", str(COSTS), "--config", str(CONFIG), "--month", "October"]) == 2
    assert "--month takes a month as YYYY-MM" in capsys.readouterr().err


def test_the_chart_draws_each_scope_its_limit_alerts_blocks_and_the_balance() -> None:
    billing, sim = _example("team-a.monthly_limit_usd=400")
    figure = draw_chart(sim, billing, "What if")
    axes = figure.axes
    assert [ax.get_title() for ax in axes] == [
        ORGANIZATION,
        "project team-a (proj_teamA0production)",
        "project team-b (proj_teamB0internal)",
        "project research (proj_research0lab)",
        "credit balance",
    ]
    assert all("USD" in ax.get_ylabel() for ax in axes) and axes[-1].get_xlabel() == "day (UTC)"
    team_a = {line.get_label(): line for line in axes[1].get_lines()}
    fired = {(a.scope, a.threshold_usd): a.day for a in sim.alerts}
    day = fired[("team-a", Decimal(300))]
    assert set(team_a) >= {
        "month-to-date spend",
        "had nothing been refused",
        "limit 400.00 USD",
        f"alert 300.00 USD, fired {day:%b} {day.day}",
    }
    assert list(team_a["limit 400.00 USD"].get_ydata()) == [400.0, 400.0]
    assert list(team_a["_fired"].get_xdata()) == [day] and list(team_a["_fired"].get_ydata()) == [300.0]

    blocked = sim.limit_of("team-a")[0].blocked_days
    bars = next(c for c in axes[1].containers if c.get_label() == REFUSED_LABEL)
    refused = {d.day: d.refused_usd for d in sim.spend["team-a"] if d.refused_usd}
    assert len(bars) == len(blocked) == len(refused)
    assert [bar.get_height() for bar in bars] == [-float(refused[d]) for d in blocked], "below the axis"
    assert [text.get_text() for text in axes[1].texts] == [f"-{show_usd(refused[d])}" for d in blocked]
    assert "traffic refused" not in team_a, "refused days are no longer drawn on the limit line"
    assert len(team_a["month-to-date spend"].get_xdata()) == 31

    organization = {line.get_label() for line in axes[0].get_lines()}
    assert "alert 800.00 USD, never fired" in organization, "each alert line says which it is"
    team_b = {line.get_label() for line in axes[2].get_lines()}
    assert "limit 200.00 USD" in team_b and not axes[2].containers, "nothing refused: no bars"
    balance = {line.get_label(): line for line in axes[4].get_lines()}
    made = [r.day for r in sim.reloads if not r.stopped_by_monthly_limit]
    assert list(balance["auto-reload"].get_xdata()) == made and made
    assert "credit balance" in balance and "reload below 100.00 USD" in balance
    uncovered = balance[f"spend not covered by credit ({show_usd(sim.totals.uncovered_usd)} USD in all)"]
    assert sim.totals.uncovered_usd > 0 and uncovered.get_ydata()[-1] == float(sim.totals.uncovered_usd)
    assert figure.get_suptitle() == "What if"


def test_live_configuration_and_costs_come_from_the_account(
    sandbox: Sandbox, api: Api, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    team = api.project("team-live")
    month = date(2026, 9, 1)
    for day in range(10):
        moment = datetime(2026, 9, 1 + day, 12, tzinfo=timezone.utc)
        api.post("sandbox/usage", {"project_id": team, "amount_usd": "6", "timestamp": int(moment.timestamp())})
    api.set_limit(40, team)
    api.post(
        Api.alerts_path(team),
        {
            "threshold_amount": 1000,
            "currency": "USD",
            "interval": "month",
            "notification_channel": {"type": "email", "recipients": ["t@example.com"]},
        },
    )
    monkeypatch.setenv("OPENAI_BILLING_BASE_URL", sandbox.base_url)
    monkeypatch.setenv("OPENAI_ADMIN_KEY", ADMIN_KEY)
    api.clear_requests()
    assert cli.main(["simulate", "--live", "--month", "2026-09", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    limit = next(item for item in data["limits"] if item["scope"] == "team-live")
    # 6 a day: 36 after 6 days, so day 7 lets 4 of 6 through and days 8-10 are refused
    assert limit["reached_on"] == (month + timedelta(days=6)).isoformat()
    assert limit["refused_usd"] == "20.00"
    assert [a["day"] for a in data["alerts"] if a["scope"] == "team-live"] == ["2026-09-02"]
    costs_reads = [r["query"] for r in api.requests() if r["path"] == "/v1/organization/costs"]
    assert len(costs_reads) == 1 and "group_by%5B%5D=project_id" in costs_reads[0], "one page holds a month"
    assert [r["method"] for r in api.requests()] == ["GET"] * len(api.requests()), "a replay writes nothing"


def _costs_by_key(days: int, **per_key: float) -> list[dict[str, object]]:
    """One costs page grouped by project and API key, from Oct 1: each key (``none``: no key) spends the same each
    day in proj_a."""
    start = int(datetime(2026, 10, 1, tzinfo=timezone.utc).timestamp())
    return [
        {
            "object": "page",
            "has_more": False,
            "next_page": None,
            "data": [
                {
                    "object": "bucket",
                    "start_time": start + day * 86400,
                    "end_time": start + (day + 1) * 86400,
                    "results": [
                        {
                            "object": "organization.costs.result",
                            "amount": {"value": value, "currency": "usd"},
                            "project_id": "proj_a",
                            "api_key_id": None if key == "none" else key,
                        }
                        for key, value in per_key.items()
                    ],
                }
                for day in range(days)
            ],
        }
    ]


KEYED_CONFIG = """
projects:
  team-a:
    project_id: proj_a
    api_keys:
      key_1: {monthly_limit_usd: '30.00'}
"""


def test_a_key_limit_in_the_configuration_refuses_that_key_s_spend_in_costs_grouped_by_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    costs, billing = tmp_path / "costs.json", tmp_path / "billing.yaml"
    costs.write_text(json.dumps(_costs_by_key(4, key_1=12.5, none=3)))
    billing.write_text(KEYED_CONFIG)
    args = ["simulate", "--costs", str(costs), "--config", str(billing), "--month", "2026-10"]
    assert cli.main([*args, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    # key_1: 12.50, 25.00, then 5.00 of 12.50 reach its 30.00 on Oct 3 (7.50 refused); Oct 4's 12.50 refused.
    # The 3.00 a day without a key is subject to no key limit.
    assert data["limits"] == [
        {
            "scope": "team-a/key_1",
            "month": "2026-10",
            "limit_usd": "30.00",
            "reached_on": "2026-10-03",
            "blocked_days": ["2026-10-03", "2026-10-04"],
            "refused_usd": "20.00",
        }
    ]
    key_days = data["spend"]["team-a/key_1"][:4]
    assert [(d["spend_usd"], d["refused_usd"]) for d in key_days] == [
        ("12.50", "0.00"),
        ("12.50", "0.00"),
        ("5.00", "7.50"),
        ("0.00", "12.50"),
    ]
    assert [d["spend_usd"] for d in data["spend"]["team-a"][:4]] == ["15.50", "15.50", "8.00", "3.00"]
    assert data["totals"]["demand_usd"] == "62.00" and data["totals"]["refused_usd"] == "20.00"
    assert data["totals"]["spend_usd"] == "42.00" and data["notes"] == []

    assert cli.main(args) == 0
    table = capsys.readouterr().out
    row = next(line.split() for line in table.splitlines() if line.startswith("team-a/key_1"))
    assert row == ["team-a/key_1", "30.00", "30.00", "2026-10-03", "20.00", "-"]
    assert NOT_BY_KEY not in table


def test_key_limits_against_costs_not_grouped_by_key_give_one_line_and_refuse_nothing_by_key(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["simulate", "--costs", str(COSTS), "--config", str(CONFIG), "--month", "2026-10"]
    assert cli.main([*args, "--set", "team-a/key_ci.monthly_limit_usd=1"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines().count(NOT_BY_KEY) == 1
    row = next(line.split() for line in out.splitlines() if line.startswith("team-a/key_ci"))
    assert row == ["team-a/key_ci", "0.00", "1.00", "-", "0.00", "-"]
    _, plain = _example()
    assert f"refused {show_usd(plain.totals.refused_usd)} USD" in out, "the replay is as without the key"


@pytest.mark.parametrize(
    ("api_keys", "problem"),
    [
        (
            "{key_1: {monthly_limit_usd: -5}}",
            "projects.team-a.api_keys.key_1.monthly_limit_usd: monthly_limit_usd must not be negative, got -5.00",
        ),
        (
            "{key_1: {monthly_limit_usd: 100000000.01}}",
            "monthly_limit_usd must be at most 100000000.00 USD, got 100000000.01",
        ),
        ("{key_1: {monthly_limit_usd: 0}}", "monthly_limit_usd must be at least 0.01 USD, got 0.00"),
        ("{key_1: {monthly_limit_usd: 2.005}}", "monthly_limit_usd has more than two decimals (2.005)"),
        ("{'key 1': {monthly_limit_usd: 2}}", "projects.team-a.api_keys.key 1.[key]: String should match pattern"),
        ("{key_1: {alerts: []}}", "projects.team-a.api_keys.key_1.alerts: Extra inputs are not permitted"),
    ],
)
def test_a_bad_key_limit_in_the_configuration_is_refused_on_one_line(
    api_keys: str, problem: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    billing = tmp_path / "billing.yaml"
    billing.write_text(f"projects:\n  team-a:\n    project_id: proj_a\n    api_keys: {api_keys}\n")
    refused = _refused(
        ["simulate", "--costs", str(COSTS), "--config", str(billing), "--month", "2026-10"], problem, capsys
    )
    assert len(refused.strip().splitlines()) == 1


def test_a_bad_key_limit_override_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["simulate", "--costs", str(COSTS), "--config", str(CONFIG), "--month", "2026-10"]
    assert cli.main([*args, "--set", "team-a/key_ci.monthly_limit_usd=-1"]) == 2
    assert "monthly_limit_usd must not be negative" in capsys.readouterr().err
    assert cli.main([*args, "--set", "team-z/key_ci.monthly_limit_usd=1"]) == 2
    assert "no project named 'team-z/key_ci'" in capsys.readouterr().err
    assert cli.main([*args, "--api-key-limits"]) == 2
    assert "use it with --live" in capsys.readouterr().err


def test_live_key_limits_are_read_only_when_asked_and_costs_then_group_by_key(
    sandbox: Sandbox, api: Api, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    team = api.project("team-keys")
    key = api.api_key(team, "ci")
    for day in range(5):
        moment = datetime(2026, 9, 1 + day, 12, tzinfo=timezone.utc)
        usage = {"project_id": team, "amount_usd": "8", "timestamp": int(moment.timestamp()), "api_key_id": key}
        api.post("sandbox/usage", usage)
        api.post("sandbox/usage", {**usage, "amount_usd": "1", "api_key_id": None})
    api.set_key_limit(team, key, 20)
    monkeypatch.setenv("OPENAI_BILLING_BASE_URL", sandbox.base_url)
    monkeypatch.setenv("OPENAI_ADMIN_KEY", ADMIN_KEY)

    api.clear_requests()
    assert cli.main(["simulate", "--live", "--month", "2026-09", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert not any("/" in scope for scope in data["scopes"]), "without --api-key-limits no key is read"
    assert not any(r["path"].endswith("/api_keys") for r in api.requests())
    costs_reads = [r["query"] for r in api.requests() if r["path"] == "/v1/organization/costs"]
    assert len(costs_reads) == 1 and "api_key_id" not in costs_reads[0]

    api.clear_requests()
    assert cli.main(["simulate", "--live", "--api-key-limits", "--month", "2026-09", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    scope = f"team-keys/{key}"
    limit = next(item for item in data["limits"] if item["scope"] == scope)
    # 8 a day with the key: 16 after 2 days, day 3 lets 4 of 8 through, days 4-5 are refused (4 + 8 + 8)
    assert limit["limit_usd"] == "20.00" and limit["reached_on"] == "2026-09-03"
    assert limit["refused_usd"] == "20.00" and data["notes"] == []
    assert data["spend"]["team-keys"][4]["spend_usd"] == "1.00", "spend without the key goes on"
    costs_reads = [r["query"] for r in api.requests() if r["path"] == "/v1/organization/costs"]
    assert len(costs_reads) == 1 and "group_by%5B%5D=api_key_id" in costs_reads[0]
    assert "group_by%5B%5D=project_id" in costs_reads[0]
    assert [r["method"] for r in api.requests()] == ["GET"] * len(api.requests()), "a replay writes nothing"
