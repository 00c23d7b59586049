# Sourced by _setup.sh and scripts/lock: puts the pinned uv in $UV. uv installs .venv from uv.lock (seconds, where
# pip took about a minute) and checks the lock against pyproject.toml. It comes from PyPI once per machine, into
# the same cache as the Pulumi CLI, so it outlives `.venv` and new clones.
UV_VERSION="0.13.8"
UV_HOME="${OPENAI_BILLING_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pulumi-openai-billing}/uv-$UV_VERSION"
UV="$UV_HOME/bin/uv"
# Never fetch a Python of its own: the machine's python3 (or $PYTHON) is the one the lock was tested on.
export UV_PYTHON_DOWNLOADS=never UV_PROJECT_ENVIRONMENT="$ROOT/.venv" UV_NO_PROGRESS=1
# Compiled at install, as pip does: else every test worker and plugin process compiles the same modules first.
export UV_COMPILE_BYTECODE=1
_uv_install() {
  echo "installing uv $UV_VERSION into $UV_HOME (once per machine)" >&2
  rm -rf "$UV_HOME"
  "${PYTHON:-python3}" -m venv "$UV_HOME" >&2
  "$UV_HOME/bin/python" -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION" >&2 || {
    echo "error: could not install uv $UV_VERSION from PyPI into $UV_HOME" >&2
    exit 1
  }
}
if [ ! -x "$UV" ]; then
  mkdir -p "$(dirname "$UV_HOME")"
  exec {_uv_lock}>"$UV_HOME.lock"
  flock "$_uv_lock"
  [ -x "$UV" ] || _uv_install
  flock -u "$_uv_lock"
fi
