"""Payment methods, the default, auto-reload and credit purchases in the real plugin server, against a sandbox
serving the billing extension (and one that does not)."""

from __future__ import annotations

import re
import time
from decimal import Decimal
from pathlib import Path

import pytest

from conftest import ADMIN_KEY, Api, Resource, fresh_plugin, plugin_config
from plugin_driver import Plugin, PluginError
from pulumi_openai_billing import get_billing_overview, get_costs, list_invoices
from pulumi_openai_billing.errors import ProviderError
from pulumi_openai_billing.sandbox import Sandbox
from pulumi_openai_billing.testing import DeploymentError, Stack
from test_program import write_program

POLICY = {"balance_threshold_usd": 20, "target_balance_usd": 100, "monthly_reload_limit_usd": 300}
PURCHASES = "/v1/organization/billing/credit_purchases"


# -- the capability probe -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "news", "what"),
    [
        ("PaymentMethod", {"token": "pm_card_visa"}, "payment methods are"),
        ("DefaultPaymentMethod", {"payment_method_id": "pm_x"}, "payment methods are"),
        ("CreditTopUpPolicy", POLICY, "credit top-up (auto-reload) policies are"),
        ("CreditPurchase", {"amount_usd": 50, "purchase_key": "k1"}, "credit purchases are"),
    ],
)
def test_without_the_extension_each_resource_fails_at_preview(kind: str, news: dict, what: str) -> None:
    with Sandbox(ADMIN_KEY, billing_extension=False, rate_limit="off") as bare, fresh_plugin(bare) as plugin:
        _, failures = Resource(plugin, kind).check(news)
    assert failures == [
        (
            "",
            f"{what} not available at {bare.base_url}: OpenAI has no public API for them; use the sandbox or a "
            "gateway that implements docs/billing-extension.md",
        )
    ]


# -- payment methods ----------------------------------------------------------------------------------------


def test_payment_method_and_default_lifecycle_with_drift(plugin: Plugin, api: Api) -> None:
    card = Resource(plugin, "PaymentMethod", "card")
    outs = card.create({"token": "pm_card_visa"})
    assert (outs["brand"], outs["last4"], outs["exp_month"]) == ("visa", "4242", 12)
    assert outs["payment_method_id"] == card.id and outs["fingerprint"] and "is_default" not in outs
    assert outs["token"] == "pm_card_visa" and outs["on_delete"] == "remove" and outs["schema_version"] == 1
    assert [m["id"] for m in api.billing("payment_methods")["data"]] == [card.id]

    default = Resource(plugin, "DefaultPaymentMethod", "default")
    default.create({"payment_method_id": card.id})
    assert default.id == "default_payment_method"
    assert api.billing("default_payment_method")["payment_method_id"] == card.id
    card.refresh()
    assert card.read()[1] == card.outputs, "which card is the default is DefaultPaymentMethod's, not the card's"

    other = api.attach("pm_card_mastercard")
    api.set_default(other)
    default.refresh()
    assert default.inputs["payment_method_id"] == other
    diff = default.diff({"payment_method_id": card.id})
    assert diff.changes is not False and diff.replaces == []
    default.update({"payment_method_id": card.id})
    assert api.billing("default_payment_method")["payment_method_id"] == card.id

    assert card.diff({"token": "pm_card_amex"}).replaces == ["token"]
    default.delete()
    assert api.billing("default_payment_method")["payment_method_id"] == card.id, "destroy keeps the default"
    card.delete()
    assert [m["id"] for m in api.billing("payment_methods")["data"]] == [other]
    assert card.read()[0] == "", "a detached method reads as gone"


def test_attaching_twice_keeps_one_method(plugin: Plugin, api: Api) -> None:
    first = Resource(plugin, "PaymentMethod", "a")
    first.create({"token": "pm_card_visa"})
    api.faults({"method": "POST", "path": "/v1/organization/billing/payment_methods", "kind": "drop_after_commit"})
    second = Resource(plugin, "PaymentMethod", "b")
    second.create({"token": "pm_card_mastercard"})
    assert len(api.billing("payment_methods")["data"]) == 2, "the lost answer was retried without a duplicate"


