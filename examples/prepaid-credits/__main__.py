"""Prepaid credits: a card on file as the default, auto-reload within a monthly bound, and a preload.

Experimental: these resources speak the billing extension (docs/billing-extension.md), served by the
sandbox or a billing gateway, not by api.openai.com.
"""

import pulumi

import pulumi_openai_billing as billing

config = pulumi.Config()

# The auto-reload policy below is retained on destroy (so credits never run out by accident); the card it
# charges must then stay on file too.
card = billing.PaymentMethod(
    "card",
    token=config.get_secret("paymentToken") or "pm_card_visa",
    on_delete="retain",
)
default = billing.DefaultPaymentMethod("default-card", payment_method_id=card.payment_method_id)

top_up = billing.CreditTopUpPolicy(
    "auto-reload",
    balance_threshold_usd=20,
    target_balance_usd=100,
    monthly_reload_limit_usd=300,
    opts=pulumi.ResourceOptions(depends_on=[default]),  # it charges the default payment method
)

preload = billing.CreditPurchase(
    "q4-preload",
    amount_usd=500,
    purchase_key=config.get("preloadKey") or "2026-q4-preload",
    payment_method_id=card.payment_method_id,
)

pulumi.export("card", pulumi.Output.concat(card.brand, " ending ", card.last4))
pulumi.export("preload_purchase_id", preload.purchase_id)
pulumi.export("preload_expires_at", preload.expires_at)
