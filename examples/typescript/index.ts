// The quickstart's organization in TypeScript: cap the organization, alert the FinOps team at 50, 80 and 100 %, and
// give one project its own limit and alert. `pulumi up` runs this module (it exports the program, which the Node.js
// runtime calls); automation.ts runs the same function as an inline program.
import * as pulumi from "@pulumi/pulumi";
import * as billing from "@pulumi-openai-billing/sdk";

const finops = ["finops@example.com", "platform@example.com"];

async function program(): Promise<Record<string, pulumi.Output<string>>> {
    const config = new pulumi.Config();

    // Amounts are US dollars, typed as strings by the schema (state keeps the two-decimal form, "5000.00").
    const orgLimit = new billing.OrganizationSpendLimit("org-limit", { monthlyLimitUsd: "5000" });

    for (const percent of [50, 80, 100]) {
        new billing.OrganizationSpendAlert(`org-alert-${percent}`, {
            thresholdUsd: String((5000 * percent) / 100),
            recipients: finops,
            subjectPrefix: `[openai org ${percent}%]`,
        });
    }

    const team = billing.getProjectOutput({ name: config.get("teamProject") ?? "team-a" });

    const teamLimit = new billing.ProjectSpendLimit("team-a-limit", {
        projectId: team.id,
        monthlyLimitUsd: "750.00",
    });
    new billing.ProjectSpendAlert("team-a-alert", {
        projectId: team.id,
        thresholdUsd: "600",
        recipients: ["team-a-leads@example.com"],
    });

    return {
        organization_limit_usd: orgLimit.monthlyLimitUsd,
        team_project_id: team.id,
        team_limit_usd: teamLimit.monthlyLimitUsd,
    };
}

export = program;
