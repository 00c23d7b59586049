# Sourced by _pulumi.sh and _sdkgen.sh: where the pinned Pulumi CLI, its language host and the SDK generator are
# built, outside any checkout (pulumi_openai_billing/testing.py pins the version, and cache_root() says the same).
PULUMI_CLI_VERSION="$(sed -n 's/^PULUMI_CLI_VERSION = "\(v[0-9.]*\)"$/\1/p' "$ROOT/provider/pulumi_openai_billing/testing.py")"
PULUMI_CLI_ROOT="${OPENAI_BILLING_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pulumi-openai-billing}/pulumi-$PULUMI_CLI_VERSION"