def test_unknown_default_payment_method_fails_at_preview(plugin: Plugin, api: Api) -> None:
    _, failures = Resource(plugin, "DefaultPaymentMethod").check({"payment_method_id": "pm_nope"})
    assert failures == [("payment_method_id", "payment_method_id: no payment method pm_nope is on file in 127.0.0.1")]


CARD_FORMS = ["4242424242424242", "4242 4242 4242 4242", "4242-4242-4242-4242", 4242424242424242, "378282246310005"]


@pytest.mark.parametrize("number", CARD_FORMS)
def test_card_numbers_are_refused_at_check_and_never_echoed(number: object, plugin: Plugin, api: Api) -> None:
    before = api.state()
    inputs, failures = Resource(plugin, "PaymentMethod").check({"token": number})
    assert [prop for prop, _ in failures] == ["token"]
    assert "looks like a payment card number" in failures[0][1] and "pm_card_visa" in failures[0][1]
    assert "token" not in inputs
    _, failures = Resource(plugin, "CreditPurchase").check({"amount_usd": 10, "purchase_key": number})
    assert [prop for prop, _ in failures] == ["purchase_key"]
    assert api.state() == before and api.writes() == []


def test_a_card_number_leaves_no_trace_in_state_logs_or_errors(sandbox: Sandbox, api: Api, tmp_path: Path) -> None:
    program = write_program(tmp_path, 'billing.PaymentMethod("card", token="4242 4242 4242 4242")\n')
    log = tmp_path / "plugins.log"
    config = plugin_config(sandbox, **{"openai-billing:debug": "true"})
    stack = Stack(program, config=config, backend_dir=tmp_path / "backend", log_file=log)
    errors: list[str] = []
    for step in (stack.preview, stack.up):
        with pytest.raises(DeploymentError) as failed:
            step()
        errors.append(str(failed.value))
    assert all("looks like a payment card number" in e for e in errors)
    artifacts = "\n".join(
        [*errors, log.read_text(), stack.state_file().read_text(), str(api.state()), str(api.requests())]
    )
    assert not re.search(r"4242[ -]?4242[ -]?4242[ -]?4242", artifacts)
    assert "42424242" not in artifacts and ADMIN_KEY not in artifacts


def test_the_token_is_a_secret_in_state(sandbox: Sandbox, api: Api, tmp_path: Path) -> None:
    program = write_program(tmp_path, 'billing.PaymentMethod("card", token="pm_card_mastercard")\n')
    stack = Stack(program, config=plugin_config(sandbox), backend_dir=tmp_path / "backend")
    stack.up()
    assert stack.resources["card"]["token"] == "pm_card_mastercard", "kept in memory for the next step"
    assert "pm_card_mastercard" not in stack.state_file().read_text()
    assert "pm_card_mastercard" not in str(api.state()) + str(api.requests())
    assert stack.preview().changed() == {}


# -- auto-reload --------------------------------------------------------------------------------------------


@pytest.fixture
def card(api: Api) -> str:
    payment_method = api.attach("pm_card_visa")
    api.set_default(payment_method)
    return payment_method


