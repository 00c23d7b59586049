"""One team's project with every cost control: a spend limit and alerts, a per-key limit, the models it may
call, the hosted tools it may use, its service tiers and a rate limit.

The program makes the project (``Project``), so every other resource takes its id. A project just made has no
API keys: the limit on the team's CI key is declared only once ``apiKeyId`` names one (make the key in the
dashboard after the first ``pulumi up``, then ``pulumi config set apiKeyId key_...`` and ``pulumi up`` again).
"""

import pulumi

import pulumi_openai_billing as billing

config = pulumi.Config()
team = config.get("teamName") or "team-c"
leads = [f"{team}-leads@example.com"]

# The project itself: destroying the stack leaves it (on_delete="retain", the default; "archive" archives it).
project = billing.Project(
    "team-project",
    name=team,
    adopt_existing=config.get_bool("adoptExisting") or False,
)

# Money: a hard cap, and alerts before it bites.
billing.ProjectSpendLimit("team-limit", project_id=project.id, monthly_limit_usd=1000)
for percent in (50, 80):
    billing.ProjectSpendAlert(
        f"team-alert-{percent}",
        project_id=project.id,
        threshold_usd=1000 * percent // 100,
        recipients=leads,
        subject_prefix=f"[{team} {percent}%]",
    )

# A tighter cap on the team's CI key, once the key exists (see above).
api_key_id = config.get("apiKeyId")
if api_key_id:
    billing.ApiKeySpendLimit("team-ci-key-limit", project_id=project.id, api_key_id=api_key_id, monthly_limit_usd=200)

# What the project may use: two models, no web search or image generation, the standard tier plus flex.
billing.ProjectModelPermissions(
    "team-models", project_id=project.id, model_ids=["gpt-4o-mini", "text-embedding-3-small"]
)
billing.ProjectHostedTools(
    "team-tools",
    project_id=project.id,
    file_search=True,
    code_interpreter=True,
    web_search=False,
    image_generation=False,
    mcp=False,
)
billing.ProjectServiceTiers("team-tiers", project_id=project.id, default="standard", enabled_tiers=["flex"])

# How fast: gpt-4o-mini at 500 requests and 2M tokens a minute; destroy puts back what it found.
billing.ProjectRateLimit(
    "team-gpt-4o-mini-rate",
    project_id=project.id,
    model="gpt-4o-mini",
    max_requests_per_1_minute=500,
    max_tokens_per_1_minute=2_000_000,
    on_delete="restore",
)

pulumi.export("project_id", project.id)
