"""Random faults and latency in the sandbox: seeded, counted, switchable at run time and from the CLI."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import httpx
import pytest

from conftest import ADMIN_KEY, Api
from pulumi_openai_billing.sandbox import Sandbox
from pulumi_openai_billing.sandbox.models import RandomFaultsIn

ALERT = {
    "threshold_amount": 100,
    "currency": "USD",
    "interval": "month",
    "notification_channel": {"type": "email", "recipients": ["a@example.com"], "subject_prefix": None},
}


def _statuses(api: Api, count: int) -> list[int]:
    return [api.http.get("organization/projects").status_code for _ in range(count)]


def test_a_plan_set_at_run_time_faults_its_share_and_counts_it(api: Api) -> None:
    api.post("sandbox/faults/random", {"rate": 1.0, "kinds": ["503"], "methods": ["GET"]})
    assert _statuses(api, 5) == [503] * 5
    response = api.http.get("organization/projects")
    assert response.json()["error"]["type"] == "server_error"
    stats = api.get("sandbox/faults/random")
    assert stats["injected"] == {"503": 6} and stats["requests"] == 6
    assert api.http.post("organization/projects", json={"name": "p"}).status_code == 200, "POST is not in methods"
    api.http.delete("sandbox/faults/random").raise_for_status()
    assert _statuses(api, 3) == [200] * 3


def test_429_faults_carry_retry_after(api: Api) -> None:
    api.post("sandbox/faults/random", {"rate": 1.0, "kinds": ["429"], "retry_after": 0.25})
    response = api.http.get("organization/projects")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "1", "whole seconds, at least 1, as OpenAI's spec says"
    assert response.headers["retry-after-ms"] == "250", "the exact wait, which the official SDK reads first"
    assert response.json()["error"]["code"] == "rate_limit_exceeded"


def test_the_same_seed_replays_the_same_faults() -> None:
    plan = RandomFaultsIn(rate=0.4, kinds=["500", "503", "429"], seed=42)
    runs = []
    for _ in range(2):
        with Sandbox(ADMIN_KEY, faults=plan, rate_limit="off") as sandbox:
            runs.append(_statuses(Api(sandbox), 40))
    assert runs[0] == runs[1]
    assert 5 <= sum(s != 200 for s in runs[0]) <= 30 and {500, 503, 429} <= set(runs[0])
    with Sandbox(ADMIN_KEY, faults=plan.model_copy(update={"seed": 7}), rate_limit="off") as sandbox:
        assert _statuses(Api(sandbox), 40) != runs[0]


def test_ambiguous_success_commits_then_drops_the_connection(api: Api) -> None:
    api.post("sandbox/faults/random", {"rate": 1.0, "kinds": ["drop_after_commit"], "methods": ["POST"]})
    with pytest.raises(httpx.TransportError):
        api.http.post("organization/spend_alerts", json=ALERT)
    assert len(api.alerts()) == 1, "the change was committed before the connection dropped"


def test_latency_is_added_to_api_requests_not_to_the_control_endpoints(api: Api) -> None:
    api.post("sandbox/faults/random", {"latency_ms": 150})
    started = time.monotonic()
    api.http.get("organization/projects").raise_for_status()
    assert time.monotonic() - started >= 0.15
    assert api.get("sandbox/faults/random")["latency_ms"] == 150


def test_bad_plans_are_refused(api: Api) -> None:
    for plan in ({"rate": 1.5}, {"kinds": ["418"]}, {"kinds": []}, {"latency_ms": -1}, {"colour": 1}):
        response = api.http.post("sandbox/faults/random", json=plan)
        assert response.status_code == 400, plan
    assert api.get("sandbox/faults/random")["rate"] == 0.0


def test_cli_starts_a_sandbox_with_faults_and_refuses_bad_options() -> None:
    command = [sys.executable, "-m", "pulumi_openai_billing.cli", "sandbox", "--admin-key", ADMIN_KEY]
    process = subprocess.Popen(
        [*command, "--fault-rate", "0.25", "--fault-seed", "3", "--fault-kinds", "500,429", "--latency-ms", "5"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().strip()
        stats = httpx.get(f"{base_url}/sandbox/faults/random", headers={"Authorization": f"Bearer {ADMIN_KEY}"}).json()
        assert (stats["rate"], stats["seed"], stats["kinds"], stats["latency_ms"]) == (0.25, 3, ["500", "429"], 5)
    finally:
        process.terminate()
        process.wait(timeout=10)
    bad = subprocess.run([*command, "--fault-rate", "2", "--fault-kinds", "500"], capture_output=True, text=True)
    assert bad.returncode == 2 and "bad fault options" in bad.stderr and "Traceback" not in bad.stderr


def test_a_stall_commits_first_and_answers_late(api: Api) -> None:
    api.faults({"method": "POST", "path": "/v1/" + Api.alerts_path(), "kind": "stall_after_commit", "stall_seconds": 1})
    answers: list[int] = []
    started = time.monotonic()
    with httpx.Client(base_url=api.http.base_url, headers=api.http.headers) as other:
        poster = threading.Thread(target=lambda: answers.append(other.post(Api.alerts_path(), json=ALERT).status_code))
        poster.start()
        while not api.alerts() and time.monotonic() - started < 1:
            time.sleep(0.01)
        assert len(api.alerts()) == 1 and answers == [], "committed while the answer is held back"
        poster.join()
    assert answers == [200] and time.monotonic() - started >= 1


def test_skip_lets_matching_requests_through_first(api: Api) -> None:
    api.faults({"method": "GET", "path": "/v1/organization/projects", "kind": "status", "status": 503, "skip": 2})
    assert _statuses(api, 4) == [200, 200, 503, 200]
