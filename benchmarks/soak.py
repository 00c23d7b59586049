"""Soak: rounds of up, drift, refresh, up and destroy of about 55 billing resources under random faults.

Each round runs one program through ``pulumi_openai_billing.testing`` (the real plugin server) against a
sandbox answering a seeded share of API requests with 500, 503, 429 or a dropped connection after the commit.
The program holds an organization limit and 10 alerts; 5 existing projects with a limit and 6 alerts each; a
project it makes itself (named ``soak-made-{seed}-{round}``, archived on destroy) with a spend limit, an
allow-list of 2 models, 2 hosted tools switched off, its service tiers and its gpt-4o-mini requests per minute
(restored on destroy); a card, the default, an auto-reload policy and a purchase. Between the two ups, changes
are made in the sandbox as someone in the dashboard would (with faults paused, so the drift itself is exact),
among them the made project's default tier and rate limit.

Printed, one ``name: value`` line each: rounds, requests, faults injected, retries, duplicates (alerts),
duplicate projects (active projects sharing a name: the made project created twice), double charges,
converged (after every up the live account equals the declared one, refresh reports exactly the drift, and
destroy leaves nothing declared behind: the made project archived, its policy removed, its rate limit back
at the catalogue's value, its switches and tiers kept), then timings. Exits 1 when duplicates, duplicate
projects or double charges are not 0 or converged is not true.

    python benchmarks/soak.py --rounds 20 --fault-rate 0.2
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
from typing import Any

import httpx

from pulumi_openai_billing.sandbox import Sandbox
from pulumi_openai_billing.sandbox.models import RandomFaultsIn
from pulumi_openai_billing.testing import DeploymentError, Stack

ADMIN_KEY = "sk-admin-soak-0123456789abcdef"  # a fake key: only the sandbox started here knows it
RECIPIENTS = ["finops@example.com", "oncall@example.com"]
PREFIX = "[soak]"
ORG_LIMIT_USD = 5000
ORG_ALERTS_USD = [100 * i for i in range(1, 11)]
PROJECT_LIMIT_USD = 900
PROJECT_ALERTS_USD = [50, 100, 200, 400, 600, 800]
PROJECTS = 5
POLICY = {"balance_threshold_usd": 20, "target_balance_usd": 100, "monthly_reload_limit_usd": 300}
PURCHASE_USD = 25
MADE_MODELS = ["gpt-4o", "gpt-4o-mini"]
MADE_TOOLS_OFF = ["image_generation", "web_search"]
TOOLS = ("code_interpreter", "file_search", "image_generation", "mcp", "web_search")
MADE_TIERS = {"default": "standard", "enabled_tiers": ["flex"]}
RATE_MODEL = "gpt-4o-mini"
MADE_RPM = 500
MAX_RETRIES = 8
"""At 20% faults, six faults in a row (the default of 5 retries spent) hit about one request in 15,000."""

PROGRAM = """
import json
from pathlib import Path

import pulumi

import pulumi_openai_billing as billing

spec = json.loads((Path(__file__).parent / "spec.json").read_text())
billing.OrganizationSpendLimit("org-limit", monthly_limit_usd=spec["org_limit"], on_delete="remove")
for usd in spec["org_alerts"]:
    billing.OrganizationSpendAlert(
        f"org-alert-{usd}", threshold_usd=usd, recipients=spec["recipients"], subject_prefix=spec["prefix"]
    )
for project in spec["projects"]:
    billing.ProjectSpendLimit(
        f"{project['name']}-limit",
        project_id=project["id"],
        monthly_limit_usd=spec["project_limit"],
        on_delete="remove",
    )
    for usd in spec["project_alerts"]:
        billing.ProjectSpendAlert(
            f"{project['name']}-alert-{usd}",
            project_id=project["id"],
            threshold_usd=usd,
            recipients=spec["recipients"],
            subject_prefix=spec["prefix"],
        )
