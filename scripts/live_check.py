"""Read-only check of an account against the locked openai SDK and this provider (run by scripts/live-check).

With OPENAI_ADMIN_KEY set it runs `openai-billing whoami`; reads the organization's spend limit and alerts and, for
up to --projects active projects, their limit, alerts and (once the sandbox serves them) API keys, validating each
answer against the locked SDK's model and listing fields neither that model nor the sandbox's answer models know;
then exports the account as a program and previews it in a throwaway local stack, which must plan nothing but
adoptions of the live objects as they are. It sends no write: only GETs, and a preview.
Exit status: 0 all agree, 1 a finding, 2 no key.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import openai
from openai.types.admin.organization import OrganizationSpendAlert, OrganizationSpendLimit, Project
from openai.types.admin.organization.projects import ProjectAPIKey, ProjectSpendAlert, ProjectSpendLimit
from pydantic import BaseModel, ValidationError
from wire_fields import answer_objects, model_paths, raw_paths

from pulumi_openai_billing._api import config
from pulumi_openai_billing._api.client import BillingClient
from pulumi_openai_billing.errors import OpenAIError
from pulumi_openai_billing.sandbox import create_app
from pulumi_openai_billing.testing import Stack

SDK_MODELS: dict[str, type[BaseModel]] = {
    "organization.spend_limit": OrganizationSpendLimit,
    "project.spend_limit": ProjectSpendLimit,
    "organization.spend_alert": OrganizationSpendAlert,
    "project.spend_alert": ProjectSpendAlert,
    "organization.project": Project,
    "organization.project.api_key": ProjectAPIKey,
}
ORGANIZATION = "organization"


class Check:
    """What the reads found: the live limits (cents, by scope) and alerts (by id), and every finding."""

    def __init__(self, client: BillingClient) -> None:
        self.client = client
        doc = create_app("sk-admin-live-check").openapi()
        self.answers = answer_objects(doc)
        self.served = {path.removeprefix("/v1") for path in doc["paths"]}
        self.limits: dict[str, int] = {}
        self.alerts: dict[str, dict[str, Any]] = {}
        self.findings: list[str] = []

    def validate(self, what: str, raw: dict[str, Any]) -> None:
        """``raw`` against the locked SDK's model of its ``object``; fields neither it nor the sandbox knows."""
        obj = str(raw.get("object"))
        model = SDK_MODELS.get(obj)
        if model is None:
            self.findings.append(f"{what}: object {obj!r} has no model here")
            return
        try:
            model.model_validate(raw)
        except ValidationError as exc:
            self.findings.append(f"{what}: the SDK's {model.__name__} refuses it: {exc}".replace("\n", " "))
        known = set(model_paths(model)) | self.answers.get(obj, set())
        unknown = sorted(raw_paths(raw) - known)
        if unknown:
            self.findings.append(f"{what}: fields neither the SDK's {model.__name__} nor the sandbox knows: {unknown}")
        print(f"  {what}: {obj} valid{'' if not unknown else ', unknown fields ' + ', '.join(unknown)}")

    def limit(self, scope: str, path: str) -> None:
        try:
            raw = self.client.get(path)
        except OpenAIError as exc:
            if exc.status != 404:
                raise
            print(f"  {scope} spend limit: none (404)")
            return
        self.validate(f"{scope} spend limit", raw)
        if raw.get("threshold_amount"):
            self.limits[scope] = raw["threshold_amount"]

    def alert_list(self, scope: str, path: str) -> None:
        for raw in self.client.list_all(path):
            self.validate(f"{scope} alert {raw.get('id')}", raw)
            self.alerts[raw["id"]] = raw

    def read(self, projects: int) -> None:
        self.limit(ORGANIZATION, "organization/spend_limit")
        self.alert_list(ORGANIZATION, "organization/spend_alerts")
        active = [p for p in self.client.list_all("organization/projects") if p.get("status", "active") == "active"]
        print(f"  {len(active)} active projects; reading {min(projects, len(active))}")
        for project in active[:projects]:
            pid = project["id"]
            self.validate(f"project {pid}", project)
            self.limit(pid, f"organization/projects/{pid}/spend_limit")
            self.alert_list(pid, f"organization/projects/{pid}/spend_alerts")
            if "/organization/projects/{project_id}/api_keys" in self.served:
                keys = list(self.client.list_all(f"organization/projects/{pid}/api_keys"))
                for key in keys:
                    self.validate(f"{pid} API key {key.get('id')}", key)
                print(f"  {pid} API keys: {len(keys)} read")
            else:
                print(f"  {pid} API keys: not read (the sandbox does not serve them, so the provider does not either)")

    def judge_preview(self, changes: dict[str, Any]) -> None:
        """Every planned step must create a resource that adopts a live object read above with its live values."""
        adopted: set[str] = set()
        for name, change in sorted(changes.items()):
            inputs = (change.new or {}).get("inputs", {})
            if change.op != "create":
                self.findings.append(f"preview: {name} would be {change.op}d")
            elif "monthly_limit_usd" in inputs:
                scope = inputs.get("project_id") or ORGANIZATION
                live = self.limits.get(scope)
                adopted.add(scope)
                if inputs.get("adopt_existing") is not True:
                    self.findings.append(f"preview: {name} creates a limit instead of adopting the live one")
                elif live is not None and _cents(inputs["monthly_limit_usd"]) != live:
                    self.findings.append(f"preview: {name} declares {inputs['monthly_limit_usd']}, live is {live}¢")
            elif "threshold_usd" in inputs:
                alert_id = inputs.get("adopt_alert_id")
                live_alert = self.alerts.get(alert_id or "")
                adopted.add(alert_id or "")
                if not alert_id:
                    self.findings.append(f"preview: {name} creates an alert instead of adopting a live one")
                elif live_alert is not None and _alert_values(live_alert) != _declared(inputs):
                    self.findings.append(f"preview: {name} declares {_declared(inputs)}, live is {live_alert}")
        for missing in sorted((set(self.limits) | set(self.alerts)) - adopted):
            self.findings.append(f"preview: nothing in the exported program adopts {missing}")


