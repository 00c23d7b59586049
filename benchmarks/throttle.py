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

``--every-control`` declares each project's every cost control instead: the program makes the project itself
(``Project``), and gives it a limit, 3 alerts, a model allow-list, hosted-tool switches, service tiers and one
rate limit (4 + 9P resources). Its minimal requests: the first preview, the project list and the organization's
limit (the projects are new, so nothing in them can be read yet); up, one write per resource and one rate-limit
list per project (the rate limit's id is found there); refresh, one read per setting, one alert and one
rate-limit list per project and the project list; destroy, one delete per alert (the rest is retained).

``--only PHASE`` measures one phase: the program is brought up with the throttle off first (not measured) when
the phase starts from a live stack (refresh, preview again, destroy), then the phase runs under the throttle;
``--only "preview again"`` is what every pull request's preview costs. The engine runs with ``--parallel``
operations at once (default 64: under the throttle most of them wait for their endpoint's turn).

    python benchmarks/throttle.py --projects 25 --rate-limit 7/60s
    python benchmarks/throttle.py --projects 25 --rate-limit 7/60s --every-control
    python benchmarks/throttle.py --projects 50 --rate-limit 7/60s --every-control --only "preview again"
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


EVERY_CONTROL = """
import json
from pathlib import Path

import pulumi_openai_billing as billing

spec = json.loads((Path(__file__).parent / "spec.json").read_text())
billing.OrganizationSpendLimit("org-limit", monthly_limit_usd=5000)
for usd in (2500, 4000, 5000):
    billing.OrganizationSpendAlert(f"org-alert-{usd}", threshold_usd=usd, recipients=["finops@example.com"])
for index in range(spec["new_projects"]):
    team = billing.Project(f"p{index}", name=f"team-{index}")
    billing.ProjectSpendLimit(f"p{index}-limit", project_id=team.id, monthly_limit_usd=750)
    for usd in (300, 600, 750):
        billing.ProjectSpendAlert(
            f"p{index}-alert-{usd}", project_id=team.id, threshold_usd=usd, recipients=["team@example.com"]
        )
    billing.ProjectModelPermissions(f"p{index}-models", project_id=team.id, model_ids=["gpt-4o-mini", "gpt-4.1"])
    billing.ProjectHostedTools(f"p{index}-tools", project_id=team.id, web_search=False, image_generation=False)
    billing.ProjectServiceTiers(f"p{index}-tiers", project_id=team.id, default="standard", enabled_tiers=[])
    billing.ProjectRateLimit(f"p{index}-rate", project_id=team.id, model="gpt-4o-mini", max_requests_per_1_minute=500)
"""
CONTROLS = ("model_permissions", "hosted_tool_permissions", "service_tier_settings")
"""The settings each project holds once besides its limit (each read on refresh, written on up)."""


def minimal(phase: str, projects: int, every_control: bool = False) -> Counter[str]:
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
        elif phase == "preview" and (scope == "organization" or not every_control):
            need[f"GET {prefix}/spend_limit"] += count[scope]  # a create there may meet a live limit
    if every_control and projects:
        pages = -(-projects // 100)
        project = scopes["project"]
        if phase == "up":
            need["POST /organization/projects"] += projects
            need[f"GET {project}/rate_limits"] += projects
            need[f"POST {project}/rate_limits/{{id}}"] += projects
            for control in CONTROLS:
                need[f"POST {project}/{control}"] += projects
        elif phase == "refresh":
            need["GET /organization/projects"] += pages
            need[f"GET {project}/rate_limits"] += projects
            for control in CONTROLS:
                need[f"GET {project}/{control}"] += projects
        elif phase == "preview":  # a project made by name must not exist already
            need["GET /organization/projects"] += pages
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


def run(
    projects: int,
    rate_limit: str,
    out: TextIO = sys.stdout,
    *,
    every_control: bool = False,
    only: str | None = None,
    parallel: int = 64,
) -> bool:
    limit = RateLimit.parse(rate_limit)
    assert limit is not None, "the throttle benchmark needs a throttle"
    ok = True
    with (
        tempfile.TemporaryDirectory(prefix="openai-billing-throttle-") as tmp,
        sandbox_process(ADMIN_KEY, "--rate-limit", "off") as url,
    ):
        account = _Sandbox(url)
        made = 0 if every_control else projects
        ids = [account.call("POST", "organization/projects", {"name": f"team-{i}"})["id"] for i in range(made)]
        program = Path(tmp) / "program"
        program.mkdir()
        (program / "Pulumi.yaml").write_text("name: billing-throttle\nruntime: python\n")
        (program / "__main__.py").write_text(EVERY_CONTROL if every_control else PROGRAM)
        (program / "spec.json").write_text(json.dumps({"projects": ids, "new_projects": projects}))
        pace = Path(tmp) / "pace"
        os.environ["OPENAI_BILLING_PACE_DIR"] = str(pace)  # the program's own reads pace with the plugin's
        stack = Stack(
            program,
            config={"openai-billing:baseUrl": url, "openai-billing:adminKey": ADMIN_KEY},
            env={"OPENAI_BILLING_PACE_DIR": str(pace)},
        )
        resources = 4 + (9 if every_control else 4) * projects
        shape = "every control" if every_control else "a limit and 3 alerts"
        phases = PHASES
        if only in ("refresh", "preview again", "destroy"):
            try:
                stack.up(parallel=parallel)  # unmeasured, with the throttle off: what the phase starts from
            except DeploymentError as exc:
                print(f"set-up FAILED: {exc}", file=out)
                return False
        if only is not None:
            phases = (only,)
        account.call("POST", "sandbox/rate_limit", {"rate_limit": rate_limit})
        print(
            f"{resources} resources ({projects} projects, each with {shape}), throttle {limit} per endpoint "
            f"(burst {limit.burst}, one request every {1 / limit.rate:.2f} s after it), --parallel {parallel}\n",
            file=out,
        )
        print("| phase | requests | refused (429) | minimal | wall s | floor s | wall / floor |", file=out)
        print("|---|---|---|---|---|---|---|", file=out, flush=True)
        details = []
        for phase in phases:
            time.sleep(limit.window)  # every bucket full again: each phase starts as after a quiet while
            before = account.counters()
            started = time.perf_counter()
            step = {"preview": stack.preview, "preview again": stack.preview}.get(phase) or getattr(stack, phase)
            try:
                result = step(parallel=parallel)
                problem = _wrong(phase, result.ops(), resources)
            except DeploymentError as exc:
                problem = str(exc)
            seconds = time.perf_counter() - started
            used = _used(before, account.counters())
            need = minimal(phase, projects, every_control)
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
    parser.add_argument("--every-control", action="store_true", help="each project: 9 resources, project included")
    parser.add_argument("--only", choices=PHASES, help="measure this phase alone (a live stack is made unthrottled)")
    parser.add_argument("--parallel", type=int, default=64, help="the engine's --parallel (default 64)")
    args = parser.parse_args(argv)
    try:
        limit = RateLimit.parse(args.rate_limit)
    except ValueError as exc:
        parser.error(str(exc))
    if limit is None or args.projects < 0:
        parser.error("--rate-limit must be N/Ms (not off) and --projects at least 0")
    ok = run(
        args.projects,
        args.rate_limit,
        every_control=args.every_control,
        only=args.only,
        parallel=args.parallel,
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