made = billing.Project("made", name=spec["made"]["name"], on_delete="archive")
billing.ProjectSpendLimit(
    "made-limit", project_id=made.id, monthly_limit_usd=spec["project_limit"], on_delete="remove"
)
billing.ProjectModelPermissions(
    "made-models", project_id=made.id, model_ids=spec["made"]["models"], on_delete="remove"
)
billing.ProjectHostedTools("made-tools", project_id=made.id, **dict.fromkeys(spec["made"]["tools_off"], False))
billing.ProjectServiceTiers("made-tiers", project_id=made.id, **spec["made"]["tiers"])
billing.ProjectRateLimit(
    "made-rate",
    project_id=made.id,
    model=spec["made"]["rate_model"],
    max_requests_per_1_minute=spec["made"]["rpm"],
    on_delete="restore",
)
card = billing.PaymentMethod("card", token=pulumi.Output.secret("pm_card_visa"))
default = billing.DefaultPaymentMethod("default-card", payment_method_id=card.payment_method_id)
billing.CreditTopUpPolicy(
    "auto-reload", **spec["policy"], on_delete="remove", opts=pulumi.ResourceOptions(depends_on=[default])
)
billing.CreditPurchase(
    "preload",
    amount_usd=spec["purchase_usd"],
    purchase_key=spec["purchase_key"],
    payment_method_id=card.payment_method_id,
)
"""


def _cents(usd: int) -> int:
    return usd * 100


class _Account:
    """The sandbox seen from outside: its state, its request log and its fault plan (never faulted)."""

    def __init__(self, sandbox: Sandbox, plan: RandomFaultsIn) -> None:
        # The soak's own edits are a person's in the dashboard: OpenAI's throttle does not count them.
        headers = {"Authorization": f"Bearer {ADMIN_KEY}", "X-Sandbox-Dashboard": "true"}
        self.http = httpx.Client(base_url=sandbox.base_url + "/", headers=headers)
        self.plan = plan
        self.injected = 0

    def call(
        self, method: str, path: str, body: dict[str, Any] | None = None, params: dict[str, Any] | None = None
    ) -> Any:
        response = self.http.request(method, path, json=body, params=params)
        response.raise_for_status()
        return response.json()

    def state(self) -> dict[str, Any]:
        return self.call("GET", "sandbox/state")

    def faults(self, on: bool, seed: int = 0) -> None:
        """Switch the random faults on (a fresh seed) or off, keeping count of those injected so far."""
        self.injected += self.call("GET", "sandbox/faults/random")["injected_total"]
        plan = self.plan.model_copy(update={"seed": seed}) if on else RandomFaultsIn()
        self.call("POST", "sandbox/faults/random", plan.model_dump())


def _spec(
    project_ids: list[str], purchase_key: str, made_name: str = "soak-made", catalogue_rpm: int = 30000
) -> dict[str, Any]:
    """The program's declarations; ``catalogue_rpm`` is the made project's rate limit before the program sets it."""
    return {
        "org_limit": ORG_LIMIT_USD,
        "org_alerts": ORG_ALERTS_USD,
        "project_limit": PROJECT_LIMIT_USD,
        "project_alerts": PROJECT_ALERTS_USD,
        "projects": [{"name": f"team-{i}", "id": pid} for i, pid in enumerate(project_ids)],
        "recipients": RECIPIENTS,
        "prefix": PREFIX,
        "policy": POLICY,
        "purchase_usd": PURCHASE_USD,
        "purchase_key": purchase_key,
        "made": {
            "name": made_name,
            "models": MADE_MODELS,
            "tools_off": MADE_TOOLS_OFF,
            "tiers": MADE_TIERS,
            "rate_model": RATE_MODEL,
            "rpm": MADE_RPM,
            "catalogue_rpm": catalogue_rpm,
        },
    }


def _alert_key(alert: dict[str, Any]) -> tuple[int, tuple[str, ...], str | None]:
    channel = alert["notification_channel"]
    return alert["threshold_amount"], tuple(sorted(channel["recipients"])), channel.get("subject_prefix")


def duplicates(state: dict[str, Any]) -> int:
    """Live alerts beyond the first with the same threshold, recipients and prefix in one scope."""
    scopes = [state["spend_alerts"]["organization"], *state["spend_alerts"]["projects"].values()]
    return sum(n - 1 for alerts in scopes for n in Counter(map(_alert_key, alerts)).values() if n > 1)


def duplicate_projects(state: dict[str, Any]) -> list[str]:
    """The ids of active projects beyond the oldest with the same name."""
    by_name: dict[str, list[dict[str, Any]]] = {}
    for project in state["projects"]:
        if project["status"] == "active":
            by_name.setdefault(project["name"], []).append(project)
    return sorted(p["id"] for same in by_name.values() for p in sorted(same, key=lambda p: p["created_at"])[1:])


def double_charges(state: dict[str, Any]) -> int:
    """Successful charges beyond the first for one purchase key."""
    key_of = {p["id"]: p["purchase_key"] for p in state["credit_purchases"]}
    charged = Counter(key_of.get(c["purchase_id"]) for c in state["charges"] if c["status"] == "succeeded")
    return sum(n - 1 for key, n in charged.items() if key is not None and n > 1)


def differences(state: dict[str, Any], spec: dict[str, Any]) -> list[str]:
    """How the live account differs from the declared one (empty: converged)."""
    found: list[str] = []
    expected_alerts = Counter((_cents(u), tuple(sorted(RECIPIENTS)), PREFIX) for u in spec["org_alerts"])
    org = state["spend_limits"]["organization"]
    if not org or org["threshold_amount"] != _cents(spec["org_limit"]):
        found.append(f"organization limit is {org and org['threshold_amount']}")
    if Counter(map(_alert_key, state["spend_alerts"]["organization"])) != expected_alerts:
        found.append("organization alerts differ")
    project_alerts = Counter((_cents(u), tuple(sorted(RECIPIENTS)), PREFIX) for u in spec["project_alerts"])
    for project in spec["projects"]:
        pid = project["id"]
        limit = state["spend_limits"]["projects"].get(pid)
        if not limit or limit["threshold_amount"] != _cents(spec["project_limit"]):
            found.append(f"{pid} limit is {limit and limit['threshold_amount']}")
        if Counter(map(_alert_key, state["spend_alerts"]["projects"].get(pid, []))) != project_alerts:
            found.append(f"{pid} alerts differ")
    policy = state["auto_reload"]
    wanted = {f"{k.removesuffix('_usd')}_amount": _cents(v) for k, v in spec["policy"].items()}
    if not policy or any(policy[k] != v for k, v in wanted.items()):
        found.append(f"auto-reload policy is {policy}")
    cards = [m["id"] for m in state["payment_methods"]]
    if len(cards) != 1 or state["default_payment_method"] != cards[0]:
        found.append(f"payment methods {cards}, default {state['default_payment_method']}")
    if not any(p["purchase_key"] == spec["purchase_key"] for p in state["credit_purchases"]):
        found.append(f"no purchase {spec['purchase_key']}")
    return found + _made_differences(state, spec)


def _made(state: dict[str, Any], spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The projects (active or archived) named as the program's made project."""
    return [p for p in state["projects"] if p["name"] == spec["made"]["name"]]


