"""Throttle: an organization converging under OpenAI's Admin API rate limit, against the floor it allows.

The sandbox runs in its own process with ``--rate-limit N/Ms`` (7/60s is OpenAI's, as measured: 7 requests per
endpoint in a burst, refilled over a minute, 429 without Retry-After). The program is an organization limit
with 3 alerts, and P projects each with a limit and 3 alerts (4 + 4P resources). It runs under Pulumi's engine
through ``pulumi_openai_billing.testing``, each phase once and with no setting changed: preview, up, refresh,
preview, destroy. Every phase must succeed in that one run; the script exits 1 otherwise.

Before each phase the buckets get a full window to refill (not counted). For each phase it prints the
requests per endpoint (and how many the throttle refused), the wall time, and the floor: for each endpoint
(its minimal requests - the burst) / the refill rate, the largest over the endpoints; and wall / floor.
Minimal requests: the first preview, one read per limit (a create may meet a live limit); up, one write per
resource; refresh, one read per limit and one alert list per scope; the preview after it, none (nothing is
created, and the guardrails compare with the state); destroy, one delete per alert (limits are retained).
The learned pace is kept in a folder of its own, so a run starts as a new machine would.

    python benchmarks/throttle.py --projects 25 --rate-limit 7/60s
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any, TextIO

import httpx

from pulumi_openai_billing.sandbox.throttle import RateLimit
from pulumi_openai_billing.testing import DeploymentError, Stack, sandbox_process

ADMIN_KEY = "sk-admin-throttle-0123456789abcdef"  # a fake key: only the sandbox started here knows it
PHASES = ("preview", "up", "refresh", "preview again", "destroy")
PROGRAM = """
import json
from pathlib import Path

import pulumi_openai_billing as billing

spec = json.loads((Path(__file__).parent / "spec.json").read_text())
billing.OrganizationSpendLimit("org-limit", monthly_limit_usd=5000)
for usd in (2500, 4000, 5000):
    billing.OrganizationSpendAlert(f"org-alert-{usd}", threshold_usd=usd, recipients=["finops@example.com"])
for index, project_id in enumerate(spec["projects"]):
    billing.ProjectSpendLimit(f"p{index}-limit", project_id=project_id, monthly_limit_usd=750)
    for usd in (300, 600, 750):
        billing.ProjectSpendAlert(
            f"p{index}-alert-{usd}", project_id=project_id, threshold_usd=usd, recipients=["team@example.com"]
        )
