"""Quickstart: cap the organization, alert the FinOps team, and give one project its own budget."""

import pulumi

import pulumi_openai_billing as billing

config = pulumi.Config()
finops = ["finops@example.com", "platform@example.com"]

org_limit = billing.OrganizationSpendLimit("org-limit", monthly_limit_usd=5000)

for percent in (50, 80, 100):
    billing.OrganizationSpendAlert(
        f"org-alert-{percent}",
        threshold_usd=5000 * percent // 100,
        recipients=finops,
        subject_prefix=f"[openai org {percent}%]",
    )

team = billing.get_project(name=config.get("teamProject") or "team-a")

team_limit = billing.ProjectSpendLimit("team-a-limit", project_id=team.id, monthly_limit_usd="750.00")
billing.ProjectSpendAlert(
    "team-a-alert",
    project_id=team.id,
    threshold_usd=600,
    recipients=["team-a-leads@example.com"],
)

pulumi.export("organization_limit_usd", org_limit.monthly_limit_usd)
pulumi.export("team_project_id", team.id)
pulumi.export("team_limit_usd", team_limit.monthly_limit_usd)
