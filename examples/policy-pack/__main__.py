"""A policy pack for OpenAI billing stacks, built from the reusable rules in pulumi_openai_billing.policy.

Run it with a preview or an update:
    pulumi preview --policy-pack path/to/policy-pack --policy-pack-config policy-config.json
"""

from pulumi_policy import PolicyPack

from pulumi_openai_billing.policy import all_policies

PolicyPack(
    name="openai-billing",
    description="Spend limits under a maximum and alerted before they bite, alert mail kept in-house, "
    "credit purchases bounded, projects' models, default tiers and rate limits in check.",
    policies=all_policies(),
)
