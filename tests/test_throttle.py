"""OpenAI's Admin API throttle in the sandbox (on by default, as measured: 7 per endpoint, refilled over a
minute, 429 without Retry-After), and the client getting through it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from conftest import ADMIN_KEY, Api, plugin_config, run_benchmark, write_program
from pulumi_openai_billing.functions import list_projects
from pulumi_openai_billing.sandbox import Sandbox
from pulumi_openai_billing.testing import Stack

HEADERS = {"Authorization": f"Bearer {ADMIN_KEY}"}


def test_by_default_each_endpoint_allows_a_burst_of_seven_then_answers_429_as_openai_does() -> None:
    with Sandbox(ADMIN_KEY) as sandbox, httpx.Client(base_url=sandbox.base_url + "/", headers=HEADERS) as http:
        team, other = (http.post("organization/projects", json={"name": n}).json()["id"] for n in ("a", "b"))
        statuses = [http.get(f"organization/projects/{p}/spend_limit").status_code for p in [team, other] * 4]
        assert statuses == [200] * 7 + [429], "one endpoint, whatever the project id"
        refused = http.get(f"organization/projects/{team}/spend_limit")
        assert refused.json() == {
            "error": {
                "message": "You're making too many requests, please slow down.",
                "type": "requests",
                "param": None,
                "code": "rate_limit_exceeded",
            }
        }
        assert "retry-after" not in refused.headers and not any(h.startswith("x-ratelimit") for h in refused.headers)
        assert http.get("organization/spend_limit").status_code == 200, "another endpoint has its own bucket"
        for _ in range(20):
            assert http.get("sandbox/state").status_code == 200, "the sandbox's own endpoints are never throttled"
        stats = http.get("sandbox/rate_limit").json()
        assert stats["rate_limit"] == "7/60s" and stats["retry_after"] is False
        assert stats["endpoints"]["GET /organization/projects/{id}/spend_limit"]["throttled"] == 2


def test_the_throttle_is_set_at_run_time_and_can_send_retry_after(sandbox: Sandbox, api: Api) -> None:
    api.post("sandbox/rate_limit", {"rate_limit": "2/4s", "retry_after": True})
    with httpx.Client(base_url=sandbox.base_url + "/", headers=HEADERS) as http:
        assert [http.get("organization/projects").status_code for _ in range(3)] == [200, 200, 429]
        refused = http.get("organization/projects")
        assert refused.headers["retry-after"] == "2", "whole seconds until the next request is allowed"
        assert api.http.get("organization/projects").status_code == 200, "a dashboard edit is not counted"
        api.post("sandbox/rate_limit", {"rate_limit": "off"})
        assert all(http.get("organization/projects").status_code == 200 for _ in range(20))
    bad = api.http.post("sandbox/rate_limit", json={"rate_limit": "seven a minute"})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "rate_limit"


@pytest.mark.rate_limit("3/1s")
def test_the_client_waits_its_turn_and_gets_through(env: None, api: Api) -> None:
    """Twenty reads of one endpoint at 3 per second: every one succeeds, in about the time the bucket takes."""
    started = time.monotonic()
    for _ in range(20):
        assert list_projects() == []
    elapsed = time.monotonic() - started
    statuses = [r["status"] for r in api.requests()]
    assert statuses.count(200) == 20 and set(statuses) <= {200, 429}
    assert elapsed >= (20 - 3) / 3 - 0.5, "no faster than the throttle allows"
    assert statuses.count(429) <= 20, "paced, not hammering"


def test_the_sandbox_command_refuses_a_malformed_rate_limit() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pulumi_openai_billing.cli", "sandbox", "--rate-limit", "7 per minute"],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        env={"OPENAI_ADMIN_KEY": ADMIN_KEY, "PATH": ""},
    )
    assert result.returncode == 2 and result.stdout == ""
    assert "--rate-limit: a rate limit is N/Ms" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.rate_limit("2/12s")
def test_pulumi_up_shows_the_wait(sandbox: Sandbox, tmp_path: Path) -> None:
    """The engine shows what the provider's plugin writes on standard error: a wait of 5 s or more says so."""
    body = "".join(
        f'billing.OrganizationSpendAlert("a{i}", threshold_usd={10 + i}, recipients=["a@example.com"])\n'
        for i in range(3)
    )
    stack = Stack(write_program(tmp_path, body), config=plugin_config(sandbox))
    printed: list[str] = []
    assert set(stack.up(on_output=printed.append).ops().values()) == {"create"}
    waits = [line for line in printed if "openai-billing: waiting" in line]
    assert waits and "for OpenAI's rate limit on POST /organization/spend_alerts" in waits[0]


@pytest.mark.rate_limit("1/6s")
def test_the_commands_say_when_they_wait(sandbox: Sandbox, api: Api) -> None:
    for name in ("a", "b"):
        api.set_limit(10, api.project(name))
    result = subprocess.run(
        [sys.executable, "-m", "pulumi_openai_billing.cli", "export", "--format", "yaml", "--output", "-"],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "OPENAI_ADMIN_KEY": ADMIN_KEY, "OPENAI_BILLING_BASE_URL": sandbox.base_url},
    )
    assert result.returncode == 0, result.stderr
    assert "openai-billing: waiting" in result.stderr and "GET /organization/projects/{id}/spend_limit" in result.stderr


def test_the_throttle_benchmark_converges_in_one_run_of_each_step() -> None:
    """The short version of benchmarks/throttle.py: 24 resources at 7 per 3 s, every step in one run."""
    done = run_benchmark("throttle.py", "--projects", "5", "--rate-limit", "7/3s")
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    rows = [line for line in done.stdout.splitlines() if line.startswith("| ") and "phase" not in line]
    assert [row.split(" | ")[0] for row in rows] == ["| preview", "| up", "| refresh", "| preview again", "| destroy"]
    assert "POST /organization/projects/{id}/spend_alerts:" in done.stdout and "FAILED" not in done.stdout


def test_the_plugin_serves_more_operations_at_once_than_the_hosts_four_workers(
    sandbox: Sandbox, api: Api, tmp_path: Path
) -> None:
    """Under the throttle most operations wait for their endpoint's turn: the dynamic-provider host's 4 workers
    would let 4 waits on one endpoint hold up every other request. 12 alerts, each request held 0.5 s by the
    sandbox, with the engine sending 16 at once: the sandbox serves more than 4 of them at once."""
    body = "".join(
        f'billing.OrganizationSpendAlert("a{usd}", threshold_usd={usd}, recipients=["a@example.com"])\n'
        for usd in range(100, 1300, 100)
    )
    stack = Stack(write_program(tmp_path, body), config=plugin_config(sandbox))
    api.post("sandbox/faults/random", {"latency_ms": 500})
    api.clear_requests()
    assert set(stack.up(parallel=16).ops().values()) == {"create"}
    assert api.get("sandbox/requests/in_flight")["peak"] > 4
