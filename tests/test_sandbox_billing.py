"""The sandbox's billing extension over real HTTP: the contract's paths, errors and the account's behaviour
through a simulated month (figures computed here, independently of the sandbox)."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import ADMIN_KEY, Api, policy_body
from pulumi_openai_billing.sandbox import Sandbox

CONTRACT = Path(__file__).resolve().parents[1] / "docs" / "billing-extension.md"
DAY = 86400
PURCHASES = "organization/billing/credit_purchases"


def error(response: httpx.Response) -> tuple[int, str | None, str | None]:
    body = response.json()["error"]
    assert set(body) == {"message", "type", "param", "code"}
    return response.status_code, body["code"], body["param"]


def buy(api: Api, key: str | None, amount: int, payment_method_id: str | None = None) -> httpx.Response:
    headers = {} if key is None else {"Idempotency-Key": key}
    body = {"amount": amount, "currency": "USD", "payment_method_id": payment_method_id}
    return api.http.post(PURCHASES, json=body, headers=headers)


def test_every_contract_path_is_served_and_nothing_else(api: Api) -> None:
    table = re.findall(r"^\| (GET|POST|DELETE) \| `(/organization/billing/[^`]*)` \|", CONTRACT.read_text(), re.M)
    documented = {(method, "/v1" + path) for method, path in table}
    served = {
        (method.upper(), path)
        for path, operations in api.get("sandbox/openapi.json")["paths"].items()
        if path.startswith("/v1/organization/billing")
        for method in operations
    }
    assert len(documented) == 17
    assert documented == served


def test_without_the_extension_its_paths_are_absent() -> None:
    with Sandbox(ADMIN_KEY, billing_extension=False, rate_limit="off") as bare:
        response = httpx.get(
            f"{bare.base_url}/organization/billing/capabilities", headers={"Authorization": f"Bearer {ADMIN_KEY}"}
        )
    assert error(response) == (404, None, None) and "Invalid URL" in response.json()["error"]["message"]


def test_payment_methods_attach_once_and_never_keep_a_token(api: Api) -> None:
    visa = api.post("organization/billing/payment_methods", {"token": "pm_card_visa"})
    assert (visa["brand"], visa["last4"], visa["type"], visa["is_default"]) == ("visa", "4242", "card", False)
    assert api.attach("pm_card_visa") == visa["id"], "attaching an attached token answers the same method"
    amex = api.post("organization/billing/payment_methods", {"token": "pm_card_amex"})
    assert (amex["brand"], amex["last4"]) == ("amex", "8431")
    api.set_default(amex["id"])
    assert api.billing(f"payment_methods/{amex['id']}")["is_default"] is True
    page = api.billing("payment_methods", limit=1)
    assert [m["id"] for m in page["data"]] == [visa["id"]] and page["has_more"] is True
    assert [m["id"] for m in api.billing("payment_methods", after=visa["id"])["data"]] == [amex["id"]]
    everything = str(api.state()) + str(api.requests())
    assert "pm_card_visa" not in everything and "pm_card_amex" not in everything


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"token": "4242 4242 4242 4242"}, (400, "card_number_refused", "token")),
        ({"token": "5555-5555-5555-4444"}, (400, "card_number_refused", "token")),
        ({"token": 4242424242424242}, (400, "invalid_value", "token")),
        ({"token": "pm_card_unknown"}, (400, "invalid_token", "token")),
        ({"token": "pm_card_visa", "number": "4242424242424242"}, (400, None, "number")),
    ],
)
def test_bad_payment_method_bodies_are_refused_without_echo(body: dict, expected: tuple, api: Api) -> None:
    before = api.state()
    response = api.http.post("organization/billing/payment_methods", json=body)
    assert error(response) == expected
    assert "4242" not in response.text and "4444" not in response.text and "pm_card_unknown" not in response.text
    assert api.state() == before


def test_purchases_are_kept_by_key_for_good(api: Api) -> None:
    card = api.attach("pm_card_visa")
    api.set_default(card)
    first = buy(api, "q4", 50000)
    assert first.status_code == 200
    purchase = first.json()
    assert (purchase["status"], purchase["granted_amount"], purchase["payment_method_id"]) == ("succeeded", 50000, card)
    assert purchase["expires_at"] == purchase["created_at"] + 365 * DAY
    assert buy(api, "q4", 50000).json() == purchase, "the same key and amount: the original, no new charge"
    before = api.state()
    assert error(buy(api, "q4", 60000)) == (409, "idempotency_key_reused", None)
    assert purchase["id"] in buy(api, "q4", 60000).json()["error"]["message"]
    assert error(buy(api, None, 50000)) == (400, "missing_required_parameter", "Idempotency-Key")
    assert error(buy(api, "bad key!", 50000)) == (400, "invalid_value", "Idempotency-Key")
    assert error(buy(api, "small", 499)) == (400, "invalid_value", "amount")
    assert error(buy(api, "nowhere", 1000, "pm_missing")) == (400, "payment_method_not_found", "payment_method_id")
    assert api.state() == before
    assert [c["amount"] for c in api.charges()] == [50000]
    (invoice,) = api.billing("invoices")["data"]
    assert (invoice["amount"], invoice["purchase_id"], invoice["status"]) == (50000, purchase["id"], "paid")
    assert api.billing(f"credit_purchases/{purchase['id']}") == purchase
    assert error(api.http.get(f"{PURCHASES}/cp_missing")) == (404, "credit_purchase_not_found", None)


def test_a_declined_purchase_keeps_its_key_free(api: Api) -> None:
    declined = api.attach("pm_card_chargeDeclined")
    assert error(buy(api, "retry-me", 2000, declined)) == (402, "card_declined", None)
    assert api.billing("credit_purchases")["data"] == [] and len(api.charges("failed")) == 1
    good = api.attach("pm_card_visa")
    assert buy(api, "retry-me", 2000, good).status_code == 200
    assert error(buy(api, "no-method", 2000)) == (400, "payment_method_required", "payment_method_id")


def test_policy_rules_and_payment_methods_in_use(api: Api) -> None:
    card = api.attach("pm_card_visa")
    assert api.http.get("organization/billing/auto_reload").status_code == 404
    bad = api.http.post(
        "organization/billing/auto_reload",
        json={
            "enabled": True,
            "balance_threshold_amount": 2000,
            "target_balance_amount": 2400,
            "monthly_reload_limit_amount": 30000,
            "currency": "USD",
        },
    )
    assert error(bad) == (400, "invalid_value", "target_balance_amount")
    no_method = api.http.post("organization/billing/auto_reload", json=_policy())
    assert error(no_method) == (400, "payment_method_required", "payment_method_id")
    api.set_default(card)
    policy = api.set_policy()
    assert (policy["reloaded_this_month_amount"], policy["consecutive_failures"], policy["disabled_reason"]) == (
        0,
        0,
        None,
    )
    assert error(api.http.delete(f"organization/billing/payment_methods/{card}")) == (
        409,
        "payment_method_in_use",
        None,
    )
    assert error(api.http.delete("organization/billing/default_payment_method")) == (409, "payment_method_in_use", None)
    api.set_policy(enabled=False)
    assert api.http.delete("organization/billing/default_payment_method").json()["payment_method_id"] is None
    api.set_policy(enabled=False, payment_method_id=card)
    assert error(api.http.delete(f"organization/billing/payment_methods/{card}")) == (
        409,
        "payment_method_in_use",
        None,
    )
    assert api.http.delete("organization/billing/auto_reload").json()["deleted"] is True
    assert api.http.delete(f"organization/billing/payment_methods/{card}").json()["deleted"] is True
    assert error(api.http.get(f"organization/billing/payment_methods/{card}")) == (
        404,
        "payment_method_not_found",
        None,
    )


def _policy(**fields: Any) -> dict[str, Any]:
    """The month test's policy: at most 250 USD of reloads a month."""
    return policy_body(**{"monthly_reload_limit_amount": 25000, **fields})