def test_policy_lifecycle_and_drift_in_every_field(plugin: Plugin, api: Api, card: str) -> None:
    policy = Resource(plugin, "CreditTopUpPolicy")
    outs = policy.create({**POLICY, "balance_threshold_usd": "20.00", "monthly_reload_limit_usd": 300.0})
    assert policy.id == "auto_reload"
    assert outs["enabled"] is True and outs.get("payment_method_id") is None and outs["on_delete"] == "retain"
    assert (outs["balance_threshold_cents"], outs["target_balance_cents"], outs["monthly_reload_limit_cents"]) == (
        2000,
        10000,
        30000,
    )
    assert policy.diff(POLICY).changes is False, "equal spellings of an amount never diff"

    mastercard = api.attach("pm_card_mastercard")
    edits = {
        "enabled": ({"enabled": False}, False),
        "balance_threshold_usd": ({"balance_threshold_amount": 1000}, "10.00"),
        "target_balance_usd": ({"target_balance_amount": 20000}, "200.00"),
        "monthly_reload_limit_usd": ({"monthly_reload_limit_amount": 50000}, "500.00"),
        "payment_method_id": ({"payment_method_id": mastercard}, mastercard),
    }
    for field, (edit, seen) in edits.items():
        api.set_policy(**edit)
        policy.refresh()
        assert policy.inputs[field] == seen, field
        assert policy.diff(POLICY).changes is not False, field
        policy.update(POLICY)
        live = api.billing("auto_reload")
        assert (live["enabled"], live["balance_threshold_amount"], live["payment_method_id"]) == (True, 2000, None)
        assert (live["target_balance_amount"], live["monthly_reload_limit_amount"]) == (10000, 30000)

    policy.delete()
    assert api.billing("auto_reload")["enabled"] is True, "on_delete=retain keeps the policy running"


def test_policy_refuses_an_existing_one_unless_adopted(sandbox: Sandbox, plugin: Plugin, api: Api, card: str) -> None:
    api.set_policy(target_balance_amount=15000)
    before = api.state()
    refused = r"already has an enabled auto-reload policy \(below 20.00 USD reload to 150.*adopt_existing=True"
    _, failures = Resource(plugin, "CreditTopUpPolicy").check(POLICY)
    assert len(failures) == 1 and re.search(refused, failures[0][1]), "preview says so"
    unchecked = Resource(plugin, "CreditTopUpPolicy")
    inputs = {**unchecked.checked({**POLICY, "adopt_existing": True}), "adopt_existing": False}
    with pytest.raises(PluginError, match=refused):  # and create, should the policy appear after the check
        plugin.create(unchecked.urn, inputs)
    assert api.state() == before
    policy = Resource(plugin, "CreditTopUpPolicy")
    policy.create({**POLICY, "adopt_existing": True, "on_delete": "remove"})
    assert api.billing("auto_reload")["target_balance_amount"] == 10000
    with fresh_plugin(sandbox) as destroy:  # `pulumi destroy` is a run of its own
        policy.plugin = destroy
        policy.delete()
    assert api.http.get("organization/billing/auto_reload").status_code == 404


@pytest.mark.parametrize(
    ("news", "failure"),
    [
        ({**POLICY, "target_balance_usd": 24}, ("target_balance_usd", "must be at least 5.00 USD above")),
        ({**POLICY, "monthly_reload_limit_usd": 50}, ("monthly_reload_limit_usd", "the policy could never reload")),
        ({**POLICY, "monthly_reload_limit_usd": 4}, ("monthly_reload_limit_usd", "at least 5.00 USD")),
        (
            {k: v for k, v in POLICY.items() if k != "monthly_reload_limit_usd"},
            ("monthly_reload_limit_usd", "is required"),
        ),
        ({**POLICY, "payment_method_id": "pm_gone"}, ("payment_method_id", "no payment method pm_gone")),
    ],
)
def test_bad_policies_fail_at_check_and_change_nothing(
    news: dict, failure: tuple[str, str], plugin: Plugin, api: Api, card: str
) -> None:
    before = api.state()
    _, failures = Resource(plugin, "CreditTopUpPolicy").check(news)
    assert len(failures) == 1 and failures[0][0] == failure[0] and failure[1] in failures[0][1], failures
    assert api.state() == before


def test_deleting_the_method_the_live_policy_charges_is_refused(plugin: Plugin, api: Api) -> None:
    card = Resource(plugin, "PaymentMethod", "card")
    card.create({"token": "pm_card_visa"})
    api.set_default(card.id)
    api.set_policy()
    before = api.state()
    with pytest.raises(
        PluginError, match=r"payment method pm_\w+ \(visa ending 4242\) is used by the live auto-reload"
    ):
        card.delete()
    assert api.state() == before
    other = api.attach("pm_card_mastercard")
    api.set_policy(payment_method_id=card.id)
    with pytest.raises(PluginError, match="is used by the live auto-reload policy"):
        card.delete()
    assert [m["id"] for m in api.billing("payment_methods")["data"]] == [card.id, other]
    api.set_policy(payment_method_id=other)
    card.delete()
    assert [m["id"] for m in api.billing("payment_methods")["data"]] == [other]


