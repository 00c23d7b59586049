"""The main-job command runs every step under the Pulumi engine and says what it did, with values."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest


def test_demo_runs_every_step_and_stops_its_sandbox() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pulumi_openai_billing.cli", "demo"],
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    out = result.stdout
    assert result.returncode == 0, result.stderr[-2000:]
    steps = ["== 1. preview", "== 2. up", "== 3.", "== 4. refresh", "== 5. up", "== 6. destroy", "sandbox stopped"]
    positions = [out.index(step) for step in steps]
    assert positions == sorted(positions)
    preview = out[out.index("== 1. preview") : out.index("== 2. up")]
    assert "6 to create, 0 unchanged" in preview
    refresh = out[out.index("== 4. refresh") : out.index("== 5. up")]
    assert "update OrganizationSpendLimit org-limit  monthly_limit_cents: 500000 → 900000, " in refresh
    assert "monthly_limit_usd: 5000.00 → 9000.00" in refresh
    assert "update OrganizationSpendAlert org-alert-50  threshold_cents: 250000 → 123400" in refresh
    restore = out[out.index("== 5. up") : out.index("== 6. destroy")]
    assert "update OrganizationSpendLimit org-limit  monthly_limit_usd: 9000.00 → 5000.00" in restore
    destroy = out[out.index("== 6. destroy") :]
    assert "kept (on_delete=retain) OrganizationSpendLimit org-limit" in destroy
    assert "kept (on_delete=retain) ProjectSpendLimit team-a-limit" in destroy
    assert "delete OrganizationSpendAlert org-alert-50" in destroy
    assert "2 kept, 4 deleted" in destroy or "4 deleted, 2 kept" in destroy
    assert "the organization limit is still live: 5,000.00 USD" in destroy
    assert "sk-admin-demo-" not in out + result.stderr


def test_ctrl_c_during_the_demo_stops_everything_quietly_with_130() -> None:
    """Ctrl-C reaches the whole foreground group (the demo, its sandbox, the Pulumi CLI and its plugin), as in a
    terminal: the demo stops its sandbox, says so, and exits 130 without a traceback; no process is left."""
    process = subprocess.Popen(
        [sys.executable, "-m", "pulumi_openai_billing.cli", "demo"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    assert process.stdout is not None
    seen = []
    for line in process.stdout:
        seen.append(line)
        if line.startswith("== 2. up"):
            time.sleep(1.0)
            os.killpg(process.pid, signal.SIGINT)
            break
    out, err = process.communicate(timeout=120)
    url = next(line.split()[2] for line in seen if line.startswith("sandbox serving"))
    assert process.returncode == 130, err[-2000:]
    assert "Traceback" not in err and len(err.strip().splitlines()) <= 1, err
    assert out.rstrip().endswith("sandbox stopped")
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "/organization/projects", timeout=2)
    assert _in_session(process.pid) == [], "nothing the demo started outlives it"


def _in_session(session: int) -> list[str]:
    """The live processes of a session (what ``pgrep -s`` lists), read from /proc."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2 :].split()  # after "pid (comm) ": state, ppid, pgrp, session…
        if int(fields[3]) == session and fields[0] != "Z":
            found.append(text[: text.rindex(")") + 1])
    return found
