// Builds the generated SDK (../../sdk/nodejs, TypeScript sources that are not published) into
// node_modules/@pulumi-openai-billing/sdk with this example's own TypeScript, so that `require("@pulumi-openai-billing/sdk")`
// works from here, and the SDK's `require("@pulumi/pulumi")` finds the very copy the program uses (a symlink to
// ../../sdk/nodejs would not: Node resolves a symlink to its real path, where there is no @pulumi/pulumi).
// `npm ci` / `npm install` run it (postinstall), since they remove whatever is in node_modules that package.json
// does not name; `npm run build` runs it before compiling the program.
"use strict";
const { execFileSync } = require("child_process");
const fs = require("fs");
const path = require("path");

const here = __dirname;
const sdk = path.join(here, "..", "..", "sdk", "nodejs");
const out = path.join(here, "node_modules", "@pulumi-openai-billing", "sdk");

fs.rmSync(out, { recursive: true, force: true }); // no file the SDK no longer has survives
execFileSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", path.join(here, "tsconfig.sdk.json")], {
    stdio: "inherit",
});
// The SDK reads its version from its package.json (the plugin version it asks the engine for).
fs.copyFileSync(path.join(sdk, "package.json"), path.join(out, "package.json"));