def _tools_off(state: dict[str, Any], pid: str) -> list[str]:
    """The hosted tools switched off in a project (every tool is on until switched off)."""
    switches = state["hosted_tool_permissions"]["projects"].get(pid) or {}
    return [tool for tool in TOOLS if not (switches.get(tool) or {"enabled": True})["enabled"]]


def _tiers(state: dict[str, Any], pid: str) -> dict[str, Any]:
    tiers = state["service_tier_settings"]["projects"].get(pid) or {"default": "standard", "enabled_tiers": "all"}
    enabled = tiers["enabled_tiers"]
    return {"default": tiers["default"], "enabled_tiers": enabled if enabled == "all" else sorted(enabled)}


def _rpm(state: dict[str, Any], pid: str, spec: dict[str, Any]) -> int:
    """The made project's requests per minute (a rate limit at the catalogue's values is not listed)."""
    made = spec["made"]
    changed = state["rate_limits"]["projects"].get(pid) or []
    listed = next((r for r in changed if r["model"] == made["rate_model"]), None)
    return listed["max_requests_per_1_minute"] if listed else made["catalogue_rpm"]


def _made_differences(state: dict[str, Any], spec: dict[str, Any]) -> list[str]:
    made = spec["made"]
    active = [p for p in _made(state, spec) if p["status"] == "active"]
    if len(active) != 1:
        return [f"{len(active)} active projects named {made['name']}"]
    pid = active[0]["id"]
    found = []
    limit = state["spend_limits"]["projects"].get(pid)
    if not limit or limit["threshold_amount"] != _cents(spec["project_limit"]):
        found.append(f"made project {pid} limit is {limit and limit['threshold_amount']}")
    policy = state["model_permissions"]["projects"].get(pid)
    if not policy or (policy["mode"], sorted(policy["model_ids"])) != ("allow_list", sorted(made["models"])):
        found.append(f"made project {pid} model policy is {policy}")
    if _tools_off(state, pid) != sorted(made["tools_off"]):
        found.append(f"made project {pid} tools off are {_tools_off(state, pid)}")
    if _tiers(state, pid) != made["tiers"]:
        found.append(f"made project {pid} tiers are {_tiers(state, pid)}")
    if _rpm(state, pid, spec) != made["rpm"]:
        found.append(f"made project {pid} {made['rate_model']} rpm is {_rpm(state, pid, spec)}")
    return found


