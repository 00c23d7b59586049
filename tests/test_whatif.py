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
from pulumi_openai_billing.model.simulate import daily_costs, simulate
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
    assert cli.main([*args, "--set", override]) == 2
    captured = capsys.readouterr()
    assert problem in captured.err and captured.out == ""
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
