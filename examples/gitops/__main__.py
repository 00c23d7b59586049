"""Billing as code for a platform team: an organization budget with a hard cap, and one budget per team.

Every change goes through a pull request: the workflow in .github/workflows/billing.yml previews it with
the plan report and the policy pack, applies it on merge, and fails the nightly run when someone edited
the dashboard. Teams are looked up by project name, so the program holds no project ids.
"""

import pulumi

import pulumi_openai_billing as billing

config = pulumi.Config()
finops = config.get_object("finops") or ["finops@example.com"]

# The organization: alerts at 50/80/100% of the budget, and a hard cap at 125% of it.
org = billing.Budget(
    "organization",
    monthly_budget_usd=config.get("organizationBudgetUsd") or "8000",
    recipients=finops,
    hard_limit_percent=125,
)

# One budget per team: alerts only, unless the team asked for a hard limit.
teams = config.get_object("teams") or {"team-a": {"budget_usd": "500", "hard_limit_percent": 120}}
for name, team in sorted(teams.items()):
    project = billing.get_project(name=name)
    billing.Budget(
        name,
        project_id=project.id,
        monthly_budget_usd=team["budget_usd"],
        recipients=[*finops, *team.get("recipients", [])],
        hard_limit_percent=team.get("hard_limit_percent"),
    )

pulumi.export("organization_limit_usd", org.limit.monthly_limit_usd if org.limit else None)
pulumi.export("teams", sorted(teams))
