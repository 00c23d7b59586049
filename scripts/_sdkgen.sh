# Sourced by scripts/regen (after _setup.sh) and by tests/test_sdk.py: builds the SDK generator (scripts/sdkgen) into
# the cache beside the Pulumi CLI and exports its path as OPENAI_BILLING_SDKGEN. The binary's name carries a hash of
# the generator's main.go, go.mod and go.sum, so an edited generator is rebuilt and an unchanged one never is; it
# builds with -mod=readonly, from exactly the modules go.sum pins.
ROOT="${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
source "$ROOT/scripts/_cache.sh"

_sdkgen_build() {
  local target="$1" log="$PULUMI_CLI_ROOT/sdkgen-build.log"
  echo "building the SDK generator (scripts/sdkgen) into $target" >&2
  mkdir -p "$(dirname "$target")"
  (
    cd "$ROOT/scripts/sdkgen" &&
      GOFLAGS="${GOFLAGS:-} -buildvcs=false" go build -mod=readonly -o "$target.tmp" .
  ) >"$log" 2>&1 || {
    tail -n 20 "$log" >&2
    echo "error: building the SDK generator failed; the whole log is $log" >&2
    exit 1
  }
  mv "$target.tmp" "$target"
  # Other versions of the generator (other branches, earlier edits) go after a month; a checkout that still needs
  # one builds it again.
  find "$(dirname "$target")" -maxdepth 1 -name 'openai-billing-sdkgen-*' ! -name "$(basename "$target")" \
    -mtime +30 -delete
}

OPENAI_BILLING_SDKGEN="$PULUMI_CLI_ROOT/bin/openai-billing-sdkgen-$(
  cd "$ROOT/scripts/sdkgen" && cat main.go go.mod go.sum | sha256sum | cut -c1-12
)"
if [ ! -x "$OPENAI_BILLING_SDKGEN" ]; then
  if ! command -v go >/dev/null 2>&1; then
    echo "error: no Go to build the SDK generator (scripts/sdkgen): install Go 1.26.6+ (https://go.dev/dl/)" >&2
    exit 1
  fi
  # One build at a time: a second caller meanwhile waits, then reuses it.
  mkdir -p "$(dirname "$PULUMI_CLI_ROOT")"
  exec {_sdkgen_lock}>"$PULUMI_CLI_ROOT.sdkgen.lock"
  flock "$_sdkgen_lock"
  [ -x "$OPENAI_BILLING_SDKGEN" ] || _sdkgen_build "$OPENAI_BILLING_SDKGEN"
  flock -u "$_sdkgen_lock"
  exec {_sdkgen_lock}>&-
fi
export OPENAI_BILLING_SDKGEN