def leftovers(state: dict[str, Any], spec: dict[str, Any]) -> list[str]:
    """What destroy should have removed or put back and did not (limits, alerts, the policy and the card are
    removed; the made project is archived, its model policy removed, its rate limit restored, and its switches
    and tiers kept as declared)."""
    found = []
    if state["spend_limits"]["organization"]:
        found.append("organization limit")
    found += [f"{pid} limit" for pid, limit in state["spend_limits"]["projects"].items() if limit]
    if state["spend_alerts"]["organization"] or any(state["spend_alerts"]["projects"].values()):
        found.append("alerts")
    if state["auto_reload"]:
        found.append("auto-reload policy")
    if state["payment_methods"]:
        found.append("payment methods")
    made = spec["made"]
    for project in _made(state, spec):
        pid = project["id"]
        if project["status"] == "active":
            found.append(f"made project {pid} active")
        if state["model_permissions"]["projects"].get(pid):
            found.append(f"made project {pid} model policy")
        if _rpm(state, pid, spec) != made["catalogue_rpm"]:
            found.append(f"made project {pid} {made['rate_model']} rpm {_rpm(state, pid, spec)} (not restored)")
        if _tools_off(state, pid) != sorted(made["tools_off"]) or _tiers(state, pid) != made["tiers"]:
            found.append(f"made project {pid} switches or tiers changed (not kept)")
    return found


