"""The sandbox's billing ledger over real HTTP, beyond the happy paths: the clock, the default payment method,
refused bodies that change nothing, list paging, exact credit consumption, and no token or card number left
in any answer, the state or the request log."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

import httpx
import pytest

from conftest import Api, policy_body

DAY = 86400
START = int(datetime(2026, 12, 1, tzinfo=timezone.utc).timestamp())
BILLING = "organization/billing"
ISSUED_LOOKING = "pm_" + "Z" * 24
CARD_NUMBERS = ["4242424242424242", "4242 4242 4242 4242", "5555-5555-5555-4444", "378282246310005"]
TOKENS = ["pm_card_visa", "pm_card_mastercard", "pm_card_amex", "pm_card_visa_debit", "pm_card_chargeDeclined"]


def failure(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["x-request-id"].startswith("req_")
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}
    return body["error"]


def purchase(api: Api, key: str, amount: int, payment_method_id: str | None = None) -> httpx.Response:
    body = {"amount": amount, "currency": "USD", "payment_method_id": payment_method_id}
    return api.http.post(f"{BILLING}/credit_purchases", json=body, headers={"Idempotency-Key": key})


def at(api: Api, timestamp: int) -> None:
    api.post("sandbox/clock", {"now": timestamp})


def usage(api: Api, project_id: str, amount: str, timestamp: int) -> dict[str, Any]:
    return api.post("sandbox/usage", {"project_id": project_id, "amount_usd": amount, "timestamp": timestamp})


# -- capabilities and the clock ----------------------------------------------------------------------------


def test_capabilities_name_every_part(api: Api) -> None:
    assert api.billing("capabilities") == {
        "object": "organization.billing.capabilities",
        "version": 1,
        "capabilities": ["payment_methods", "auto_reload", "credit_purchases", "credit_balance", "invoices"],
    }


def test_the_clock_freezes_moves_and_returns_to_real_time(api: Api) -> None:
    real = api.get("sandbox/clock")
    assert (real["object"], real["frozen"], type(real["now"])) == ("sandbox.clock", False, int)
    assert api.state()["clock"] == {"object": "sandbox.clock", "now": None, "frozen": False}

    assert api.post("sandbox/clock", {"now": START}) == {"object": "sandbox.clock", "now": START, "frozen": True}
    assert api.post("sandbox/clock", {"advance_seconds": 90}) == {
        "object": "sandbox.clock",
        "now": START + 90,
        "frozen": True,
    }
    assert api.get("sandbox/clock")["now"] == START + 90, "a frozen clock stands still"
    team = api.project("team")
    assert api.get(f"organization/projects/{team}")["created_at"] == START + 90
    assert api.post("sandbox/usage", {"project_id": team, "amount_usd": "2"})["timestamp"] == START + 90
    costs = api.get("organization/costs", start_time=START)
    assert [b["start_time"] for b in costs["data"]] == [START], "end_time defaults to the clock"
    card = api.post(f"{BILLING}/payment_methods", {"token": "pm_card_visa"})
    assert (card["created_at"], card["exp_month"], card["exp_year"]) == (START + 90, 12, 2030)

    before = api.state()
    assert before["clock"] == {"object": "sandbox.clock", "now": START + 90, "frozen": True}
    for body, param in [
        ({}, None),
        ({"now": -1}, "now"),
        ({"advance_seconds": "5"}, "advance_seconds"),
        ({"at": 1}, "at"),
    ]:
        assert failure(api.http.post("sandbox/clock", json=body), 400)["param"] == param
    assert api.state() == before

    thawed = api.http.delete("sandbox/clock").json()
    assert thawed["frozen"] is False and thawed["now"] != START + 90
    moved = api.post("sandbox/clock", {"advance_seconds": 3600})
    assert moved["frozen"] is True and moved["now"] >= thawed["now"] + 3600


# -- payment methods and the default ---------------------------------------------------------------------


def test_the_default_follows_set_clear_and_detach(api: Api) -> None:
    assert api.billing("default_payment_method") == {
        "object": "organization.billing.default_payment_method",
        "payment_method_id": None,
    }
    visa, master = api.attach("pm_card_visa"), api.attach("pm_card_mastercard")
    api.set_default(visa)
    assert [(m["id"], m["is_default"]) for m in api.billing("payment_methods")["data"]] == [
        (visa, True),
        (master, False),
    ]
    api.set_default(master)
    assert [m["is_default"] for m in api.billing("payment_methods")["data"]] == [False, True]
    assert api.http.delete(f"{BILLING}/default_payment_method").json()["payment_method_id"] is None
    assert api.http.delete(f"{BILLING}/default_payment_method").json()["payment_method_id"] is None, "idempotent"

    api.set_default(master)
    detached = api.http.delete(f"{BILLING}/payment_methods/{master}").json()
    assert detached == {"id": master, "object": "organization.billing.payment_method.deleted", "deleted": True}
    assert api.billing("default_payment_method")["payment_method_id"] is None, "detaching the default clears it"
    assert failure(api.http.delete(f"{BILLING}/payment_methods/{master}"), 404)["code"] == "payment_method_not_found"
    assert failure(api.http.delete(f"{BILLING}/auto_reload"), 404)["code"] == "auto_reload_not_found"

    again = api.post(f"{BILLING}/payment_methods", {"token": "pm_card_mastercard"})
    assert again["id"] != master and again["last4"] == "4444", "a detached token attaches as a new method"


def test_fingerprints_follow_the_card_not_the_attachment(api: Api) -> None:
    first = api.post(f"{BILLING}/payment_methods", {"token": "pm_card_visa"})
    api.http.delete(f"{BILLING}/payment_methods/{first['id']}")
    second = api.post(f"{BILLING}/payment_methods", {"token": "pm_card_visa"})
    debit = api.post(f"{BILLING}/payment_methods", {"token": "pm_card_visa_debit"})
    assert second["id"] != first["id"] and second["fingerprint"] == first["fingerprint"]
    assert (debit["brand"], debit["last4"]) == ("visa", "5556") and debit["fingerprint"] != first["fingerprint"]
    declined = api.post(f"{BILLING}/payment_methods", {"token": "pm_card_chargeDeclined"})
    assert (declined["brand"], declined["last4"], declined["type"]) == ("visa", "0002", "card")


def test_unknown_ids_are_echoed_only_when_shaped_like_issued_ones(api: Api) -> None:
    api.set_default(api.attach("pm_card_visa"))
    for value in ["pm_card_visa", "4242424242424242", ISSUED_LOOKING]:
        for response, status, param in [
            (
                api.http.post(f"{BILLING}/default_payment_method", json={"payment_method_id": value}),
                400,
                "payment_method_id",
            ),
            (purchase(api, "k", 1000, value), 400, "payment_method_id"),
            (
                api.http.post(f"{BILLING}/auto_reload", json=policy_body(payment_method_id=value)),
                400,
                "payment_method_id",
            ),
        ]:
            error = failure(response, status)
            assert (error["code"], error["param"]) == ("payment_method_not_found", param)
            assert (value in error["message"]) is (value == ISSUED_LOOKING)
    error = failure(api.http.get(f"{BILLING}/payment_methods/{ISSUED_LOOKING}"), 404)
    assert ISSUED_LOOKING in error["message"] and error["param"] is None


# -- refused bodies change nothing ------------------------------------------------------------------------


def _without(body: dict[str, Any], name: str) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != name}


PURCHASE = {"amount": 1000, "currency": "USD", "payment_method_id": None}
BAD = [
    (
        "policy no enabled",
        "auto_reload",
        _without(policy_body(), "enabled"),
        None,
        "enabled",
        "missing_required_parameter",
    ),
    ("policy string bool", "auto_reload", policy_body(enabled="true"), None, "enabled", "invalid_value"),
    (
        "policy negative",
        "auto_reload",
        policy_body(balance_threshold_amount=-1),
        None,
        "balance_threshold_amount",
        "invalid_value",
    ),
    (
        "policy float",
        "auto_reload",
        policy_body(target_balance_amount=10000.0),
        None,
        "target_balance_amount",
        "invalid_value",
    ),
    (
        "policy narrow",
        "auto_reload",
        policy_body(target_balance_amount=2499),
        None,
        "target_balance_amount",
        "invalid_value",
    ),
    (
        "policy small limit",
        "auto_reload",
        policy_body(monthly_reload_limit_amount=499),
        None,
        "monthly_reload_limit_amount",
        "invalid_value",
    ),
    ("policy euro", "auto_reload", policy_body(currency="EUR"), None, "currency", "invalid_value"),
    ("policy extra", "auto_reload", policy_body(name="x"), None, "name", None),
    ("default missing", "default_payment_method", {}, None, "payment_method_id", "missing_required_parameter"),
    ("default extra", "default_payment_method", {"payment_method_id": "x", "why": 1}, None, "why", None),
    ("token empty", "payment_methods", {"token": ""}, None, "token", "invalid_value"),
    ("token missing", "payment_methods", {}, None, "token", "missing_required_parameter"),
    ("token unknown", "payment_methods", {"token": "pm_card_gold"}, None, "token", "invalid_token"),
    ("purchase no key", "credit_purchases", PURCHASE, {}, "Idempotency-Key", "missing_required_parameter"),
    (
        "purchase long key",
        "credit_purchases",
        PURCHASE,
        {"Idempotency-Key": "k" * 256},
        "Idempotency-Key",
        "invalid_value",
    ),
    (
        "purchase card key",
        "credit_purchases",
        PURCHASE,
        {"Idempotency-Key": "4242-4242-4242-4242"},
        "Idempotency-Key",
        "card_number_refused",
    ),
    (
        "purchase small",
        "credit_purchases",
        {**PURCHASE, "amount": 499},
        {"Idempotency-Key": "k"},
        "amount",
        "invalid_value",
    ),
    (
        "purchase huge",
        "credit_purchases",
        {**PURCHASE, "amount": 1_000_000_001},
        {"Idempotency-Key": "k"},
        "amount",
        "invalid_value",
    ),
    (
        "purchase float",
        "credit_purchases",
        {**PURCHASE, "amount": 1000.0},
        {"Idempotency-Key": "k"},
        "amount",
        "invalid_value",
    ),
    (
        "purchase euro",
        "credit_purchases",
        {**PURCHASE, "currency": "EUR"},
        {"Idempotency-Key": "k"},
        "currency",
        "invalid_value",
    ),
    ("purchase extra", "credit_purchases", {**PURCHASE, "card": "x"}, {"Idempotency-Key": "k"}, "card", None),
]


@pytest.mark.parametrize(("path", "body", "headers", "param", "code"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_billing_bodies_are_400_naming_the_field_and_change_nothing(
    api: Api, path: str, body: dict[str, Any], headers: dict[str, str] | None, param: str, code: str | None
) -> None:
    at(api, START)
    card = api.attach("pm_card_visa")
    api.set_default(card)
    api.set_policy(payment_method_id=card)
    before = api.state()
    error = failure(api.http.post(f"{BILLING}/{path}", json=body, headers=headers), 400)
    assert (error["param"], error["code"], error["type"]) == (param, code, "invalid_request_error")
    assert "4242" not in error["message"] and "pm_card_gold" not in error["message"]
    assert api.state() == before


def test_a_declined_purchase_names_no_purchase_and_the_key_stays_free(api: Api) -> None:
    at(api, START)
    declined = api.attach("pm_card_chargeDeclined")
    api.set_default(declined)
    error = failure(purchase(api, "q1", 2500), 402)
    assert (error["code"], error["type"]) == ("card_declined", "card_error")
    (charge,) = api.billing("charges")["data"]
    assert (charge["status"], charge["failure_code"], charge["purchase_id"], charge["reason"]) == (
        "failed",
        "card_declined",
        None,
        "credit_purchase",
    )
    assert api.state()["credit_purchases"] == [] and api.billing("invoices")["data"] == []
    api.set_default(api.attach("pm_card_visa"))
    bought = purchase(api, "q1", 2500).json()
    assert bought["status"] == "succeeded"
    assert purchase(api, "q1", 2500).json() == bought
    assert [c["status"] for c in api.billing("charges")["data"]] == ["failed", "succeeded"]
    assert failure(purchase(api, "q1", 2600), 409)["message"].count(bought["id"]) == 1


# -- lists -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["credit_purchases", "charges", "invoices", "payment_methods"])
def test_lists_page_in_creation_order_and_refuse_unknown_cursors(api: Api, path: str) -> None:
    at(api, START)
    for token in TOKENS[:3]:
        api.attach(token)
    methods = [m["id"] for m in api.billing("payment_methods")["data"]]
    for index, method in enumerate(methods):
        purchase(api, f"key-{index}", 500 + index, method)
    ids = [row["id"] for row in api.billing(path, limit=100)["data"]]
    assert len(ids) == 3
    first = api.billing(path, limit=2)
    assert ([r["id"] for r in first["data"]], first["first_id"], first["last_id"], first["has_more"]) == (
        ids[:2],
        ids[0],
        ids[1],
        True,
    )
    rest = api.billing(path, limit=2, after=first["last_id"])
    assert ([r["id"] for r in rest["data"]], rest["has_more"]) == (ids[2:], False)
    assert api.billing(path, after=ids[2]) == {
        "object": "list",
        "data": [],
        "first_id": None,
        "last_id": None,
        "has_more": False,
    }
    for params, param in [({"after": "nope_123"}, "after"), ({"limit": 0}, "limit"), ({"limit": 101}, "limit")]:
        assert failure(api.http.get(f"{BILLING}/{path}", params=params), 400)["param"] == param


# -- credit consumption ------------------------------------------------------------------------------------


def test_credit_is_consumed_oldest_first_to_the_fraction_of_a_cent(api: Api) -> None:
    at(api, START)
    team = api.project("team")
    api.set_default(api.attach("pm_card_visa"))
    older = purchase(api, "older", 500).json()
    at(api, START + DAY)
    newer = purchase(api, "newer", 700).json()

    usage(api, team, "6.005", START + DAY)
    balance = api.billing("credit_balance")
    assert balance["available_amount"] == 599, "700 - 100.5 cents, rounded down"
    assert [(g["purchase_id"], g["amount"], g["remaining_amount"]) for g in balance["grants"]] == [
        (newer["id"], 700, 599)
    ], "the older grant is used up first and no longer listed"

    usage(api, team, "3", START + DAY - 1)
    assert api.billing("credit_balance")["available_amount"] == 599, "usage before a grant existed cannot use it"
    usage(api, team, "0.0049", START + DAY)
    assert api.billing("credit_balance")["available_amount"] == 599, "599.5 - 0.49 = 599.01"
    usage(api, team, "0.0002", START + DAY)
    assert api.billing("credit_balance")["available_amount"] == 598, "599.01 - 0.02 = 598.99"
    usage(api, team, "100", START + DAY)
    assert api.billing("credit_balance") == {
        "object": "organization.billing.credit_balance",
        "available_amount": 0,
        "currency": "USD",
        "grants": [],
    }
    grants = {g["purchase_id"]: g for g in api.state()["credit_grants"]}
    assert (grants[older["id"]]["remaining_amount"], grants[newer["id"]]["remaining_amount"]) == (0, 0)
    assert [u["amount_usd"] for u in api.state()["usage"]][-1] == "100", "usage beyond the credit is still recorded"


def test_usage_answers_with_what_it_fired(api: Api) -> None:
    at(api, START)
    team = api.project("team")
    channel = {"type": "email", "recipients": ["a@example.com"], "subject_prefix": None}
    body = {"threshold_amount": 0, "currency": "USD", "interval": "month", "notification_channel": channel}
    alert_id = api.post(f"organization/projects/{team}/spend_alerts", body)["id"]
    first = usage(api, team, "0.01", START + 5)
    assert first == {
        "object": "sandbox.usage",
        "project_id": team,
        "line_item": "completions",
        "amount_usd": "0.01",
        "timestamp": START + 5,
        "api_key_id": None,
        "notifications": [
            {
                "id": first["notifications"][0]["id"],
                "object": "sandbox.notification",
                "alert_id": alert_id,
                "project_id": team,
                "threshold_amount": 0,
                "month": "2026-12",
                "spend_usd": "0.01",
                "recipients": ["a@example.com"],
                "subject_prefix": None,
                "created_at": START + 5,
            }
        ],
        "reload": None,
    }
    assert usage(api, team, "1", START + 6)["notifications"] == [], "once a month"
    assert len(usage(api, team, "1", START + 31 * DAY)["notifications"]) == 1, "and again the next month"
    assert [n["month"] for n in api.get("sandbox/notifications")["data"]] == ["2026-12", "2027-01"]


# -- no token or card number anywhere ----------------------------------------------------------------------


def test_no_token_or_card_number_is_kept_or_echoed(api: Api) -> None:
    answers = []
    for token in TOKENS:
        answers.append(api.http.post(f"{BILLING}/payment_methods", json={"token": token}))
    for number in CARD_NUMBERS:
        refused = api.http.post(f"{BILLING}/payment_methods", json={"token": number})
        error = failure(refused, 400)
        assert (error["code"], error["param"]) == ("card_number_refused", "token")
        answers.append(refused)
        answers.append(api.http.post(f"{BILLING}/default_payment_method", json={"payment_method_id": number}))
        answers.append(api.http.post(f"{BILLING}/auto_reload", json=policy_body(payment_method_id=number)))
        key = number.replace(" ", "-")
        answers.append(purchase(api, key, 1000))
    for token in [*TOKENS, "pm_card_unknown"]:
        answers.append(api.http.post(f"{BILLING}/payment_methods", json={"token": token}))
        answers.append(api.http.post(f"{BILLING}/default_payment_method", json={"payment_method_id": token}))
        answers.append(purchase(api, "token-as-method", 1000, token))
    everything = "\n".join([*(a.text for a in answers), str(api.state()), str(api.requests())])
    for token in [*TOKENS, "pm_card_unknown"]:
        assert token not in everything
    joined = re.sub(r"[ -]", "", everything)
    for number in CARD_NUMBERS:
        assert re.sub(r"[ -]", "", number) not in joined