# -- credit purchases ---------------------------------------------------------------------------------------


def test_purchase_is_made_once_whatever_the_resource_name(
    sandbox: Sandbox, plugin: Plugin, api: Api, card: str
) -> None:
    first = Resource(plugin, "CreditPurchase", "preload")
    outs = first.create({"amount_usd": 500, "purchase_key": "2026-q4-preload"})
    assert outs["status"] == "succeeded" and outs["granted_cents"] == 50000 and outs["amount_cents"] == 50000
    assert outs["purchase_id"] == first.id and outs["invoice_id"].startswith("in_")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", outs["expires_at"])
    renamed = Resource(plugin, "CreditPurchase", "preload-renamed")
    renamed.create({"amount_usd": "500.00", "purchase_key": "2026-q4-preload"})
    assert renamed.id == first.id
    first.delete()
    with fresh_plugin(sandbox) as again:
        Resource(again, "CreditPurchase", "preload").create({"amount_usd": 500, "purchase_key": "2026-q4-preload"})
    assert len(api.charges()) == 1
    assert api.billing("credit_balance")["available_amount"] == 50000, "deleting refunded nothing"


def test_a_lost_purchase_answer_is_retried_without_a_second_charge(plugin: Plugin, api: Api, card: str) -> None:
    api.faults({"method": "POST", "path": PURCHASES, "kind": "drop_after_commit"})
    purchase = Resource(plugin, "CreditPurchase")
    purchase.create({"amount_usd": 25, "purchase_key": "lost-answer"})
    posts = [r["status"] for r in api.requests() if (r["method"], r["path"]) == ("POST", PURCHASES)]
    assert posts == [200, 200], "the first answer was cut after the commit; the retry carried the same key"
    assert [c["amount"] for c in api.charges()] == [2500]
    assert purchase.outputs["purchase_id"] == api.billing("credit_purchases")["data"][0]["id"]


def test_when_retries_run_out_the_purchase_is_found_by_its_key(plugin: Plugin, api: Api, card: str) -> None:
    """Every answer lost (maxRetries=3: four drops): the first send charged, the list shows it, one charge."""
    api.faults({"method": "POST", "path": PURCHASES, "kind": "drop_after_commit", "times": 4})
    purchase = Resource(plugin, "CreditPurchase")
    purchase.create({"amount_usd": 25, "purchase_key": "all-lost"})
    assert [c["amount"] for c in api.charges()] == [2500]
    assert purchase.outputs["purchase_id"] == api.billing("credit_purchases")["data"][0]["id"]
    assert [r["retry"] for r in api.requests() if (r["method"], r["path"]) == ("POST", PURCHASES)] == [0, 1, 2, 3]


def test_when_retries_run_out_unanswered_the_error_says_nothing_was_charged(
    plugin: Plugin, api: Api, card: str
) -> None:
    api.faults({"method": "POST", "path": PURCHASES, "kind": "status", "status": 503, "times": 4})
    with pytest.raises(PluginError) as info:
        Resource(plugin, "CreditPurchase").create({"amount_usd": 25, "purchase_key": "refused"})
    message = str(info.value)
    assert "gave up after 4 attempts" in message
    assert "No purchase with purchase_key 'refused' exists: nothing was charged" in message
    assert "Running `pulumi up` again is safe" in message
    assert api.charges() == [] and api.billing("credit_purchases")["data"] == []


