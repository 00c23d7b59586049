"""The billing extension (docs/billing-extension.md): capabilities, payment methods, the default, auto-reload,
credit purchases, the balance, charges and invoices, all under ``/organization/billing``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query

from . import wire
from .deps import ClockDep, from_state
from .errors import ApiError
from .ledger import Ledger
from .models import AutoReloadIn, BillingListQuery, CreditPurchaseIn, DefaultPaymentMethodIn, PaymentMethodIn

router = APIRouter(prefix="/organization/billing")
CAPABILITIES = ("payment_methods", "auto_reload", "credit_purchases", "credit_balance", "invoices")


_ledger = from_state("ledger", Ledger)


LedgerDep = Annotated[Ledger, Depends(_ledger)]
ListQuery = Annotated[BillingListQuery, Query()]
IdempotencyKey = Annotated[
    str, Header(alias="Idempotency-Key", min_length=1, max_length=255, pattern=r"^[A-Za-z0-9._:-]+$")
]


def _page(rows: list[dict[str, Any]], query: BillingListQuery, shape: Any) -> dict[str, Any]:
    after = None
    if query.after is not None:
        after = next((int(r["seq"]) for r in rows if r["id"] == query.after), None)
        if after is None:
            raise wire.cursor_not_found("after", query.after)
    page, has_more = wire.cursor_page(rows, limit=query.limit, after=after)
    return wire.list_object([shape(r) for r in page], has_more)


@router.get("/capabilities")
def capabilities() -> dict[str, Any]:
    return {"object": "organization.billing.capabilities", "version": 1, "capabilities": list(CAPABILITIES)}


# -- payment methods -----------------------------------------------------------------------------------------


@router.get("/payment_methods")
def list_payment_methods(query: ListQuery, ledger: LedgerDep) -> dict[str, Any]:
    default = ledger.default()
    return _page(ledger.payment_methods(), query, lambda row: wire.payment_method(row, default))


@router.post("/payment_methods")
def attach_payment_method(body: PaymentMethodIn, ledger: LedgerDep, clock: ClockDep) -> dict[str, Any]:
    return wire.payment_method(ledger.attach(body.token, clock.now()), ledger.default())


@router.get("/payment_methods/{payment_method_id}")
def get_payment_method(payment_method_id: str, ledger: LedgerDep) -> dict[str, Any]:
    return wire.payment_method(ledger.payment_method(payment_method_id), ledger.default())


@router.delete("/payment_methods/{payment_method_id}")
def detach_payment_method(payment_method_id: str, ledger: LedgerDep) -> dict[str, Any]:
    ledger.detach(payment_method_id)
    return {"id": payment_method_id, "object": "organization.billing.payment_method.deleted", "deleted": True}


@router.get("/default_payment_method")
def get_default_payment_method(ledger: LedgerDep) -> dict[str, Any]:
    return wire.default_payment_method(ledger.default())


@router.post("/default_payment_method")
def set_default_payment_method(body: DefaultPaymentMethodIn, ledger: LedgerDep) -> dict[str, Any]:
    ledger.set_default(body.payment_method_id)
    return wire.default_payment_method(ledger.default())


@router.delete("/default_payment_method")
def clear_default_payment_method(ledger: LedgerDep) -> dict[str, Any]:
    ledger.set_default(None)
    return wire.default_payment_method(None)


# -- auto-reload -----------------------------------------------------------------------------------------------


def _auto_reload(ledger: Ledger, policy: dict[str, Any] | None, now: int) -> dict[str, Any]:
    if policy is None:
        raise ApiError(404, "No auto-reload policy is set.", code="auto_reload_not_found")
    return wire.auto_reload(policy, ledger.reloaded(now))


@router.get("/auto_reload")
def get_auto_reload(ledger: LedgerDep, clock: ClockDep) -> dict[str, Any]:
    return _auto_reload(ledger, ledger.policy(), clock.now())


@router.post("/auto_reload")
def put_auto_reload(body: AutoReloadIn, ledger: LedgerDep, clock: ClockDep) -> dict[str, Any]:
    return _auto_reload(ledger, ledger.put_policy(body.model_dump()), clock.now())


@router.delete("/auto_reload")
def delete_auto_reload(ledger: LedgerDep) -> dict[str, Any]:
    ledger.delete_policy()
    return {"object": "organization.billing.auto_reload.deleted", "deleted": True}


# -- credits -----------------------------------------------------------------------------------------------------


@router.get("/credit_purchases")
def list_credit_purchases(query: ListQuery, ledger: LedgerDep) -> dict[str, Any]:
    return _page(ledger.store.rows("credit_purchases"), query, wire.credit_purchase)


@router.post("/credit_purchases")
def buy_credits(body: CreditPurchaseIn, key: IdempotencyKey, ledger: LedgerDep, clock: ClockDep) -> dict[str, Any]:
    return wire.credit_purchase(ledger.purchase(key, body.amount, body.payment_method_id, clock.now()))


@router.get("/credit_purchases/{purchase_id}")
def get_credit_purchase(purchase_id: str, ledger: LedgerDep) -> dict[str, Any]:
    row = ledger.store.row("credit_purchases", "id = ?", purchase_id)
    if row is None:
        raise ApiError(404, f"No credit purchase found with id '{purchase_id}'.", code="credit_purchase_not_found")
    return wire.credit_purchase(row)


@router.get("/credit_balance")
def credit_balance(ledger: LedgerDep, clock: ClockDep) -> dict[str, Any]:
    return wire.credit_balance(ledger.grants(clock.now()))


@router.get("/charges")
def list_charges(query: ListQuery, ledger: LedgerDep) -> dict[str, Any]:
    return _page(ledger.store.rows("charges"), query, wire.charge)


@router.get("/invoices")
def list_invoices(query: ListQuery, ledger: LedgerDep) -> dict[str, Any]:
    return _page(ledger.store.rows("invoices"), query, wire.invoice)