# -- a simulated month -------------------------------------------------------------------------------------


def test_a_month_of_usage_fires_alerts_enforces_the_limit_and_reloads_within_its_bound(api: Api) -> None:
    start = int(datetime(2026, 12, 1, tzinfo=timezone.utc).timestamp())
    api.post("sandbox/clock", {"now": start})
    team = api.project("team-a")
    card = api.attach("pm_card_visa")
    api.set_default(card)
    assert buy(api, "december-preload", 10000).status_code == 200
    api.post("organization/billing/auto_reload", _policy())
    api.set_limit(400)
    alert_body = {
        "currency": "USD",
        "interval": "month",
        "notification_channel": {"type": "email", "recipients": ["f@example.com"]},
    }
    org_100 = api.post("organization/spend_alerts", {"threshold_amount": 10000, **alert_body})["id"]
    org_300 = api.post("organization/spend_alerts", {"threshold_amount": 30000, **alert_body})["id"]
    team_250 = api.post(f"organization/projects/{team}/spend_alerts", {"threshold_amount": 25000, **alert_body})["id"]

    # The same month, computed here: 15 USD a day; reload below 20 up to 100, at most 250 a month.
    daily = Decimal(15)
    spend, balance, reloaded = Decimal(0), Decimal(100), Decimal(0)
    fired: dict[str, int] = {}
    reloads: list[tuple[int, int]] = []
    first_refused = None
    for day in range(31):
        if spend >= 400:
            first_refused = day if first_refused is None else first_refused
            continue
        spend += daily
        balance = max(Decimal(0), balance - daily)
        for alert_id, threshold, scope_spend in ((org_100, 100, spend), (org_300, 300, spend), (team_250, 250, spend)):
            if scope_spend >= threshold:
                fired.setdefault(alert_id, day)
        if balance < 20 and reloaded + (100 - balance) <= 250:
            reloads.append((day, int((100 - balance) * 100)))
            reloaded += 100 - balance
            balance = Decimal(100)
    assert (first_refused, fired, reloads) == (27, {org_100: 6, team_250: 16, org_300: 19}, [(5, 9000), (11, 9000)])

    refused = []
    for day in range(31):
        response = api.http.post(
            "sandbox/usage", json={"project_id": team, "amount_usd": "15", "timestamp": start + day * DAY + 3600}
        )
        if response.status_code == 429:
            assert error(response) == (429, "organization_spend_limit_exceeded", None)
            refused.append(day)
        else:
            assert response.status_code == 200
    assert refused == list(range(first_refused, 31))
    notifications = api.get("sandbox/notifications")["data"]
    assert {n["alert_id"]: (n["created_at"] - start) // DAY for n in notifications} == fired
    assert all(n["month"] == "2026-12" for n in notifications)
    charges = [c for c in api.charges() if c["reason"] == "auto_reload"]
    assert [((c["created_at"] - start) // DAY, c["amount"]) for c in charges] == reloads
    api.post("sandbox/clock", {"now": start + 30 * DAY})
    assert api.billing("credit_balance")["available_amount"] == int(balance * 100)
    assert api.billing("auto_reload")["reloaded_this_month_amount"] == int(reloaded * 100)
    assert api.get("organization/spend_limit")["enforcement"]["status"] == "enforcing"
    assert len(api.billing("invoices")["data"]) == 1 + len(reloads)


def test_three_declined_reloads_disable_auto_reload(api: Api) -> None:
    team = api.project("team-a")
    declined = api.attach("pm_card_chargeDeclined")
    api.post("organization/billing/auto_reload", _policy(payment_method_id=declined))
    attempts = []
    for _ in range(4):
        attempts.append(api.post("sandbox/usage", {"project_id": team, "amount_usd": "1"})["reload"])
    assert [a and (a["status"], a["failure_code"]) for a in attempts] == [("failed", "card_declined")] * 3 + [None]
    policy = api.billing("auto_reload")
    assert (policy["enabled"], policy["disabled_reason"], policy["consecutive_failures"]) == (
        False,
        "payment_failed",
        3,
    )
    api.post("organization/billing/auto_reload", _policy(payment_method_id=declined))
    assert api.billing("auto_reload")["consecutive_failures"] == 0, "posting a policy re-arms it"
