package main

// The Automation API driver: steps program (main.go) as an inline program on the stack the environment names,
// one operation per run, as tests/test_sdk_examples.py does:
//
//	openai-billing-example-go preview|up|refresh|destroy
//
// It reads OPENAI_BILLING_STACK, OPENAI_BILLING_WORK_DIR (the workspace's directory: its Pulumi.yaml and stack
// settings are written there), OPENAI_BILLING_PLUGIN_DIR (the directory holding pulumi-resource-openai-billing),
// OPENAI_BILLING_CONFIG (the stack's config as a JSON object) and OPENAI_BILLING_SECRET_CONFIG (a JSON list of the
// keys among them to set as secrets); the backend and secrets come from PULUMI_BACKEND_URL,
// PULUMI_CONFIG_PASSPHRASE and PULUMI_HOME, as for the CLI. The engine's progress goes to standard error; the last
// line of standard output is {"changes": {...}}: the change summary of a preview, or the update's resource changes.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"syscall"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optrefresh"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
)

const (
	projectName = "openai-billing-go"
	pluginName  = "openai-billing"
)

var operations = []string{"preview", "up", "refresh", "destroy"}

// The variables the CLI reads for the backend and secrets, passed on to every command of the workspace.
var pulumiEnv = []string{"PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "PULUMI_HOME"}

func drive(args []string) int {
	if len(args) != 1 || !slices.Contains(operations, args[0]) {
		fmt.Fprintln(os.Stderr, "usage: openai-billing-example-go preview|up|refresh|destroy (no argument: the program,"+
			" as the Go language host runs it)")
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	changes, err := step(ctx, args[0])
	if err != nil {
		fmt.Fprintf(os.Stderr, "error: %s %s: %v\n", projectName, args[0], err)
		return 1
	}
	line, err := json.Marshal(map[string]map[string]int{"changes": changes})
	if err != nil {
		fmt.Fprintf(os.Stderr, "error: %v\n", err)
		return 1
	}
	fmt.Println(string(line))
	return 0
}

func step(ctx context.Context, op string) (map[string]int, error) {
	stack, err := openStack(ctx)
	if err != nil {
		return nil, err
	}
	switch op {
	case "preview":
		res, err := stack.Preview(ctx, optpreview.ProgressStreams(os.Stderr),
			optpreview.ErrorProgressStreams(os.Stderr), optpreview.Color("never"))
		if err != nil {
			return nil, err
		}
		changes := map[string]int{}
		for kind, count := range res.ChangeSummary {
			changes[string(kind)] = count
		}
		return changes, nil
	case "up":
		res, err := stack.Up(ctx, optup.ProgressStreams(os.Stderr),
			optup.ErrorProgressStreams(os.Stderr), optup.Color("never"))
		if err != nil {
			return nil, err
		}
		return resourceChanges(res.Summary), nil
	case "refresh":
		res, err := stack.Refresh(ctx, optrefresh.ProgressStreams(os.Stderr),
			optrefresh.ErrorProgressStreams(os.Stderr), optrefresh.Color("never"))
		if err != nil {
			return nil, err
		}
		return resourceChanges(res.Summary), nil
	case "destroy":
		res, err := stack.Destroy(ctx, optdestroy.ProgressStreams(os.Stderr),
			optdestroy.ErrorProgressStreams(os.Stderr), optdestroy.Color("never"))
		if err != nil {
			return nil, err
		}
		return resourceChanges(res.Summary), nil
	}
	return nil, fmt.Errorf("unknown operation %q (want preview, up, refresh or destroy)", op)
}

func resourceChanges(summary auto.UpdateSummary) map[string]int {
	if summary.ResourceChanges == nil {
		return map[string]int{}
	}
	return *summary.ResourceChanges
}

// openStack selects (or creates) the stack, with the provider plugin taken from OPENAI_BILLING_PLUGIN_DIR and
// the stack config from OPENAI_BILLING_CONFIG.
func openStack(ctx context.Context) (auto.Stack, error) {
	var stack auto.Stack
	name, workDir, pluginDir := os.Getenv("OPENAI_BILLING_STACK"), os.Getenv("OPENAI_BILLING_WORK_DIR"),
		os.Getenv("OPENAI_BILLING_PLUGIN_DIR")
	if name == "" || workDir == "" || pluginDir == "" {
		return stack, errors.New("OPENAI_BILLING_STACK, OPENAI_BILLING_WORK_DIR and OPENAI_BILLING_PLUGIN_DIR must be set")
	}
	config, err := stackConfig()
	if err != nil {
		return stack, err
	}
	env := map[string]string{}
	for _, key := range pulumiEnv {
		if value, ok := os.LookupEnv(key); ok {
			env[key] = value
		}
	}
	project := workspace.Project{
		Name:    projectName,
		Runtime: workspace.NewProjectRuntimeInfo("go", nil),
		Plugins: &workspace.Plugins{
			Providers: []workspace.PluginOptions{{Name: pluginName, Path: pluginDir}},
		},
	}
	stack, err = auto.UpsertStackInlineSource(ctx, name, projectName, program,
		auto.WorkDir(workDir), auto.Project(project), auto.EnvVars(env))
	if err != nil {
		return stack, err
	}
	if err := stack.SetAllConfig(ctx, config); err != nil {
		return stack, fmt.Errorf("setting the stack's config: %w", err)
	}
	return stack, nil
}

// stackConfig reads OPENAI_BILLING_CONFIG (a JSON object: strings as they are, other values as JSON) and marks
// the keys OPENAI_BILLING_SECRET_CONFIG lists as secrets.
func stackConfig() (auto.ConfigMap, error) {
	values := map[string]any{}
	if raw := os.Getenv("OPENAI_BILLING_CONFIG"); raw != "" {
		if err := json.Unmarshal([]byte(raw), &values); err != nil {
			return nil, fmt.Errorf("OPENAI_BILLING_CONFIG is not a JSON object: %w", err)
		}
	}
	var secrets []string
	if raw := os.Getenv("OPENAI_BILLING_SECRET_CONFIG"); raw != "" {
		if err := json.Unmarshal([]byte(raw), &secrets); err != nil {
			return nil, fmt.Errorf("OPENAI_BILLING_SECRET_CONFIG is not a JSON list of strings: %w", err)
		}
	}
	config := auto.ConfigMap{}
	for key, value := range values {
		text, ok := value.(string)
		if !ok {
			encoded, err := json.Marshal(value)
			if err != nil {
				return nil, err
			}
			text = string(encoded)
		}
		config[key] = auto.ConfigValue{Value: text, Secret: slices.Contains(secrets, key)}
	}
	return config, nil
}
