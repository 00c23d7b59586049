"""The main-job command runs to the end without the Pulumi CLI and says what it did."""

from __future__ import annotations

import subprocess
import sys


def test_demo_runs_every_step_and_stops_its_sandbox() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pulumi_openai_billing.cli", "demo", "--cli", "no"],
        capture_output=True,
        text=True,
        timeout=180,
        stdin=subprocess.DEVNULL,
    )
    out = result.stdout
    assert result.returncode == 0, result.stderr[-2000:]
    assert "through pulumi_openai_billing.testing" in out
    steps = ["== 1. preview", "== 2. up", "== 3.", "== 4. refresh", "== 5. up", "== 6. destroy", "sandbox stopped"]
    positions = [out.index(step) for step in steps]
    assert positions == sorted(positions)
    refresh = out[out.index("== 4. refresh") : out.index("== 5. up")]
    assert "update   OrganizationSpendLimit org-limit [monthly_limit_cents, monthly_limit_usd]" in refresh
    assert "update   OrganizationSpendAlert org-alert-50 [threshold_cents, threshold_usd]" in refresh
    assert "limit was retained" in out
    assert "sk-admin-demo-" not in out + result.stderr