def test_when_the_list_fails_too_the_error_says_the_outcome_is_unknown(plugin: Plugin, api: Api, card: str) -> None:
    purchase = Resource(plugin, "CreditPurchase")
    inputs = purchase.checked({"amount_usd": 25, "purchase_key": "unknown"})
    api.faults(
        {"method": "POST", "path": PURCHASES, "kind": "drop_after_commit", "times": 4},
        {"method": "GET", "path": PURCHASES, "kind": "status", "status": 500, "times": 4},
    )
    with pytest.raises(PluginError, match="may or may not have been made, and listing purchases to find out failed"):
        plugin.create(purchase.urn, {**inputs, "__provider": purchase.blob})
    assert len(api.charges()) == 1
    Resource(plugin, "CreditPurchase", "again").create({"amount_usd": 25, "purchase_key": "unknown"})
    assert len(api.charges()) == 1, "the next run finds the purchase the lost answer made"


def test_same_key_other_amount_is_refused(plugin: Plugin, api: Api, card: str) -> None:
    made = Resource(plugin, "CreditPurchase")
    made.create({"amount_usd": 50, "purchase_key": "k"})
    before = api.state()
    _, failures = Resource(plugin, "CreditPurchase", "other").check({"amount_usd": 60, "purchase_key": "k"})
    assert failures == [
        (
            "purchase_key",
            f"purchase_key 'k' already bought 50.00 USD ({made.id}): a key names one "
            "purchase for good. Use a new purchase_key to buy again",
        )
    ]
    purchase = Resource(plugin, "CreditPurchase", "other")
    purchase.inputs = {"amount_usd": "60.00", "purchase_key": "k", "payment_method_id": None}
    with pytest.raises(PluginError, match="purchase_key 'k' was already used for another amount"):
        plugin.create(purchase.urn, {**purchase.inputs, "__provider": purchase.blob})
    assert api.requests()[-1]["status"] == 409
    assert api.state() == before and len(api.charges()) == 1


def test_purchase_amount_cannot_change_and_a_new_key_buys_again(plugin: Plugin, api: Api, card: str) -> None:
    purchase = Resource(plugin, "CreditPurchase")
    purchase.create({"amount_usd": 50, "purchase_key": "first"})
    _, failures = purchase.check({"amount_usd": 75, "purchase_key": "first"})
    assert failures == [
        (
            "amount_usd",
            "amount_usd cannot change from 50.00 to 75.00: purchase 'first' is made. Declare a new CreditPurchase "
            "with a new purchase_key to buy more credits",
        )
    ]
    assert purchase.diff({"amount_usd": 75, "purchase_key": "second"}).replaces == ["purchase_key"]
    other = api.attach("pm_card_mastercard")
    assert purchase.diff({"amount_usd": 50, "purchase_key": "first", "payment_method_id": other}).changes is False


def test_purchase_cap_is_checked_at_preview(sandbox: Sandbox, api: Api, card: str) -> None:
    with fresh_plugin(sandbox) as plugin:
        _, failures = Resource(plugin, "CreditPurchase").check({"amount_usd": 1500, "purchase_key": "big"})
    assert failures[0][0] == "amount_usd" and "above openai-billing:maxPurchaseUsd (1000.00 USD)" in failures[0][1]
    with fresh_plugin(sandbox, **{"openai-billing:maxPurchaseUsd": "2000"}) as plugin:
        assert Resource(plugin, "CreditPurchase").check({"amount_usd": 1500, "purchase_key": "big"})[1] == []
        _, failures = Resource(plugin, "CreditPurchase").check({"amount_usd": 4.99, "purchase_key": "small"})
    assert failures == [("amount_usd", "amount_usd must be at least 5.00 USD, got 4.99")]


def test_a_declined_purchase_buys_nothing_and_says_so(plugin: Plugin, api: Api) -> None:
    declined = api.attach("pm_card_chargeDeclined")
    purchase = Resource(plugin, "CreditPurchase")
    with pytest.raises(
        PluginError, match=r"the charge of 20.00 USD was declined \(card_declined\): nothing was bought"
    ):
        purchase.create({"amount_usd": 20, "purchase_key": "declined", "payment_method_id": declined})
    assert api.charges() == [] and len(api.charges("failed")) == 1
    assert api.billing("credit_balance")["available_amount"] == 0


# -- the example --------------------------------------------------------------------------------------------

PREPAID = Path(__file__).resolve().parents[1] / "examples" / "prepaid-credits"
PREPAID_NAMES = {"card", "default-card", "auto-reload", "q4-preload"}


