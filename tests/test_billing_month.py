"""A simulated month of usage yields the alerts, enforcement day, reloads (stopping at the monthly limit) and
balance that the test computes independently, with plain arithmetic, from the rules of the contract."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from conftest import Api

DAY = 86400
START = int(datetime(2026, 12, 1, tzinfo=timezone.utc).timestamp())
JANUARY = int(datetime(2027, 1, 1, tzinfo=timezone.utc).timestamp())
YEAR = 365 * DAY
ORG = "organization"
PURCHASE_CENTS = 10000
THRESHOLD, TARGET, MONTHLY_RELOADS = 4000, 10000, 13000
LIMITS_USD = {ORG: Decimal(200), "other": Decimal(40)}
DAILY_USD = {"team": Decimal("8.125"), "other": Decimal("3.3333")}
ALERTS_USD = [(ORG, 100), (ORG, 150), ("team", 120), ("other", 25)]
REFUSALS = {ORG: "organization_spend_limit_exceeded", "other": "project_spend_limit_exceeded"}


@dataclass
class Expected:
    """What the contract says the month yields, computed here without the sandbox."""

    refused: list[tuple[int, str, str]] = field(default_factory=list)
    fired: dict[tuple[int, str], tuple[int, Decimal]] = field(default_factory=dict)
    """(alert index, month) -> (timestamp of the record that fired it, the scope's spend then)."""
    reloads: list[tuple[int, str, int]] = field(default_factory=list)
    blocked: list[int] = field(default_factory=list)
    balance_cents: Decimal = Decimal(PURCHASE_CENTS)
    reloaded: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    balance_after: dict[str, Decimal] = field(default_factory=dict)


def month_of(timestamp: int) -> str:
    return "2027-01" if timestamp >= JANUARY else "2026-12"


def records() -> list[tuple[int, str, int]]:
    """(day, project, timestamp): every day of December, then January 1st; team at 10:00, other at 15:00."""
    return [
        (day, name, START + day * DAY + hour * 3600)
        for day in range(32)
        for name, hour in (("team", 10), ("other", 15))
    ]


def simulate() -> Expected:
    """The contract's rules record by record: refuse once a limit is reached, else spend, consume credit (one
    pool: no grant expires within these 32 days), fire each alert once a month, reload unless over the limit."""
    out = Expected()
    spend: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for day, name, timestamp in records():
        month, amount = month_of(timestamp), DAILY_USD[name]
        over = [scope for scope in (ORG, name) if scope in LIMITS_USD and spend[month, scope] >= LIMITS_USD[scope]]
        if over:
            out.refused.append((day, name, REFUSALS[over[0]]))
            continue
        spend[month, ORG] += amount
        spend[month, name] += amount
        out.balance_cents = max(Decimal(0), out.balance_cents - amount * 100)
        for index, (scope, dollars) in enumerate(ALERTS_USD):
            if scope in (ORG, name) and spend[month, scope] >= dollars and (index, month) not in out.fired:
                out.fired[index, month] = (timestamp, spend[month, scope])
        if out.balance_cents < THRESHOLD:
            reload = math.ceil(TARGET - out.balance_cents)
            if out.reloaded[month] + reload <= MONTHLY_RELOADS:
                out.reloaded[month] += reload
                out.balance_cents += reload
                out.reloads.append((day, name, reload))
            else:
                out.blocked.append(day)
        out.balance_after[month] = out.balance_cents
    return out


def limit(dollars: Decimal) -> dict[str, Any]:
    return {"threshold_amount": int(dollars * 100), "currency": "USD", "interval": "month"}


def alert(dollars: int, recipient: str) -> dict[str, Any]:
    channel = {"type": "email", "recipients": [recipient], "subject_prefix": f"[{dollars}]"}
    return {"threshold_amount": dollars * 100, "currency": "USD", "interval": "month", "notification_channel": channel}


def at(api: Api, timestamp: int) -> None:
    api.post("sandbox/clock", {"now": timestamp})


def test_a_simulated_month_matches_the_figures_computed_here(api: Api) -> None:
    expected = simulate()
    assert len([r for r in expected.reloads if r[0] < 31]) == 2 and expected.blocked, "the limit stops reloads"
    assert {code for *_, code in expected.refused} == set(REFUSALS.values())
    assert expected.balance_after["2026-12"] > 0

    at(api, START)
    projects = {"team": api.project("team"), "other": api.project("other")}
    scope_ids = {ORG: None, **projects}
    card = api.attach("pm_card_visa")
    api.set_default(card)
    purchase = {"amount": PURCHASE_CENTS, "currency": "USD", "payment_method_id": None}
    api.post("organization/billing/credit_purchases", purchase, headers={"Idempotency-Key": "december"})
    api.set_policy(
        balance_threshold_amount=THRESHOLD, target_balance_amount=TARGET, monthly_reload_limit_amount=MONTHLY_RELOADS
    )
    api.post("organization/spend_limit", limit(LIMITS_USD[ORG]))
    api.post(f"organization/projects/{projects['other']}/spend_limit", limit(LIMITS_USD["other"]))
    alert_ids = []
    for scope, dollars in ALERTS_USD:
        path = "organization/spend_alerts" if scope == ORG else f"organization/projects/{projects[scope]}/spend_alerts"
        alert_ids.append(api.post(path, alert(dollars, f"{scope}@example.com"))["id"])

    refused, fired, reloads = [], {}, []
    month_ends = {"2026-12": JANUARY - 1, "2027-01": JANUARY + DAY - 1}
    for month, month_end in month_ends.items():
        for day, name, timestamp in records():
            if month_of(timestamp) != month:
                continue
            body = {"project_id": projects[name], "amount_usd": str(DAILY_USD[name]), "timestamp": timestamp}
            response = api.http.post("sandbox/usage", json=body)
            if response.status_code == 429:
                error = response.json()["error"]
                assert error["type"] == "insufficient_quota"
                refused.append((day, name, error["code"]))
                continue
            assert response.status_code == 200, response.text
            answer = response.json()
            assert (answer["object"], answer["timestamp"], answer["amount_usd"]) == (
                "sandbox.usage",
                timestamp,
                body["amount_usd"],
            )
            for notification in answer["notifications"]:
                key = (alert_ids.index(notification["alert_id"]), notification["month"])
                fired[key] = (notification["created_at"], Decimal(notification["spend_usd"]))
            if answer["reload"] is not None:
                assert answer["reload"]["created_at"] == timestamp and answer["reload"]["status"] == "succeeded"
                reloads.append((day, name, answer["reload"]["amount"]))
        at(api, month_end)
        assert api.billing("credit_balance")["available_amount"] == math.floor(expected.balance_after[month]), month
        assert api.billing("auto_reload")["reloaded_this_month_amount"] == expected.reloaded[month], month
        statuses = [
            api.get(path)["enforcement"]["status"]
            for path in ("organization/spend_limit", f"organization/projects/{projects['other']}/spend_limit")
        ]
        assert statuses == ["enforcing"] * 2, "a limit in force (reaching it is what refused shows)"

    assert refused == expected.refused
    assert fired == expected.fired
    assert reloads == expected.reloads

    notifications = api.get("sandbox/notifications")["data"]
    assert [(alert_ids.index(n["alert_id"]), n["month"]) for n in notifications] == list(expected.fired)
    for n in notifications:
        index = alert_ids.index(n["alert_id"])
        scope, dollars = ALERTS_USD[index]
        assert (n["object"], n["project_id"], n["threshold_amount"]) == (
            "sandbox.notification",
            scope_ids[scope],
            dollars * 100,
        )
        assert (n["recipients"], n["subject_prefix"]) == ([f"{scope}@example.com"], f"[{dollars}]")
        assert (n["created_at"], Decimal(n["spend_usd"])) == expected.fired[index, n["month"]]

    charges = api.billing("charges", limit=100)["data"]
    assert [(c["reason"], c["amount"], c["status"]) for c in charges] == [
        ("credit_purchase", PURCHASE_CENTS, "succeeded"),
        *(("auto_reload", amount, "succeeded") for *_, amount in expected.reloads),
    ]
    assert all(c["payment_method_id"] == card and c["currency"] == "USD" for c in charges)
    invoices = api.billing("invoices", limit=100)["data"]
    assert [(i["charge_id"], i["amount"], i["status"]) for i in invoices] == [
        (c["id"], c["amount"], "paid") for c in charges
    ]
    grants = api.state()["credit_grants"]
    assert [(g["source"], g["amount"]) for g in grants] == [("purchase", PURCHASE_CENTS)] + [
        ("auto_reload", amount) for *_, amount in expected.reloads
    ]
    assert all(g["expires_at"] == g["created_at"] + YEAR for g in grants)


def usage(api: Api, project_id: str, timestamp: int, amount: str = "1.50") -> dict[str, Any]:
    return api.post("sandbox/usage", {"project_id": project_id, "amount_usd": amount, "timestamp": timestamp})


def test_three_declined_reloads_disable_the_policy_and_a_good_card_rearms_it(api: Api) -> None:
    at(api, START)
    team = api.project("team")
    declined = api.attach("pm_card_chargeDeclined")
    api.set_default(declined)
    purchase = api.http.post(
        "organization/billing/credit_purchases",
        json={"amount": 5000, "currency": "USD", "payment_method_id": None},
        headers={"Idempotency-Key": "never-bought"},
    )
    assert purchase.status_code == 402 and purchase.json()["error"]["code"] == "card_declined"
    api.set_policy()

    failures = []
    for day in range(3):
        reload = usage(api, team, START + day * DAY)["reload"]
        assert (reload["status"], reload["failure_code"], reload["reason"]) == (
            "failed",
            "card_declined",
            "auto_reload",
        )
        assert (reload["amount"], reload["payment_method_id"], reload["purchase_id"]) == (10000, declined, None)
        policy = api.billing("auto_reload")
        failures.append((policy["consecutive_failures"], policy["enabled"], policy["disabled_reason"]))
    assert failures == [(1, True, None), (2, True, None), (3, False, "payment_failed")]
    assert usage(api, team, START + 3 * DAY)["reload"] is None, "a disabled policy charges nothing"
    assert api.billing("invoices")["data"] == [] and api.billing("credit_balance")["grants"] == []
    assert [c["status"] for c in api.billing("charges")["data"]] == ["failed"] * 4, "the purchase and three reloads"
    assert api.billing("auto_reload")["reloaded_this_month_amount"] == 0

    good = api.attach("pm_card_visa")
    api.set_default(good)
    rearmed = api.set_policy()
    assert (rearmed["enabled"], rearmed["consecutive_failures"], rearmed["disabled_reason"]) == (True, 0, None)
    reload = usage(api, team, START + 4 * DAY)["reload"]
    assert (reload["status"], reload["amount"], reload["payment_method_id"]) == ("succeeded", 10000, good)
    at(api, START + 4 * DAY)
    assert api.billing("credit_balance")["available_amount"] == 10000
    assert api.billing("auto_reload")["reloaded_this_month_amount"] == 10000


def test_a_successful_reload_resets_the_failure_count(api: Api) -> None:
    at(api, START)
    team = api.project("team")
    declined = api.attach("pm_card_chargeDeclined")
    api.set_default(declined)
    api.set_policy()
    for day in range(2):
        assert usage(api, team, START + day)["reload"]["status"] == "failed"
    assert api.billing("auto_reload")["consecutive_failures"] == 2
    api.set_default(api.attach("pm_card_mastercard"))
    assert usage(api, team, START + 2)["reload"]["status"] == "succeeded"
    policy = api.billing("auto_reload")
    assert (policy["consecutive_failures"], policy["enabled"]) == (0, True), "the policy was never re-posted"


def test_credit_expires_a_year_after_it_was_bought(api: Api) -> None:
    at(api, START)
    team = api.project("team")
    api.set_default(api.attach("pm_card_amex"))
    bought = api.post(
        "organization/billing/credit_purchases",
        {"amount": 1000, "currency": "USD", "payment_method_id": None},
        headers={"Idempotency-Key": "expiring"},
    )
    assert bought["expires_at"] == START + YEAR
    at(api, START + YEAR - 1)
    assert api.billing("credit_balance")["available_amount"] == 1000
    at(api, START + YEAR)
    assert api.billing("credit_balance") == {
        "object": "organization.billing.credit_balance",
        "available_amount": 0,
        "currency": "USD",
        "grants": [],
    }
    usage(api, team, START + YEAR, "4")
    assert api.state()["credit_grants"][0]["remaining_amount"] == 1000, "usage after expiry does not touch it"
