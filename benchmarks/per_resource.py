"""Per-resource cost in the provider's own code: what each of thousands of resources pays besides its requests.

Measured in this process against an in-process sandbox, with the live figures already fetched (as for every
resource after the first of its scope): serializing the provider into the resource's state (done by the
program for each resource), check (validation, canonical form, guardrails from the shared figures), diff,
and read of an alert from its scope's shared list. Printed as microseconds per call and, for scale, as a
share of one 50 ms API round trip; plus the bytes the serialized provider adds to each resource's state.

    python benchmarks/per_resource.py --repeat 2000
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import Any

import httpx
from pulumi.dynamic.dynamic import serialize_provider

from pulumi_openai_billing._api import config
from pulumi_openai_billing.providers import ProjectSpendAlertProvider, ProjectSpendLimitProvider
from pulumi_openai_billing.sandbox import Sandbox

ADMIN_KEY = "sk-admin-perres-0123456789abcdef"  # a fake key: only the sandbox started here knows it
ROUND_TRIP_MS = 50.0


def _per_call_us(action: Callable[[], Any], repeat: int) -> float:
    action()
    started = time.perf_counter()
    for _ in range(repeat):
        action()
    return (time.perf_counter() - started) / repeat * 1e6


def run(repeat: int, out: Any = sys.stdout) -> None:
    with Sandbox(ADMIN_KEY, rate_limit="off") as sandbox:
        http = httpx.Client(base_url=sandbox.base_url + "/", headers={"Authorization": f"Bearer {ADMIN_KEY}"})
        project = http.post("organization/projects", json={"name": "per-resource"}).json()["id"]
        config.set_process_config({"openai-billing:baseUrl": sandbox.base_url, "openai-billing:adminKey": ADMIN_KEY})
        limits, alerts = ProjectSpendLimitProvider(), ProjectSpendAlertProvider()
        limit_news = {"project_id": project, "monthly_limit_usd": 1000}
        alert_news = {
            "project_id": project,
            "threshold_usd": 250,
            "recipients": ["Oncall@Example.com", "finops@example.com"],
            "subject_prefix": "[scale]",
        }
        limit_inputs = limits.check({}, limit_news).inputs
        alert_inputs = alerts.check({}, alert_news).inputs
        created = alerts.create(alert_inputs)
        state = created.outs
        serialized = serialize_provider(alerts)
        http.delete("sandbox/requests")
        figures = {
            "serialize provider (program, per resource)": _per_call_us(lambda: serialize_provider(alerts), repeat),
            "check limit (warm figures)": _per_call_us(lambda: limits.check({}, limit_news), repeat),
            "check alert (warm figures)": _per_call_us(lambda: alerts.check({}, alert_news), repeat),
            "diff alert (no change)": _per_call_us(lambda: alerts.diff(created.id, state, alert_inputs), repeat),
            "read alert (shared list)": _per_call_us(lambda: alerts.read(created.id, state), repeat),
        }
        requests_during = len(http.get("sandbox/requests").json())
    if not limit_inputs or not alert_inputs:
        raise SystemExit("the checks failed: the figures would measure a refusal")
    for name, micros in figures.items():
        print(
            f"{name}: {micros:.0f} µs ({micros / (ROUND_TRIP_MS * 10):.2f}% of a {ROUND_TRIP_MS:.0f} ms round trip)",
            file=out,
        )
    print(f"serialized provider in state: {len(serialized)} bytes per resource", file=out)
    print(f"API requests during the {repeat} timed calls of each: {requests_during}", file=out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=2000, help="calls timed per operation (default 2000)")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    run(args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
