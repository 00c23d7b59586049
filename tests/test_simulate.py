"""The what-if model: each expected figure is worked out here by hand from the daily costs, not by the model."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from pulumi_openai_billing._api.fields import ORGANIZATION
from pulumi_openai_billing.model.config import BillingConfig
from pulumi_openai_billing.model.simulate import (
    NOT_BY_KEY,
    AlertFired,
    ApiKeySpend,
    LimitOutcome,
    Reload,
    simulate,
)

D = Decimal
RECIPIENTS = ["finops@example.com"]


def _config(**data: object) -> BillingConfig:
    return BillingConfig.model_validate(data)


def _alert(usd: int) -> dict[str, object]:
    return {"threshold_usd": usd, "recipients": RECIPIENTS}


def _every_day(start: date, count: int, **per_project: int) -> dict[date, dict[str | None, Decimal]]:
    return {start + timedelta(days=i): {p: D(v) for p, v in per_project.items()} for i in range(count)}


def test_month_rollover_restarts_spend_alerts_limits_and_the_monthly_reload_total() -> None:
    billing = _config(
        projects={"a": {"project_id": "proj_a", "monthly_limit_usd": 100, "alerts": [_alert(50)]}},
        top_up={"balance_threshold_usd": 10, "target_balance_usd": 40, "monthly_reload_limit_usd": 40},
    )
    start = date(2026, 10, 30)
    sim = simulate(billing, _every_day(start, 5, proj_a=40), start, date(2026, 11, 4))

    oct30, oct31, nov1, nov2, nov3 = (start + timedelta(days=i) for i in range(5))
    assert [d.month_to_date_usd for d in sim.spend["a"]] == [40, 80, 40, 80, 100], "Nov 3 lets 20 of 40 through"
    assert [d.refused_usd for d in sim.spend["a"]] == [0, 0, 0, 0, 20]
    assert [a for a in sim.alerts if a.scope == "a"] == [AlertFired("a", D(50), oct31), AlertFired("a", D(50), nov2)]
    assert sim.limit_of("a") == (
        LimitOutcome("a", "2026-10", D(100), None, (), D(0)),
        LimitOutcome("a", "2026-11", D(100), nov3, (nov3,), D(20)),
    )
    # No credit: every day's spend is uncovered and leaves the balance at 0 < 10, so a reload of 40 is tried
    # daily; the 40 USD monthly limit allows one a month: Oct 30 and Nov 1 (the total restarts on the 1st).
    made = [r for r in sim.reloads if not r.stopped_by_monthly_limit]
    assert made == [Reload(oct30, D(40), D(40), False), Reload(nov1, D(40), D(40), False)]
    stopped = [r for r in sim.reloads if r.stopped_by_monthly_limit]
    # Oct 31: 40 - 40 = 0 left, reload of 40 would make 80 > 40. Nov 2 likewise.
    assert stopped == [Reload(oct31, D(40), D(40), True), Reload(nov2, D(40), D(40), True)]
    assert nov1.day == 1 and oct30.month == 10


def test_grants_expire_a_year_after_they_are_granted() -> None:
    granted = date(2025, 10, 15)
    expires = granted + timedelta(days=365)
    billing = _config(credit_grants=[{"amount_usd": 100, "granted_on": granted.isoformat()}])
    start = expires - timedelta(days=2)
    sim = simulate(billing, _every_day(start, 5, proj_x=10), start, start + timedelta(days=5))

    # two days consume 10 each from the grant (100 -> 80); on its expiry day the 80 left is gone
    assert [b for _, b in sim.balance] == [90, 80, 0, 0, 0]
    assert sim.totals.uncovered_usd == 3 * 10
    assert sim.totals.spend_usd == 5 * 10, "spend beyond the credit is reported, not refused"


def test_the_monthly_reload_limit_stops_a_reload_and_never_makes_a_partial_one() -> None:
    billing = _config(top_up={"balance_threshold_usd": 10, "target_balance_usd": 30, "monthly_reload_limit_usd": 70})
    start = date(2026, 10, 1)
    sim = simulate(billing, _every_day(start, 5, proj_x=25), start, start + timedelta(days=5))

    day1, day2, day3 = start, start + timedelta(days=1), start + timedelta(days=2)
    # day 1: nothing to spend from (25 uncovered), reload 30 - 0 = 30 (month total 30)
    # day 2: 30 - 25 = 5 left, reload 30 - 5 = 25 (total 55)
    # day 3: 5 left again, a reload of 25 would make 80 > 70: stopped; nothing is reloaded after that
    assert sim.reloads == (
        Reload(day1, D(30), D(30), False),
        Reload(day2, D(25), D(55), False),
        Reload(day3, D(25), D(55), True),
    )
    assert [b for _, b in sim.balance] == [30, 30, 5, 0, 0]
    # uncovered: day 1 all 25; day 4 25 - 5 = 20; day 5 all 25
    assert sim.totals.uncovered_usd == 25 + 20 + 25
    assert sim.totals.reloaded_usd == 55 and sim.totals.reloads == 2


def test_organization_and_project_limits_apply_together() -> None:
    billing = _config(
        organization={"monthly_limit_usd": 100, "alerts": [_alert(50), _alert(120)]},
        projects={"a": {"project_id": "proj_a", "monthly_limit_usd": 30, "alerts": [_alert(20)]}},
    )
    start = date(2026, 10, 1)
    day = [start + timedelta(days=i) for i in range(7)]
    sim = simulate(billing, _every_day(start, 7, proj_a=10, proj_b=15), start, start + timedelta(days=7))

    # a: 10 a day reaches its 30 on day 3; days 4-7 are refused (4 x 10)
    assert sim.limit_of("a") == (LimitOutcome("a", "2026-10", D(30), day[2], tuple(day[3:]), D(40)),)
    # org: 25 a day for 3 days (75), then only b's 15 (90); day 5 has room for 10 of b's 15, days 6-7 none
    assert sim.limit_of(ORGANIZATION) == (
        LimitOutcome(ORGANIZATION, "2026-10", D(100), day[4], tuple(day[4:]), D(5 + 15 + 15)),
    )
    assert [d.month_to_date_usd for d in sim.spend[ORGANIZATION]] == [25, 50, 75, 90, 100, 100, 100]
    assert [(a.scope, a.threshold_usd, a.day) for a in sim.alerts] == [
        (ORGANIZATION, 50, day[1]),
        ("a", 20, day[1]),
    ], "the 120 alert never fires: refused spend never happened"
    assert sim.totals.demand_usd == 7 * 25
    assert sim.totals.refused_usd == 40 + 35 and sim.totals.spend_usd == 7 * 25 - 75


def test_the_organization_limit_shares_its_last_room_in_proportion_to_each_project_s_spend() -> None:
    billing = _config(
        organization={"monthly_limit_usd": 20},
        projects={"a": {"project_id": "proj_a"}, "b": {"project_id": "proj_b"}},
    )
    start = date(2026, 10, 1)
    sim = simulate(billing, {start: {"proj_a": D(30), "proj_b": D(10)}}, start, start + timedelta(days=1))
    # 20 of the 40 asked gets through: a keeps 30/40 of it, b 10/40
    assert sim.spend["a"][0].spend_usd == 15 and sim.spend["b"][0].spend_usd == 5
    assert sim.spend[ORGANIZATION][0].refused_usd == 20


def test_an_empty_month_spends_nothing_and_fires_nothing() -> None:
    billing = _config(
        organization={"monthly_limit_usd": 10, "alerts": [_alert(0), _alert(5)]},
        credit_grants=[{"amount_usd": 12.5, "granted_on": "2026-09-01"}],
    )
    sim = simulate(billing, {}, date(2026, 10, 1), date(2026, 11, 1))
    assert len(sim.spend[ORGANIZATION]) == 31
    assert all(d.month_to_date_usd == 0 and d.refused_usd == 0 for d in sim.spend[ORGANIZATION])
    assert sim.alerts == () and sim.reloads == ()
    assert sim.limit_of(ORGANIZATION) == (LimitOutcome(ORGANIZATION, "2026-10", D(10), None, (), D(0)),)
    assert {b for _, b in sim.balance} == {D("12.5")}
    assert sim.totals.demand_usd == sim.totals.spend_usd == sim.totals.uncovered_usd == 0


def test_a_limit_reached_on_the_first_refuses_from_the_first() -> None:
    billing = _config(projects={"a": {"project_id": "proj_a", "monthly_limit_usd": 50, "alerts": [_alert(50)]}})
    start = date(2026, 10, 1)
    costs = {start: {"proj_a": D(80)}, **_every_day(start + timedelta(days=1), 9, proj_a=10)}
    sim = simulate(billing, costs, start, start + timedelta(days=10))

    outcome = sim.limit_of("a")[0]
    assert outcome.reached_on == outcome.first_blocked_on == start
    assert outcome.blocked_days == tuple(start + timedelta(days=i) for i in range(10))
    assert outcome.refused_usd == (80 - 50) + 9 * 10
    assert sim.alerts == (AlertFired("a", D(50), start),)


def test_spend_of_unconfigured_projects_and_of_no_project_counts_for_the_organization() -> None:
    billing = _config(organization={"monthly_limit_usd": 1000}, projects={"a": {"project_id": "proj_a"}})
    start = date(2026, 10, 1)
    costs = {start: {"proj_a": D("1.25"), "proj_other": D("2.5"), None: D("0.125")}}
    sim = simulate(billing, costs, start, start + timedelta(days=1))
    assert sim.spend[ORGANIZATION][0].spend_usd == D("3.875")
    assert sim.spend["a"][0].spend_usd == D("1.25")


def test_the_json_form_keeps_exact_dollars_and_iso_days() -> None:
    billing = _config(projects={"a": {"project_id": "proj_a", "monthly_limit_usd": 1}})
    start = date(2026, 10, 1)
    data = simulate(billing, {start: {"proj_a": D("1.123456")}}, start, start + timedelta(days=1)).to_json()
    assert data["limits"][0] == {
        "scope": "a",
        "month": "2026-10",
        "limit_usd": "1.00",
        "reached_on": "2026-10-01",
        "blocked_days": ["2026-10-01"],
        "refused_usd": "0.123456",
    }
    assert data["totals"]["spend_usd"] == "1.00"


def test_a_replay_of_no_days_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one day"):
        simulate(BillingConfig(), {}, date(2026, 10, 1), date(2026, 10, 1))


def test_negative_adjustments_are_left_out() -> None:
    billing = _config(projects={"a": {"project_id": "proj_a", "monthly_limit_usd": 10}})
    start = date(2026, 10, 1)
    costs = {start: {"proj_a": D(8)}, start + timedelta(days=1): {"proj_a": D(-5), "proj_b": D(1)}}
    sim = simulate(billing, costs, start, start + timedelta(days=2))
    assert [d.month_to_date_usd for d in sim.spend["a"]] == [8, 8]
    assert sim.totals.demand_usd == 9


def test_a_key_limit_refuses_that_key_s_spend_first_and_the_project_limit_then_applies_to_the_rest() -> None:
    billing = _config(
        projects={
            "a": {
                "project_id": "proj_a",
                "monthly_limit_usd": 50,
                "api_keys": {"key_1": {"monthly_limit_usd": 25}, "key_2": {}},
            }
        }
    )
    start = date(2026, 10, 1)
    day = [start + timedelta(days=i) for i in range(5)]
    a_day: dict[str | ApiKeySpend | None, Decimal] = {
        ApiKeySpend("proj_a", "key_1"): D(10),
        ApiKeySpend(None, "key_2"): D(5),  # no project in the costs: the key's configured project
        "proj_a": D(2),  # spend made with no key: no key limit applies
    }
    sim = simulate(billing, dict.fromkeys(day, a_day), start, start + timedelta(days=5))

    assert sim.scopes == (ORGANIZATION, "a", "a/key_1", "a/key_2")
    # key_1: 10, 20, then 5 of 10 reach its 25 on day 3; days 4-5 refused in full by the key's limit
    assert [d.refused_usd for d in sim.spend["a/key_1"]] == [0, 0, 5, 10, 10]
    assert [d.month_to_date_usd for d in sim.spend["a/key_1"]] == [10, 20, 25, 25, 25]
    assert sim.limit_of("a/key_1") == (LimitOutcome("a/key_1", "2026-10", D(25), day[2], tuple(day[2:]), D(25)),)
    # a: 17, 17, 12 (5 + 5 + 2) make 46; day 4 asks 7 (key_1 has nothing left) with room for 4: key_2 keeps
    # 5 x 4/7 = 2.857143 (rounded to the micro-dollar), no key 2 x 4/7 = 1.142857; day 5's 7 is refused in full.
    # key_1's refused 10 a day is the key's, never counted again for the project.
    assert [d.spend_usd for d in sim.spend["a"]] == [17, 17, 12, 4, 0]
    assert [d.refused_usd for d in sim.spend["a"]] == [0, 0, 0, 3, 7]
    assert sim.limit_of("a") == (LimitOutcome("a", "2026-10", D(50), day[3], tuple(day[3:]), D(10)),)
    assert [d.spend_usd for d in sim.spend["a/key_2"]] == [5, 5, 5, D("2.857143"), 0]
    assert all(d.refused_usd == 0 for d in sim.spend["a/key_2"]), "key_2 has no limit: the project refused it"
    assert sim.limit_of("a/key_2") == ()
    assert sim.totals.demand_usd == 5 * 17
    assert sim.totals.refused_usd == 25 + 10 and sim.totals.spend_usd == 50
    assert sim.notes == ()


def test_key_limits_with_costs_not_grouped_by_key_refuse_nothing_and_say_so() -> None:
    billing = _config(projects={"a": {"project_id": "proj_a", "api_keys": {"key_1": {"monthly_limit_usd": 1}}}})
    start = date(2026, 10, 1)
    sim = simulate(billing, _every_day(start, 3, proj_a=10), start, start + timedelta(days=3))
    assert sim.notes == (NOT_BY_KEY,)
    assert sim.totals.refused_usd == 0 and sim.spend["a"][-1].month_to_date_usd == 30
    assert all(d.spend_usd == 0 for d in sim.spend["a/key_1"])
    assert sim.limit_of("a/key_1") == (LimitOutcome("a/key_1", "2026-10", D(1), None, (), D(0)),)
    without_limits = _config(projects={"a": {"project_id": "proj_a", "api_keys": {"key_1": {}}}})
    assert simulate(without_limits, _every_day(start, 3, proj_a=10), start, start + timedelta(days=3)).notes == ()
