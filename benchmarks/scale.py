"""Scale: create, refresh and preview of thousands of limits and alerts, against the least the API needs.

For each size N, latency and shape, a sandbox runs in its own process (API latency added with the sandbox's
``latency_ms`` fault) and a program of N resources runs through ``pulumi_openai_billing.testing`` (the real
``python -m pulumi.dynamic`` plugin server, at most 4 operations at once):

* ``many-projects``: N/4 projects, each with a ProjectSpendLimit and 3 ProjectSpendAlerts;
* ``few-scopes``: 20 projects, each with a ProjectSpendLimit and up to 99 ProjectSpendAlerts.

Phases: ``create`` (up from nothing), ``refresh`` (read every resource), ``preview`` (check + diff, no
change). For each it prints the HTTP requests the sandbox received, requests per resource, wall time and two
ratios measured in the same run:

* requests / minimal: for refresh and preview, the minimal read set (one limit read per declared limit, one
  list page of 100 per 100 alerts per scope); for create, one write per resource;
* seconds / floor: the floor is the same program of do-nothing dynamic resources stepped through the same
  plugin server (it sends no request, so one run per shape and size serves every latency), plus the phase's
  minimal requests sent directly with httpx, 4 at a time (for create, one write per resource re-sending each
  live object's own values).

Exits 1 when a refresh reports drift or a preview a change (the figures would then measure a wrong run).

    python benchmarks/scale.py --sizes 100,500,2000 --latency-ms 0,50
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import httpx

from pulumi_openai_billing.testing import Stack, sandbox_process

ADMIN_KEY = "sk-admin-scale-0123456789abcdef"  # a fake key: only the sandbox started here knows it
SHAPES = ("many-projects", "few-scopes")
FEW_SCOPES_PROJECTS = 20
MAX_ALERTS_PER_SCOPE = 99
PAGE = 100
CONCURRENCY = 4
"""The plugin server's own limit on operations at once, used for the floor's direct requests too."""
LIMIT_USD = 1000
RECIPIENTS = ["finops@example.com", "oncall@example.com"]
PREFIX = "[scale]"
REFRESH_TARGET = 1.05
TIME_TARGET = 1.5

NOTHING = """
import pulumi.dynamic


class NothingProvider(pulumi.dynamic.ResourceProvider):
    def check(self, olds, news):
        return pulumi.dynamic.CheckResult(news, [])

    def diff(self, id_, olds, news):
        return pulumi.dynamic.DiffResult(changes=False)

    def create(self, props):
        return pulumi.dynamic.CreateResult(props["label"], props)

    def read(self, id_, props):
        return pulumi.dynamic.ReadResult(id_, props)


class Nothing(pulumi.dynamic.Resource):
    def __init__(self, name, **props):
        super().__init__(NothingProvider(), name, {"label": name, **props})
"""
"""The floor's do-nothing resource, in a module of its own that the plugin server imports: pickled by
reference, as the billing providers are. (Pulumi's SDK leaves a wrapper on the pickler per serialized
provider, so a provider pickled by value fails with RecursionError after a few hundred resources in one
process.)"""

PROGRAM = """
import json
from pathlib import Path

import pulumi_openai_billing as billing

spec = json.loads((Path(__file__).parent / "spec.json").read_text())
if spec["noop"]:
    from nothing import Nothing

for project in spec["projects"]:
    name, pid = project["name"], project["id"]
    if spec["noop"]:
        Nothing(f"{name}-limit", project_id=pid, monthly_limit_usd=spec["limit_usd"])
    else:
        billing.ProjectSpendLimit(f"{name}-limit", project_id=pid, monthly_limit_usd=spec["limit_usd"])
    for usd in project["alerts"]:
        alert = dict(project_id=pid, threshold_usd=usd, recipients=spec["recipients"], subject_prefix=spec["prefix"])
        if spec["noop"]:
            Nothing(f"{name}-alert-{usd}", **alert)
        else:
            billing.ProjectSpendAlert(f"{name}-alert-{usd}", **alert)
