# Sourced by _setup.sh: puts a Pulumi CLI and its YAML language host on PATH. A `pulumi` already on PATH (your own
# install) is used as it is. Otherwise the version pinned in pulumi_openai_billing/testing.py is built once from its
# Go module into a cache outside the checkout (it survives `.venv` rebuilds and new clones), with the
# `pulumi-resource-pulumi-python` launcher beside it: the engine starts dynamic providers through that plugin.
# The YAML language host (`runtime: yaml` programs) is built beside it the same way, unless your own install has one.
PULUMI_YAML_VERSION="v1.25.0"
source "$ROOT/scripts/_cache.sh"

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

# In a module of its own: Go picks the pulumi sdk/pkg versions pulumi-yaml asks for, not the CLI's.
_pulumi_yaml_build() {
  local bin="$PULUMI_CLI_ROOT/bin" work="$PULUMI_CLI_ROOT/build-yaml" goflags="${GOFLAGS:-} -buildvcs=false"
  echo "building the Pulumi YAML language host $PULUMI_YAML_VERSION from its Go module into $PULUMI_CLI_ROOT" >&2
  echo "  (once per machine: the first build takes a minute or two on 2 cores; later runs reuse it)" >&2
  rm -rf "$work" && mkdir -p "$work" "$bin"
  (
    cd "$work" &&
      GOFLAGS="$goflags" go mod init pulumi-language-yaml-build &&
      GOFLAGS="$goflags" go get "github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml@$PULUMI_YAML_VERSION" &&
      GOFLAGS="$goflags" go build -o "$bin/pulumi-language-yaml.tmp" \
        -ldflags "-X github.com/pulumi/pulumi-yaml/pkg/version.Version=$PULUMI_YAML_VERSION" \
        github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml
  ) >"$PULUMI_CLI_ROOT/build-yaml.log" 2>&1 || {
    tail -n 20 "$PULUMI_CLI_ROOT/build-yaml.log" >&2
    echo "error: building the Pulumi YAML language host failed; the whole log is $PULUMI_CLI_ROOT/build-yaml.log" >&2
    exit 1
  }
  mv "$bin/pulumi-language-yaml.tmp" "$bin/pulumi-language-yaml"
  rm -rf "$work"
}

# Builds what is missing of `cli` and `yaml`, one build at a time: a second set-up started meanwhile (the demo and
# the tests at once) waits, then reuses it.
_pulumi_build_missing() {
  local lock part
  mkdir -p "$(dirname "$PULUMI_CLI_ROOT")"
  exec {lock}>"$PULUMI_CLI_ROOT.lock"
  flock "$lock"
  for part in "$@"; do
    case "$part" in
      cli) [ -x "$PULUMI_CLI_ROOT/bin/pulumi" ] || _pulumi_build ;;
      yaml) [ -x "$PULUMI_CLI_ROOT/bin/pulumi-language-yaml" ] || _pulumi_yaml_build ;;
    esac
  done
  flock -u "$lock"
  exec {lock}>&-
}

if command -v pulumi >/dev/null 2>&1 && [ "$(command -v pulumi)" != "$PULUMI_CLI_ROOT/bin/pulumi" ]; then
  # Your own Pulumi CLI, with the launcher it ships. The engine finds a language host beside the CLI or on PATH:
  # when yours has no YAML host, the cache's goes on PATH after your directories (your own tools still come first).
  if ! command -v pulumi-language-yaml >/dev/null 2>&1 &&
    [ ! -x "$(dirname "$(command -v pulumi)")/pulumi-language-yaml" ]; then
    if [ -x "$PULUMI_CLI_ROOT/bin/pulumi-language-yaml" ] || command -v go >/dev/null 2>&1; then
      _pulumi_build_missing yaml
      export PATH="$PATH:$PULUMI_CLI_ROOT/bin"
    else
      echo "warning: your Pulumi CLI has no YAML language host (pulumi-language-yaml) and there is no Go to build one: programs with \`runtime: yaml\` will not run" >&2
    fi
  fi
elif [ -x "$PULUMI_CLI_ROOT/bin/pulumi" ] && [ -x "$PULUMI_CLI_ROOT/bin/pulumi-language-yaml" ]; then
  export PATH="$PULUMI_CLI_ROOT/bin:$PATH"
elif command -v go >/dev/null 2>&1; then
  _pulumi_build_missing cli yaml
  export PATH="$PULUMI_CLI_ROOT/bin:$PATH"
elif [ -x "$PULUMI_CLI_ROOT/bin/pulumi" ]; then
  echo "warning: no YAML language host (pulumi-language-yaml) beside the Pulumi CLI in $PULUMI_CLI_ROOT and no Go to build one: programs with \`runtime: yaml\` will not run" >&2
  export PATH="$PULUMI_CLI_ROOT/bin:$PATH"
else
  echo "error: no Pulumi CLI on PATH and no Go to build one: install Pulumi (https://www.pulumi.com/docs/install/) or Go 1.26.6+ (https://go.dev/dl/)" >&2
  exit 1
fi