def _cents(dollars: str) -> int:
    return int(Decimal(dollars) * 100)


def _alert_values(alert: dict[str, Any]) -> tuple[int, list[str], str | None]:
    channel = alert.get("notification_channel") or {}
    recipients = sorted({r.lower() for r in channel.get("recipients") or []})
    return alert["threshold_amount"], recipients, channel.get("subject_prefix") or None


def _declared(inputs: dict[str, Any]) -> tuple[int, list[str], str | None]:
    recipients = sorted({r.lower() for r in inputs.get("recipients") or []})
    return _cents(inputs["threshold_usd"]), recipients, inputs.get("subject_prefix") or None


def _command(*args: str) -> int:
    return subprocess.run([sys.executable, "-m", "pulumi_openai_billing.cli", *args]).returncode


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--projects", type=int, default=3, help="how many active projects to read (default 3)")
    parser.add_argument("--base-url", help="the API (default: OPENAI_BILLING_BASE_URL, else api.openai.com/v1)")
    args = parser.parse_args(argv)
    if not os.environ.get("OPENAI_ADMIN_KEY"):
        print("live-check: set OPENAI_ADMIN_KEY to an admin key (sk-admin-…); nothing is written", file=sys.stderr)
        return 2
    if args.base_url:
        os.environ["OPENAI_BILLING_BASE_URL"] = args.base_url
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[attr-defined]

    print("== openai-billing whoami")
    if _command("whoami") != 0:
        return 1
    settings = config.resolve()
    check = Check(BillingClient(settings))
    print(f"\n== reads, validated against the locked openai SDK ({openai.__version__})")
    check.read(args.projects)

    with tempfile.TemporaryDirectory(prefix="openai-billing-live-check-") as work:
        program = Path(work) / "program"
        print(f"\n== openai-billing export --output {program}")
        if _command("export", "--output", str(program)) != 0:
            return 1
        print("\n== preview of the exported program in a throwaway local stack (the key from the environment)")
        names = ("OPENAI_ADMIN_KEY", "OPENAI_BILLING_BASE_URL", "OPENAI_BILLING_ORGANIZATION")
        env = {name: os.environ[name] for name in names if os.environ.get(name)}
        with Stack(program, env=env, backend_dir=Path(work) / "backend") as stack:
            preview = stack.preview()
        print(f"  the engine plans {preview.counts} (the stack itself included)")
        check.judge_preview(preview.changes)
        if not any(f.startswith("preview:") for f in check.findings):
            print(f"  no change: each of the {len(preview.changes)} resources adopts its live object as it is")

    print()
    for finding in check.findings:
        print(f"FINDING {finding}")
    print("live-check: " + (f"{len(check.findings)} finding(s)" if check.findings else "everything agrees"))
    return 1 if check.findings else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