"""


def layout(shape: str, size: int) -> list[int]:
    """Alerts per project, so that projects (one limit each) plus alerts make ``size`` resources."""
    if shape == "many-projects":
        full, rest = divmod(size, 4)
        return [3] * full + ([rest - 1] if rest else [])
    per, rest = divmod(size, FEW_SCOPES_PROJECTS)
    if per + (rest > 0) > 1 + MAX_ALERTS_PER_SCOPE or size < FEW_SCOPES_PROJECTS:
        raise ValueError(f"few-scopes holds {FEW_SCOPES_PROJECTS} to {FEW_SCOPES_PROJECTS * 100} resources")
    return [per - 1 + (i < rest) for i in range(FEW_SCOPES_PROJECTS)]


def minimal_reads(alerts: list[int]) -> int:
    """One limit read per limit and one list page per 100 alerts per scope."""
    return len(alerts) + sum(math.ceil(a / PAGE) for a in alerts)


@dataclass
class Row:
    shape: str
    size: int
    latency_ms: int
    phase: str
    requests: int
    minimal: int
    seconds: float
    floor: float

    def cells(self) -> list[str]:
        return [
            self.shape,
            str(self.size),
            str(self.latency_ms),
            self.phase,
            str(self.requests),
            f"{self.requests / self.size:.3f}",
            str(self.minimal),
            f"{self.requests / self.minimal:.2f}",
            f"{self.seconds:.1f}",
            f"{self.floor:.1f}",
            f"{self.seconds / self.floor:.2f}",
        ]


HEADER = ["shape", "N", "latency ms", "phase", "requests", "per resource", "minimal", "x minimal", "s", "floor s"]
HEADER.append("x floor")


class _Account:
    """Direct requests to the sandbox: set-up, the request log, and the floor's minimal request sets."""

    def __init__(self, url: str) -> None:
        self.http = httpx.Client(
            base_url=url + "/",
            headers={"Authorization": f"Bearer {ADMIN_KEY}"},
            limits=httpx.Limits(max_connections=CONCURRENCY),
            timeout=60,
        )

    def call(self, method: str, path: str, body: dict[str, Any] | None = None, **params: Any) -> Any:
        response = self.http.request(method, path, json=body, params=params or None)
        response.raise_for_status()
        return response.json()

    def count_requests(self) -> int:
        """API requests received since the last count (sandbox control requests are not logged)."""
        count = len(self.call("GET", "sandbox/requests"))
        self.call("DELETE", "sandbox/requests")
        return count

    def timed(self, requests: list[tuple[str, str, dict[str, Any] | None]]) -> float:
        started = time.perf_counter()
        with ThreadPoolExecutor(CONCURRENCY) as pool:
            list(pool.map(lambda r: self.call(*r), requests))
        return time.perf_counter() - started

    def reads(self, project_ids: list[str], alerts: list[int]) -> list[tuple[str, str, dict[str, Any] | None]]:
        """The minimal read set (the shapes keep a scope within one page of alerts)."""
        result: list[tuple[str, str, dict[str, Any] | None]] = []
        for pid, count in zip(project_ids, alerts, strict=True):
            result.append(("GET", f"organization/projects/{pid}/spend_limit", None))
            result += [("GET", f"organization/projects/{pid}/spend_alerts?limit={PAGE}", None)] * math.ceil(
                count / PAGE
            )
        return result

    def writes(self, project_ids: list[str]) -> list[tuple[str, str, dict[str, Any] | None]]:
        """One write per live object, re-sending its own values (so the account is left as it was); the
        objects are read from the sandbox's state, which no latency delays."""
        state = self.call("GET", "sandbox/state")
        result: list[tuple[str, str, dict[str, Any] | None]] = []
        for pid in project_ids:
            limit = state["spend_limits"]["projects"][pid]
            result.append(("POST", f"organization/projects/{pid}/spend_limit", _limit_body(limit)))
            for alert in state["spend_alerts"]["projects"].get(pid, []):
                result.append(("POST", f"organization/projects/{pid}/spend_alerts/{alert['id']}", _alert_body(alert)))
        return result


def _limit_body(limit: dict[str, Any]) -> dict[str, Any]:
    return {k: limit[k] for k in ("threshold_amount", "currency", "interval")}


def _alert_body(alert: dict[str, Any]) -> dict[str, Any]:
    channel = {k: alert["notification_channel"][k] for k in ("type", "recipients", "subject_prefix")}
    return {**_limit_body(alert), "notification_channel": channel}


def _alert_thresholds(count: int) -> list[int]:
    return [10 * (i + 1) for i in range(count)]


PHASES = ("create", "refresh", "preview")


def _spec(project_ids: list[str], alerts: list[int]) -> dict[str, Any]:
    return {
        "limit_usd": LIMIT_USD,
        "recipients": RECIPIENTS,
        "prefix": PREFIX,
        "projects": [
            {"name": f"p{i}", "id": pid, "alerts": _alert_thresholds(n)}
            for i, (pid, n) in enumerate(zip(project_ids, alerts, strict=True))
        ],
    }


def _phases(
    program: Path, spec: dict[str, Any], url: str, after: Callable[[str], None] = lambda phase: None
) -> tuple[dict[str, float], list[str]]:
    """Create, refresh and preview a program (written to ``program``): seconds per phase, and the phases
    whose result was not a create of everything, then no change."""
    program.mkdir()
    (program / "Pulumi.yaml").write_text("name: billing-scale\nruntime: python\n")
    (program / "__main__.py").write_text(PROGRAM)
    (program / "nothing.py").write_text(NOTHING)
    (program / "spec.json").write_text(json.dumps(spec))
    config = {"openai-billing:baseUrl": url, "openai-billing:adminKey": ADMIN_KEY}
    stack = Stack(program, config=config, env={"PYTHONPATH": str(program)})
    size = sum(1 + len(p["alerts"]) for p in spec["projects"])
    seconds: dict[str, float] = {}
    wrong: list[str] = []
    for phase, step in zip(PHASES, (stack.up, stack.refresh, stack.preview), strict=True):
        started = time.perf_counter()
        result = step()
        seconds[phase] = time.perf_counter() - started
        after(phase)
        expected = "create" if phase == "create" else "same"
        if len(result.changes) != size or any(op != expected for op in result.ops().values()):
            wrong.append(f"{phase} of {program.name}: not {size} resources with {expected!r}")
    return seconds, wrong