def test_prepaid_credits_example(sandbox: Sandbox, api: Api, tmp_path: Path) -> None:
    stack = Stack(PREPAID, config=plugin_config(sandbox), backend_dir=tmp_path / "backend")
    assert stack.preview().ops() == dict.fromkeys(PREPAID_NAMES, "create")
    assert api.writes() == []
    up = stack.up()
    assert up.ops() == dict.fromkeys(PREPAID_NAMES, "create")
    assert up.exports["card"] == "visa ending 4242"
    assert api.billing("auto_reload")["target_balance_amount"] == 10000
    assert api.billing("credit_balance")["available_amount"] == 50000
    assert stack.preview().changed() == {}
    assert stack.refresh().changed() == {}
    assert stack.preview().changed() == {}

    elsewhere = Stack(PREPAID, config=plugin_config(sandbox), backend_dir=tmp_path / "other", stack="other")
    with pytest.raises(DeploymentError, match="already has an enabled auto-reload policy"):
        elsewhere.up()
    assert [c["reason"] for c in api.charges()] == ["credit_purchase"], "no second charge from another stack"

    stack.destroy()
    assert api.billing("auto_reload")["enabled"] is True, "the policy is retained"
    assert len(api.billing("payment_methods")["data"]) == 1, "and the card it charges"
    with pytest.raises(DeploymentError, match="set adopt_existing=True to take it over"):
        stack.up()
    assert len(api.charges()) == 1, "destroy then up never buys twice"


# -- functions ----------------------------------------------------------------------------------------------


def test_overview_invoices_and_costs(env: None, api: Api, card: str) -> None:
    team = api.project("team-a")
    api.set_limit(1000)
    api.set_limit(300, team)
    purchase = {"amount": 10000, "currency": "USD", "payment_method_id": None}
    api.post("organization/billing/credit_purchases", purchase, headers={"Idempotency-Key": "overview"})
    api.post("sandbox/usage", {"project_id": team, "amount_usd": "12.345"})
    api.clear_requests()

    overview = get_billing_overview()
    assert overview.month_to_date_spend_usd == Decimal("12.345")
    assert overview.credit_balance_usd == Decimal("87.65"), "whole cents left of 100 - 12.345"
    assert overview.top_up_policy is None
    org, project = overview.scopes
    assert (org.project_id, org.spend_limit and org.spend_limit.monthly_limit_usd) == (None, "1000.00")
    assert (project.project_id, project.name, project.month_to_date_spend_usd) == (team, "team-a", Decimal("12.345"))
    assert project.spend_limit is not None and project.spend_limit.monthly_limit_usd == "300.00"
    assert api.writes() == []

    api.set_policy()
    policy = get_billing_overview().top_up_policy
    assert policy is not None and (policy.enabled, policy.target_balance_usd) == (True, "100.00")

    (invoice,) = list_invoices()
    assert invoice.amount_usd == Decimal("100.00") and invoice.status == "paid" and invoice.purchase_id

    api.clear_requests()
    start = int(time.time()) - 200 * 86400
    costs = get_costs(start, int(time.time()) + 86400, group_by=["project_id"])
    assert [(c.project_id, c.amount_usd) for c in costs] == [(team, Decimal("12.345"))]
    assert [r["path"] for r in api.requests()] == ["/v1/organization/costs"] * 2, "181+ days take two pages"


def test_overview_without_the_extension(monkeypatch: pytest.MonkeyPatch) -> None:
    with Sandbox(ADMIN_KEY, billing_extension=False, rate_limit="off") as bare:
        monkeypatch.setenv("OPENAI_ADMIN_KEY", ADMIN_KEY)
        monkeypatch.setenv("OPENAI_BILLING_BASE_URL", bare.base_url)
        overview = get_billing_overview()
        assert overview.credit_balance_usd is None and overview.top_up_policy is None
        assert overview.month_to_date_spend_usd == 0
        with pytest.raises(ProviderError, match=f"invoices are not available at {re.escape(bare.base_url)}"):
            list_invoices()
