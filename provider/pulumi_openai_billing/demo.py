"""The main-job demo: the quickstart against a throwaway sandbox, step by step.

preview, up, an edit made directly in the sandbox (as someone would in the dashboard), refresh showing the
drift, up restoring it, destroy (limits retained), sandbox stopped. Uses the ``pulumi`` CLI when it is
installed, else :mod:`pulumi_openai_billing.testing`, and says which.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

from .testing import Stack, sandbox_process

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "quickstart"


def _say(text: str) -> None:
    print(text, flush=True)


def run_demo(use_cli: str = "auto") -> int:
    admin_key = "sk-admin-demo-" + secrets.token_hex(12)
    pulumi_cli = shutil.which("pulumi") if use_cli != "no" else None
    if use_cli == "yes" and not pulumi_cli:
        _say("the pulumi CLI is not installed: run without --cli yes to use pulumi_openai_billing.testing")
        return 2
    try:
        with sandbox_process(admin_key) as base_url:
            _say(f"sandbox serving {base_url} (a fresh in-memory account)")
            api = httpx.Client(base_url=base_url + "/", headers={"Authorization": f"Bearer {admin_key}"})
            project = api.post("organization/projects", json={"name": "team-a"}).json()
            _say(f"created demo project team-a ({project['id']})")
            config = {"openai-billing:baseUrl": base_url, "openai-billing:adminKey": admin_key}
            if pulumi_cli:
                _say(f"using the pulumi CLI at {pulumi_cli} (local file backend, throwaway stack)")
                return _with_cli(pulumi_cli, config, api, project["id"])
            _say(
                "the pulumi CLI is not installed: running the same engine calls through "
                "pulumi_openai_billing.testing (the real `python -m pulumi.dynamic` plugin server)"
            )
            return _with_testing(config, api, project["id"])
    finally:
        _say("sandbox stopped")


def _edit_in_sandbox(api: httpx.Client) -> None:
    _say(
        "\n== 3. someone edits billing directly (as in the dashboard): org limit -> 9000 USD, "
        "one alert's threshold -> 1234 USD"
    )
    api.post("organization/spend_limit", json={"threshold_amount": 900000, "currency": "USD", "interval": "month"})
    alert = next(a for a in api.get("organization/spend_alerts").json()["data"] if a["threshold_amount"] == 250000)
    api.post(
        f"organization/spend_alerts/{alert['id']}",
        json={**{k: alert[k] for k in ("currency", "interval", "notification_channel")}, "threshold_amount": 123400},
    )


def _report_retained(api: httpx.Client, project_id: str) -> None:
    """Destroy removed the alerts but, by design, not the caps: say so with the live figures."""
    scopes = (
        ("organization", "organization/spend_limit"),
        ("team-a", f"organization/projects/{project_id}/spend_limit"),
    )
    for what, path in scopes:
        live = api.get(path)
        if live.status_code == 200:
            _say(
                f"the {what} limit was retained: {live.json()['threshold_amount'] / 100:.2f} USD is still enforced "
                "(on_delete='retain', the default, so destroy never leaves a scope uncapped)"
            )
    _say(f"organization alerts left: {len(api.get('organization/spend_alerts').json()['data'])}")


def _with_testing(config: dict[str, str], api: httpx.Client, project_id: str) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        stack = Stack(EXAMPLE, config=config, state_file=Path(tmp) / "state.json", stack="demo")
        _say("\n== 1. preview")
        _say(stack.preview().summary())
        _say("\n== 2. up")
        result = stack.up()
        _say(result.summary())
        _say("   outputs: " + ", ".join(f"{k}={v}" for k, v in result.exports.items()))
        _edit_in_sandbox(api)
        _say("\n== 4. refresh (drift, by property)")
        _say(stack.refresh().summary())
        _say("\n== 5. up (restores the declared values)")
        _say(stack.up().summary())
        _say("\n== 6. destroy")
        _say(stack.destroy().summary())
        _report_retained(api, project_id)
    return 0


def _with_cli(pulumi: str, config: dict[str, str], api: httpx.Client, project_id: str) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "quickstart"
        shutil.copytree(EXAMPLE, work)
        (work / "Pulumi.yaml").write_text(
            f"name: openai-billing-quickstart\nruntime:\n  name: python\n  options:\n    virtualenv: {sys.prefix}\n"
        )
        env = {
            **os.environ,
            "PULUMI_BACKEND_URL": f"file://{tmp}",
            "PULUMI_CONFIG_PASSPHRASE": "demo",
            "PULUMI_SKIP_UPDATE_CHECK": "1",
        }

        def run(*args: str) -> None:
            subprocess.run([pulumi, *args, "--cwd", str(work)], check=True, env=env, stdin=subprocess.DEVNULL)

        run("stack", "init", "demo")
        run("config", "set", "openai-billing:baseUrl", config["openai-billing:baseUrl"])
        run("config", "set", "--secret", "openai-billing:adminKey", config["openai-billing:adminKey"])
        _say("\n== 1. preview")
        run("preview", "--diff")
        _say("\n== 2. up")
        run("up", "--yes", "--skip-preview")
        _edit_in_sandbox(api)
        _say("\n== 4. refresh (drift, by property)")
        run("refresh", "--yes", "--diff")
        _say("\n== 5. up (restores the declared values)")
        run("up", "--yes", "--skip-preview")
        _say("\n== 6. destroy")
        run("destroy", "--yes", "--skip-preview")
        _report_retained(api, project_id)
        run("stack", "rm", "--yes", "demo")
    return 0