"""


def minimal(phase: str, projects: int) -> Counter[str]:
    """The fewest requests per endpoint a phase needs."""
    scopes = {"organization": "/organization", "project": "/organization/projects/{id}"}
    count = {"organization": 1, "project": projects}
    need: Counter[str] = Counter()
    for scope, prefix in scopes.items():
        if phase == "up":
            need[f"POST {prefix}/spend_limit"] += count[scope]
            need[f"POST {prefix}/spend_alerts"] += 3 * count[scope]
        elif phase == "destroy":
            need[f"DELETE {prefix}/spend_alerts/{{id}}"] += 3 * count[scope]
        elif phase == "refresh":
            need[f"GET {prefix}/spend_limit"] += count[scope]
            need[f"GET {prefix}/spend_alerts"] += count[scope]
        elif phase == "preview":  # every limit's scope is read once: a create there may meet a live limit
            need[f"GET {prefix}/spend_limit"] += count[scope]
    return need


def floor_seconds(need: Counter[str], limit: RateLimit) -> float:
    return max((max(0, n - limit.burst) / limit.rate for n in need.values()), default=0.0)


class _Sandbox:
    def __init__(self, url: str) -> None:
        self.http = httpx.Client(base_url=url + "/", headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=60)

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self.http.request(method, path, json=body)
        response.raise_for_status()
        return response.json()

    def counters(self) -> dict[str, dict[str, int]]:
        return self.call("GET", "sandbox/rate_limit")["endpoints"]


def _used(before: dict[str, dict[str, int]], after: dict[str, dict[str, int]]) -> dict[str, tuple[int, int]]:
    """Per endpoint: requests the phase sent (allowed + refused) and how many were refused."""
    used = {}
    for key, now in after.items():
        was = before.get(key, {"allowed": 0, "throttled": 0})
        sent = now["allowed"] + now["throttled"] - was["allowed"] - was["throttled"]
        if sent:
            used[key] = (sent, now["throttled"] - was["throttled"])
    return used


def run(projects: int, rate_limit: str, out: TextIO = sys.stdout) -> bool:
    limit = RateLimit.parse(rate_limit)
    assert limit is not None, "the throttle benchmark needs a throttle"
    ok = True
    with (
        tempfile.TemporaryDirectory(prefix="openai-billing-throttle-") as tmp,
        sandbox_process(ADMIN_KEY, "--rate-limit", "off") as url,
    ):
        account = _Sandbox(url)
        ids = [account.call("POST", "organization/projects", {"name": f"team-{i}"})["id"] for i in range(projects)]
        account.call("POST", "sandbox/rate_limit", {"rate_limit": rate_limit})
        program = Path(tmp) / "program"
        program.mkdir()
        (program / "Pulumi.yaml").write_text("name: billing-throttle\nruntime: python\n")
        (program / "__main__.py").write_text(PROGRAM)
        (program / "spec.json").write_text(json.dumps({"projects": ids}))
        pace = Path(tmp) / "pace"
        os.environ["OPENAI_BILLING_PACE_DIR"] = str(pace)  # the program's own reads pace with the plugin's
        stack = Stack(
            program,
            config={"openai-billing:baseUrl": url, "openai-billing:adminKey": ADMIN_KEY},
            env={"OPENAI_BILLING_PACE_DIR": str(pace)},
        )
        resources = 4 + 4 * projects
        print(
            f"{resources} resources ({projects} projects), throttle {limit} per endpoint "
            f"(burst {limit.burst}, one request every {1 / limit.rate:.2f} s after it)\n",
            file=out,
        )
        print("| phase | requests | refused (429) | minimal | wall s | floor s | wall / floor |", file=out)
        print("|---|---|---|---|---|---|---|", file=out, flush=True)
        details = []
        for phase in PHASES:
            time.sleep(limit.window)  # every bucket full again: each phase starts as after a quiet while
            before = account.counters()
            started = time.perf_counter()
            step = {"preview": stack.preview, "preview again": stack.preview}.get(phase) or getattr(stack, phase)
            try:
                result = step()
                problem = _wrong(phase, result.ops(), resources)
            except DeploymentError as exc:
                problem = str(exc)
            seconds = time.perf_counter() - started
            used = _used(before, account.counters())
            need = minimal(phase, projects)
            floor = floor_seconds(need, limit)
            sent, refused = sum(n for n, _ in used.values()), sum(r for _, r in used.values())
            ratio = f"{seconds / floor:.2f}x" if floor else "-"
            print(
                f"| {phase} | {sent} | {refused} | {sum(need.values())} | {seconds:.1f} | {floor:.1f} | {ratio} |",
                file=out,
                flush=True,
            )
            details.append((phase, used, need))
            if problem:
                ok = False
                print(f"\n{phase} FAILED: {problem}\n", file=out, flush=True)
                break
        print("\nRequests per endpoint (sent / refused / minimal):", file=out)
        for phase, used, need in details:
            print(f"- {phase}:", file=out)
            for key in sorted(set(used) | set(need)):
                sent, refused = used.get(key, (0, 0))
                print(f"    {key}: {sent} / {refused} / {need.get(key, 0)}", file=out)
    return ok


def _wrong(phase: str, ops: dict[str, str], resources: int) -> str:
    expected = {"preview": "create", "up": "create", "refresh": "same", "preview again": "same", "destroy": "delete"}
    if len(ops) != resources or set(ops.values()) != {expected[phase]}:
        return f"expected {resources} x {expected[phase]!r}, got {dict(Counter(ops.values()))}"
    return ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--projects", type=int, default=25, help="projects (4 resources each), default 25")
    parser.add_argument("--rate-limit", default="7/60s", help="the sandbox's throttle, N/Ms (default 7/60s)")
    args = parser.parse_args(argv)
    try:
        limit = RateLimit.parse(args.rate_limit)
    except ValueError as exc:
        parser.error(str(exc))
    if limit is None or args.projects < 0:
        parser.error("--rate-limit must be N/Ms (not off) and --projects at least 0")
    return 0 if run(args.projects, args.rate_limit) else 1


if __name__ == "__main__":
    sys.exit(main())
