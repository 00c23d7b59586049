"""`scripts/live-check` against a sandbox on loopback: it reads, exports and previews, finds the exported program
adopts everything as it is, and writes nothing."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from conftest import ADMIN_KEY, Api
from pulumi_openai_billing.sandbox import Sandbox

LIVE_CHECK = Path(__file__).resolve().parents[1] / "scripts" / "live-check"


def test_live_check_reports_no_change_and_writes_nothing(sandbox: Sandbox, api: Api) -> None:
    api.set_limit(5000)
    api.post(api.alerts_path(), _alert(250_000, "finops@example.com", "[openai 50%]"))
    for name in ("team-a", "research"):
        project = api.project(name)
        api.set_limit(750, project)
        api.post(api.alerts_path(project), _alert(60_000, "lead@example.com"))
    api.clear_requests()

    run = subprocess.run(
        [str(LIVE_CHECK), "--base-url", sandbox.base_url, "--projects", "3"],
        env={**os.environ, "OPENAI_ADMIN_KEY": ADMIN_KEY},
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert run.returncode == 0, run.stdout + run.stderr
    assert "no change: each of the 6 resources adopts its live object as it is" in run.stdout
    assert "live-check: everything agrees" in run.stdout
    assert "FINDING" not in run.stdout
    assert api.requests(), "it read the account"
    assert api.writes() == [], "live-check writes nothing"


def _alert(cents: int, recipient: str, prefix: str | None = None) -> dict[str, object]:
    channel = {"type": "email", "recipients": [recipient], "subject_prefix": prefix}
    return {"threshold_amount": cents, "currency": "USD", "interval": "month", "notification_channel": channel}