def drift(account: _Account, state: dict[str, Any], spec: dict[str, Any]) -> set[str]:
    """Edit the account as someone in the dashboard would; returns the resource names that drifted."""
    first, second = spec["projects"][0], spec["projects"][1]
    account.call(
        "POST", "organization/spend_limit", {"threshold_amount": 600000, "currency": "USD", "interval": "month"}
    )
    account.call(
        "POST",
        f"organization/projects/{second['id']}/spend_limit",
        {"threshold_amount": 95000, "currency": "USD", "interval": "month"},
    )
    gone = next(a for a in state["spend_alerts"]["projects"][first["id"]] if a["threshold_amount"] == 20000)
    account.call("DELETE", f"organization/projects/{first['id']}/spend_alerts/{gone['id']}")
    edited = next(a for a in state["spend_alerts"]["organization"] if a["threshold_amount"] == 30000)
    account.call(
        "POST",
        f"organization/spend_alerts/{edited['id']}",
        {
            "threshold_amount": 30000,
            "currency": "USD",
            "interval": "month",
            "notification_channel": {"type": "email", "recipients": ["someone@example.com"], "subject_prefix": PREFIX},
        },
    )
    policy = {k: v for k, v in state["auto_reload"].items() if k in _POLICY_FIELDS}
    account.call("POST", "organization/billing/auto_reload", {**policy, "balance_threshold_amount": 3000})
    made = next(p["id"] for p in _made(state, spec) if p["status"] == "active")
    account.call("POST", f"organization/projects/{made}/service_tier_settings", {"default": "scale"})
    limits = account.call("GET", f"organization/projects/{made}/rate_limits", params={"limit": 100})["data"]
    rate = next(r for r in limits if r["model"] == spec["made"]["rate_model"])
    account.call("POST", f"organization/projects/{made}/rate_limits/{rate['id']}", {"max_requests_per_1_minute": 77})
    return {
        "org-limit",
        f"{second['name']}-limit",
        f"{first['name']}-alert-200",
        "org-alert-300",
        "auto-reload",
        "made-tiers",
        "made-rate",
    }


_POLICY_FIELDS = (
    "enabled",
    "balance_threshold_amount",
    "target_balance_amount",
    "monthly_reload_limit_amount",
    "currency",
    "payment_method_id",
)


class _Soak:
    """The rounds, the counts and the problems found."""

    def __init__(self, account: _Account, program: Path, config: dict[str, str], seed: int, catalogue_rpm: int) -> None:
        self.account, self.program, self.config, self.seed = account, program, config, seed
        self.catalogue_rpm = catalogue_rpm
        self.problems: list[str] = []
        self.duplicates = self.double_charges = 0
        self.duplicate_projects: set[str] = set()

    def step(self, number: int, name: str, action: Any, part: int) -> Any:
        """One step with the faults on (a seed of its own), or None after a failure, which is recorded."""
        self.account.faults(True, self.seed * 1000 + number * 10 + part)
        try:
            return action()
        except DeploymentError as exc:
            self.problems.append(f"round {number}: {name} failed: {exc}")
            return None
        finally:
            self.account.faults(False)

    def after_up(self, number: int, which: str, spec: dict[str, Any]) -> None:
        state = self.account.state()
        self.duplicates += duplicates(state)
        self.duplicate_projects.update(duplicate_projects(state))
        self.double_charges += double_charges(state)
        self.problems.extend(f"round {number}: after {which}: {d}" for d in differences(state, spec))

    def round(self, number: int, project_ids: list[str]) -> None:
        made_name = f"soak-made-{self.seed}-{number}"
        spec = _spec(project_ids, f"soak-{self.seed}-round-{number}", made_name, self.catalogue_rpm)
        (self.program / "spec.json").write_text(json.dumps(spec))
        stack = Stack(self.program, config=self.config, backend_dir=self.program.parent / f"backend-{number}")
        problems = len(self.problems)
        self.step(number, "up", stack.up, 1)
        self.after_up(number, "the first up", spec)
        if len(self.problems) > problems:  # the account is not what the drift edits expect: clean up only
            self.step(number, "destroy", stack.destroy, 4)
            return
        drifted = drift(self.account, self.account.state(), spec)
        refreshed = self.step(number, "refresh", stack.refresh, 2)
        if refreshed is not None and set(refreshed.changed()) != drifted:
            reported = sorted(refreshed.changed())
            self.problems.append(f"round {number}: refresh reported {reported}, not {sorted(drifted)}")
        self.step(number, "up", stack.up, 3)
        self.after_up(number, "the second up", spec)
        self.step(number, "destroy", stack.destroy, 4)
        state = self.account.state()
        self.duplicate_projects.update(duplicate_projects(state))
        self.double_charges += double_charges(state)
        self.problems.extend(f"round {number}: after destroy: {what} left" for what in leftovers(state, spec))


