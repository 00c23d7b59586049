# Sourced by _setup.sh: puts a Pulumi CLI on PATH. A `pulumi` already on PATH (your own install) is used as it is.
# Otherwise the version pinned in pulumi_openai_billing/testing.py is built once from its Go module into a cache
# outside the checkout (it survives `.venv` rebuilds and new clones), with the `pulumi-resource-pulumi-python`
# launcher beside it: the engine starts dynamic providers through that plugin.
PULUMI_CLI_VERSION="$(sed -n 's/^PULUMI_CLI_VERSION = "\(v[0-9.]*\)"$/\1/p' "$ROOT/provider/pulumi_openai_billing/testing.py")"
PULUMI_CLI_ROOT="${OPENAI_BILLING_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pulumi-openai-billing}/pulumi-$PULUMI_CLI_VERSION"

_pulumi_build() {
  local bin="$PULUMI_CLI_ROOT/bin" work="$PULUMI_CLI_ROOT/build"
  echo "building the Pulumi CLI $PULUMI_CLI_VERSION from its Go module into $PULUMI_CLI_ROOT" >&2
  echo "  (once per machine: the first build takes about 10 minutes on 2 cores; later runs reuse it)" >&2
  rm -rf "$work" && mkdir -p "$work" "$bin"
  (
    cd "$work"
    export GOFLAGS="${GOFLAGS:-} -buildvcs=false"
    go mod init pulumi-cli-build
    go get "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi@$PULUMI_CLI_VERSION"
    go build -o "$bin/pulumi.tmp" \
      -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_CLI_VERSION" \
      github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
  ) >"$PULUMI_CLI_ROOT/build.log" 2>&1 || {
    tail -n 20 "$PULUMI_CLI_ROOT/build.log" >&2
    echo "error: building the Pulumi CLI failed; the whole log is $PULUMI_CLI_ROOT/build.log" >&2
    exit 1
  }
  # The launcher testing.Stack gives the engine too: it ends the plugin once the CLI that started it is gone.
  cp "$ROOT/provider/pulumi_openai_billing/_plugin_launcher.py" "$bin/pulumi-resource-pulumi-python"
  chmod +x "$bin/pulumi-resource-pulumi-python"
  mv "$bin/pulumi.tmp" "$bin/pulumi"
  rm -rf "$work"
}

if command -v pulumi >/dev/null 2>&1 && [ "$(command -v pulumi)" != "$PULUMI_CLI_ROOT/bin/pulumi" ]; then
  : # your own Pulumi CLI, with the launcher it ships
elif [ -x "$PULUMI_CLI_ROOT/bin/pulumi" ]; then
  export PATH="$PULUMI_CLI_ROOT/bin:$PATH"
elif command -v go >/dev/null 2>&1; then
  # One build at a time: a second set-up started meanwhile (the demo and the tests at once) waits, then reuses it.
  mkdir -p "$(dirname "$PULUMI_CLI_ROOT")"
  exec {_pulumi_lock}>"$PULUMI_CLI_ROOT.lock"
  flock "$_pulumi_lock"
  [ -x "$PULUMI_CLI_ROOT/bin/pulumi" ] || _pulumi_build
  flock -u "$_pulumi_lock"
  export PATH="$PULUMI_CLI_ROOT/bin:$PATH"
else
  echo "error: no Pulumi CLI on PATH and no Go to build one: install Pulumi (https://www.pulumi.com/docs/install/) or Go 1.24+ (https://go.dev/dl/)" >&2
  exit 1
fi
