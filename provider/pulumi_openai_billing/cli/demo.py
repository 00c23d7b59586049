"""The main-job demo: the quickstart against a throwaway sandbox, step by step, under Pulumi's real engine.

preview, up, an edit made directly in the sandbox (as someone would in the dashboard), refresh showing the
drift with old → new values, up restoring it, destroy (limits kept, as ``on_delete="retain"`` says), sandbox
stopped. It drives the Pulumi CLI through :mod:`pulumi_openai_billing.testing` on a temporary file backend.
"""

from __future__ import annotations

import argparse
import secrets
import warnings
from pathlib import Path

import httpx

from .._api.money import from_cents, show_usd
from ..testing import Stack, pulumi_root, sandbox_process


def quickstart() -> Path:
    """The quickstart program: examples/quickstart of a checkout, else the copy an installed wheel carries."""
    package = Path(__file__).resolve().parents[1]
    checkout = package.parents[1] / "examples" / "quickstart"
    return checkout if (checkout / "__main__.py").exists() else package / "examples" / "quickstart"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The demo takes no options: it makes its own sandbox, key and stack, and removes them."""


def run(args: argparse.Namespace) -> int:
    # The Automation API warns when the CLI's event stream breaks, which Ctrl-C does to it; a failed step says
    # what went wrong anyway.
    warnings.filterwarnings("ignore", message="Error in event stream", category=UserWarning)
    return run_demo()


def _say(text: str) -> None:
    print(text, flush=True)


def run_demo() -> int:
    admin_key = "sk-admin-demo-" + secrets.token_hex(12)
    _say(f"Pulumi CLI: {pulumi_root() / 'bin' / 'pulumi'} (a temporary local file backend, stack 'demo')")
    try:
        with sandbox_process(admin_key, "--project", "team-a") as base_url:
            _say(
                f"sandbox serving {base_url} (a fresh in-memory account, throttled as OpenAI's Admin API is: "
                "7 requests per endpoint, refilled over a minute)"
            )
            # The demo's own edits are a person's in the dashboard: OpenAI's throttle does not count them.
            headers = {"Authorization": f"Bearer {admin_key}", "X-Sandbox-Dashboard": "true"}
            api = httpx.Client(base_url=base_url + "/", headers=headers)
            project = api.get("organization/projects").json()["data"][0]
            _say(f"the sandbox started with project team-a ({project['id']}), as `--project team-a` asks")
            config = {"openai-billing:baseUrl": base_url, "openai-billing:adminKey": admin_key}
            with Stack(quickstart(), config=config, stack="demo") as stack:
                _steps(stack, api, project["id"])
    finally:
        _say("sandbox stopped")
    return 0


def _steps(stack: Stack, api: httpx.Client, project_id: str) -> None:
    _say("\n== 1. preview")
    _say(stack.preview().summary())
    _say("\n== 2. up")
    result = stack.up()
    _say(result.summary())
    _say("   outputs: " + ", ".join(f"{k}={v}" for k, v in result.exports.items()))
    _edit_in_sandbox(api)
    _say("\n== 4. refresh (what changed outside Pulumi, old → new)")
    _say(stack.refresh().summary())
    _say("\n== 5. up (puts the declared values back)")
    _say(stack.up().summary())
    _say("\n== 6. destroy")
    _say(stack.destroy().summary())
    _report_retained(api, project_id)


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
                f"the {what} limit is still live: {show_usd(from_cents(live.json()['threshold_amount']))} USD "
                "(on_delete='retain', the default, so destroy never leaves a scope uncapped)"
            )
    _say(f"organization alerts left: {len(api.get('organization/spend_alerts').json()['data'])}")
