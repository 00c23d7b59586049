// The quickstart's organization as a Go Pulumi program: cap the organization, alert the FinOps team at 50, 80
// and 100 %, and give one project its own limit and alert (the same resources as examples/quickstart and
// examples/yaml).
//
// Started with no arguments (as the Go language host runs it under `pulumi up`), it is the program. Started with
// an operation (preview, up, refresh or destroy), it steps the same program through the Automation API as an
// inline program: see driver.go.
package main

import (
	"fmt"
	"os"
	"strconv"

	"github.com/pulumi-openai-billing/pulumi-openai-billing/sdk/go/openaibilling"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"
)

const orgLimitUsd = 5000

var finops = pulumi.ToStringArray([]string{"finops@example.com", "platform@example.com"})

func program(ctx *pulumi.Context) error {
	cfg := config.New(ctx, "")
	teamProject := cfg.Get("teamProject")
	if teamProject == "" {
		teamProject = "team-a"
	}

	orgLimit, err := openaibilling.NewOrganizationSpendLimit(ctx, "org-limit", &openaibilling.OrganizationSpendLimitArgs{
		MonthlyLimitUsd: pulumi.String(strconv.Itoa(orgLimitUsd)),
	})
	if err != nil {
		return err
	}

	for _, percent := range []int{50, 80, 100} {
		_, err := openaibilling.NewOrganizationSpendAlert(ctx, fmt.Sprintf("org-alert-%d", percent),
			&openaibilling.OrganizationSpendAlertArgs{
				ThresholdUsd:  pulumi.String(strconv.Itoa(orgLimitUsd * percent / 100)),
				Recipients:    finops,
				SubjectPrefix: pulumi.String(fmt.Sprintf("[openai org %d%%]", percent)),
			})
		if err != nil {
			return err
		}
	}

	team, err := openaibilling.LookupProject(ctx, &openaibilling.LookupProjectArgs{Name: &teamProject})
	if err != nil {
		return err
	}

	teamLimit, err := openaibilling.NewProjectSpendLimit(ctx, "team-a-limit", &openaibilling.ProjectSpendLimitArgs{
		ProjectId:       pulumi.String(team.Id),
		MonthlyLimitUsd: pulumi.String("750.00"),
	})
	if err != nil {
		return err
	}

	_, err = openaibilling.NewProjectSpendAlert(ctx, "team-a-alert", &openaibilling.ProjectSpendAlertArgs{
		ProjectId:    pulumi.String(team.Id),
		ThresholdUsd: pulumi.String("600"),
		Recipients:   pulumi.ToStringArray([]string{"team-a-leads@example.com"}),
	})
	if err != nil {
		return err
	}

	ctx.Export("organization_limit_usd", orgLimit.MonthlyLimitUsd)
	ctx.Export("team_project_id", pulumi.String(team.Id))
	ctx.Export("team_limit_usd", teamLimit.MonthlyLimitUsd)
	return nil
}

func main() {
	if len(os.Args) > 1 {
		os.Exit(drive(os.Args[1:]))
	}
	pulumi.Run(program)
}