def floor_program(shape: str, size: int, workdir: Path) -> tuple[dict[str, float], list[str]]:
    """The do-nothing program of a shape and size: it sends no request, so one run serves every latency."""
    alerts = layout(shape, size)
    spec = {**_spec([f"proj_{i}" for i in range(len(alerts))], alerts), "noop": True}
    return _phases(workdir / f"{shape}-{size}-noop", spec, "http://127.0.0.1:9/v1")


def run_case(
    shape: str, size: int, latency_ms: int, workdir: Path, noop: dict[str, float]
) -> tuple[list[Row], list[str]]:
    """One shape, size and latency against a fresh sandbox: the three phases and their floors (``noop``:
    the do-nothing program's seconds per phase)."""
    alerts = layout(shape, size)
    with sandbox_process(ADMIN_KEY, "--rate-limit", "off") as url:
        account = _Account(url)
        names = (f"{shape}-{i}" for i in range(len(alerts)))
        project_ids = [account.call("POST", "organization/projects", {"name": name})["id"] for name in names]
        account.call("POST", "sandbox/faults/random", {"latency_ms": latency_ms})
        account.count_requests()
        requests: dict[str, int] = {}
        seconds, wrong = _phases(
            workdir / f"{shape}-{size}-{latency_ms}",
            {**_spec(project_ids, alerts), "noop": False},
            url,
            after=lambda phase: requests.__setitem__(phase, account.count_requests()),
        )
        writes = account.writes(project_ids)
        account.count_requests()
        read_seconds = account.timed(account.reads(project_ids, alerts))
        direct = {"create": account.timed(writes), "refresh": read_seconds, "preview": read_seconds}
    minimal = {"create": size, "refresh": minimal_reads(alerts), "preview": minimal_reads(alerts)}
    rows = [
        Row(
            shape, size, latency_ms, phase, requests[phase], minimal[phase], seconds[phase], noop[phase] + direct[phase]
        )
        for phase in PHASES
    ]
    return rows, [f"{latency_ms} ms: {problem}" for problem in wrong]


def _print_row(cells: list[str], out: TextIO) -> None:
    print("| " + " | ".join(cells) + " |", file=out, flush=True)


def run(sizes: list[int], latencies: list[int], shapes: list[str], out: TextIO = sys.stdout) -> bool:
    """Print the table a row at a time (a Markdown table: docs/performance.md holds one), then the refresh
    figures of the largest size at the highest latency against their targets."""
    started = time.perf_counter()
    rows: list[Row] = []
    problems: list[str] = []
    _print_row(HEADER, out)
    _print_row(["---"] * len(HEADER), out)
    with tempfile.TemporaryDirectory(prefix="openai-billing-scale-") as tmp:
        for size in sizes:
            for shape in shapes:
                noop, wrong = floor_program(shape, size, Path(tmp))
                problems += wrong
                for latency in latencies:
                    case_rows, case_problems = run_case(shape, size, latency, Path(tmp), noop)
                    for row in case_rows:
                        _print_row(row.cells(), out)
                    rows += case_rows
                    problems += case_problems
    print(file=out)
    largest, slowest = max(sizes), max(latencies)
    for row in rows:
        if row.phase == "refresh" and row.size == largest and row.latency_ms == slowest:
            print(
                f"refresh {row.shape} N={largest} {slowest} ms: {row.requests / row.minimal:.2f}x minimal requests "
                f"(target ≤ {REFRESH_TARGET}), {row.seconds / row.floor:.2f}x the floor's time (goal ≤ {TIME_TARGET})",
                file=out,
            )
    print(f"total: {time.perf_counter() - started:.0f} s", file=out)
    for problem in problems:
        print(f"problem: {problem}", file=out)
    return not problems


def _numbers(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated whole numbers, got {text!r}") from None
    if not values or any(v < 0 for v in values):
        raise argparse.ArgumentTypeError(f"expected comma-separated whole numbers ≥ 0, got {text!r}")
    return values


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=_numbers, default=[100, 500, 2000], help="resources per program")
    parser.add_argument("--latency-ms", type=_numbers, default=[0, 50], help="API latency added by the sandbox")
    parser.add_argument("--shapes", default=",".join(SHAPES), help=f"comma-separated, of: {', '.join(SHAPES)}")
    args = parser.parse_args(argv)
    shapes = [s.strip() for s in args.shapes.split(",") if s.strip()]
    if not shapes or any(s not in SHAPES for s in shapes):
        parser.error(f"--shapes takes {', '.join(SHAPES)}")
    for shape in shapes:
        for size in args.sizes:
            try:
                layout(shape, size)
            except ValueError as exc:
                parser.error(f"--sizes: {exc}")
    return 0 if run(args.sizes, args.latency_ms, shapes) else 1


if __name__ == "__main__":
    sys.exit(main())
