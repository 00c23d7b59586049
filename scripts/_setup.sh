# Sourced by the scripts: .venv holds exactly what uv.lock says (the project, editable, with its dev and test
# tools), and a Pulumi CLI is on PATH.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
source "$ROOT/scripts/_uv.sh"
if ! "$UV" lock --check --offline --python "$PYTHON" >/dev/null 2>&1; then
  echo "error: uv.lock does not match pyproject.toml: run scripts/lock, then commit uv.lock" >&2
  exit 1
fi
[ -x .venv/bin/python ] || echo "setting up .venv from uv.lock (first run)" >&2
"$UV" sync --frozen --extra dev --python "$PYTHON" --quiet >&2
# The tests that install a user's program with pip (fresh venvs) take the same versions through PIP_CONSTRAINT.
"$UV" export --frozen --all-extras --no-emit-project --no-hashes --quiet --output-file .venv/constraints.txt >/dev/null
source "$ROOT/scripts/_pulumi.sh"
