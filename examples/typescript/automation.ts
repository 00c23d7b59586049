// Steps the example's stack through the Node.js Automation API, with index.ts as an inline program: one operation
// per run, `node build/automation.js preview|up|refresh|destroy`.
//
// The stack comes from the environment: OPENAI_BILLING_STACK (its name), OPENAI_BILLING_WORK_DIR (the workspace
// folder), OPENAI_BILLING_PLUGIN_DIR (the folder holding pulumi-resource-openai-billing), OPENAI_BILLING_CONFIG (a
// JSON object of stack config) and OPENAI_BILLING_SECRET_CONFIG (a JSON list of the keys among them set as secrets);
// the backend, passphrase and Pulumi home through Pulumi's own variables (PULUMI_BACKEND_URL, ...).
//
// The last line of standard output is `{"changes": {...}}`: the engine's change summary for a preview, the
// update's resource changes otherwise. Everything else (the engine's output included) goes to standard error.
import { ConfigMap, LocalWorkspace, OpMap, ProjectSettings } from "@pulumi/pulumi/automation";
import program = require("./index");

const PROJECT = "openai-billing-typescript";
const OPERATIONS = ["preview", "up", "refresh", "destroy"] as const;
type Operation = (typeof OPERATIONS)[number];

/** The stack's settings from the environment (an error names every variable missing). */
function settings(): { stackName: string; workDir: string; pluginDir: string } {
    const names = ["OPENAI_BILLING_STACK", "OPENAI_BILLING_WORK_DIR", "OPENAI_BILLING_PLUGIN_DIR"];
    const missing = names.filter((name) => !process.env[name]);
    if (missing.length > 0) {
        throw new Error(`not set: ${missing.join(", ")}`);
    }
    const [stackName, workDir, pluginDir] = names.map((name) => process.env[name] as string);
    return { stackName, workDir, pluginDir };
}

function stackConfig(): { config: ConfigMap; secrets: string[] } {
    const values: Record<string, string> = JSON.parse(process.env.OPENAI_BILLING_CONFIG || "{}");
    const secretKeys: string[] = JSON.parse(process.env.OPENAI_BILLING_SECRET_CONFIG || "[]");
    const config: ConfigMap = {};
    for (const [key, value] of Object.entries(values)) {
        config[key] = { value: String(value), secret: secretKeys.includes(key) };
    }
    const secrets = secretKeys.filter((key) => key in values).map((key) => String(values[key]));
    return { config, secrets };
}

async function step(op: Operation): Promise<OpMap> {
    const { stackName, workDir, pluginDir } = settings();
    const { config } = stackConfig();
    // The engine runs the provider plugin from this folder. ProjectSettings' type has no `plugins` (Pulumi.yaml
    // does): the workspace writes the object to Pulumi.yaml as it is.
    const projectSettings: ProjectSettings & { plugins: { providers: { name: string; path: string }[] } } = {
        name: PROJECT,
        runtime: "nodejs",
        description: "The quickstart's organization, as an inline TypeScript program.",
        plugins: { providers: [{ name: "openai-billing", path: pluginDir }] },
    };
    const stack = await LocalWorkspace.createOrSelectStack(
        { stackName, projectName: PROJECT, program },
        {
            workDir,
            projectSettings,
            // The CLI inherits this process's environment (PULUMI_BACKEND_URL, PULUMI_CONFIG_PASSPHRASE,
            // PULUMI_HOME, ...); these are on top of it.
            envVars: { PULUMI_SKIP_UPDATE_CHECK: "true" },
        },
    );
    await stack.setAllConfig(config);

    const toStderr = (text: string) => process.stderr.write(text);
    const streamed = { onOutput: toStderr, onError: toStderr, color: "never" as const };
    switch (op) {
        case "preview":
            return (await stack.preview(streamed)).changeSummary;
        case "up":
            return (await stack.up(streamed)).summary.resourceChanges ?? {};
        case "refresh":
            return (await stack.refresh(streamed)).summary.resourceChanges ?? {};
        case "destroy":
            return (await stack.destroy(streamed)).summary.resourceChanges ?? {};
    }
}

/** The error as text, with every secret config value blanked out (a failed `config set` names its arguments). */
function redacted(error: unknown): string {
    let text = error instanceof Error ? (error.stack ?? String(error)) : String(error);
    try {
        for (const secret of stackConfig().secrets) {
            if (secret) {
                text = text.split(secret).join("[secret]");
            }
        }
    } catch {
        // A malformed OPENAI_BILLING_CONFIG is the error being reported.
    }
    return text;
}

async function main(argv: string[]): Promise<number> {
    const op = argv[0];
    if (argv.length !== 1 || !(OPERATIONS as readonly string[]).includes(op)) {
        process.stderr.write(`usage: automation ${OPERATIONS.join("|")}\n`);
        return 2;
    }
    try {
        const changes = await step(op as Operation);
        process.stdout.write(`${JSON.stringify({ changes })}\n`);
        return 0;
    } catch (error) {
        process.stderr.write(`error: ${op} failed: ${redacted(error)}\n`);
        return 1;
    }
}

main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
});