def run(rounds: int, fault_rate: float, seed: int, rate_limit: str = "7/2s", out: Any = sys.stdout) -> bool:
    """Run the soak and print its figures; True when it found no duplicate (alert or project), no double charge,
    no problem."""
    round_seconds: list[float] = []
    with (
        Sandbox(ADMIN_KEY, rate_limit=rate_limit) as sandbox,
        tempfile.TemporaryDirectory(prefix="openai-billing-soak-") as tmp,
    ):
        os.environ.setdefault("OPENAI_BILLING_PACE_DIR", str(Path(tmp) / "pace"))
        account = _Account(sandbox, RandomFaultsIn(rate=fault_rate, seed=seed))
        projects = [account.call("POST", "organization/projects", {"name": f"team-{i}"}) for i in range(PROJECTS)]
        catalogue = account.call("GET", f"organization/projects/{projects[0]['id']}/rate_limits", params={"limit": 100})
        catalogue_rpm = next(r for r in catalogue["data"] if r["model"] == RATE_MODEL)["max_requests_per_1_minute"]
        program = Path(tmp) / "program"
        program.mkdir()
        (program / "Pulumi.yaml").write_text("name: billing-soak\nruntime: python\n")
        (program / "__main__.py").write_text(PROGRAM)
        config = {
            "openai-billing:baseUrl": sandbox.base_url,
            "openai-billing:adminKey": ADMIN_KEY,
            "openai-billing:maxRetries": str(MAX_RETRIES),
            "openai-billing:retryBudgetSeconds": "60",
        }
        soak = _Soak(account, program, config, seed, catalogue_rpm)
        for number in range(1, rounds + 1):
            started = time.monotonic()
            soak.round(number, [p["id"] for p in projects])
            round_seconds.append(time.monotonic() - started)
            print(f"round {number}: {round_seconds[-1]:.1f} s, {len(soak.problems)} problems so far", file=sys.stderr)
        log = account.call("GET", "sandbox/requests")
        account.faults(False)
        throttled = sum(e["throttled"] for e in account.call("GET", "sandbox/rate_limit")["endpoints"].values())
    figures = {
        "rounds": rounds,
        "fault rate": fault_rate,
        "rate limit": rate_limit,
        "throttled (429)": throttled,
        "seed": seed,
        "max retries": MAX_RETRIES,
        "requests": len(log),
        "faults injected": account.injected,
        "retries": sum(1 for entry in log if entry.get("retry")),
        "duplicates": soak.duplicates,
        "duplicate projects": len(soak.duplicate_projects),
        "double charges": soak.double_charges,
        "converged": str(not soak.problems).lower(),
        "seconds per round (mean)": f"{sum(round_seconds) / len(round_seconds):.1f}",
        "seconds per round (max)": f"{max(round_seconds):.1f}",
    }
    for name, value in figures.items():
        print(f"{name}: {value}", file=out)
    for problem in soak.problems[:20]:
        print(f"problem: {problem}", file=out)
    clean = soak.duplicates == 0 and not soak.duplicate_projects and soak.double_charges == 0
    return clean and not soak.problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20, help="rounds to run (default 20)")
    parser.add_argument("--fault-rate", type=float, default=0.2, help="share of API requests faulted (default 0.2)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the fault draws (default 1)")
    parser.add_argument(
        "--rate-limit", default="7/2s", help="the sandbox's throttle per endpoint, N/Ms or off (default 7/2s)"
    )
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if not 0 <= args.fault_rate <= 1:
        parser.error("--fault-rate must be between 0 and 1")
    return 0 if run(args.rounds, args.fault_rate, args.seed, args.rate_limit) else 1


if __name__ == "__main__":
    sys.exit(main())
