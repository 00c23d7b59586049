"""Crash consistency: the plugin server is killed after the API committed a create and before it answered.

The sandbox holds the committed answer back (``stall_after_commit``); the test kills the plugin in that
window, as a crash or a cancelled CI job would. The state then does not know the created object; the next
``up`` must converge to the declared account without a second alert and without a second charge.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import Api, plugin_config, write_program
from plugin_driver import Plugin
from pulumi_openai_billing.sandbox import Sandbox
from pulumi_openai_billing.testing import DeploymentError, Stack

PROGRAM = """
for threshold in (100, 200, 300):
    billing.OrganizationSpendAlert(
        f"alert-{threshold}", threshold_usd=threshold, recipients=["finops@example.com"]
    )
billing.CreditPurchase("preload", amount_usd=50, purchase_key="crash-test-preload")
"""
NAMES = {"alert-100", "alert-200", "alert-300", "preload"}
PURCHASES = "/v1/organization/billing/credit_purchases"


class _CrashableStack(Stack):
    """A Stack that hands out each step's plugin server, so the test can kill it."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.plugins: list[Plugin] = []

    def _plugin(self) -> Plugin:
        plugin = super()._plugin()
        self.plugins.append(plugin)
        return plugin


def _kill_when(stack: _CrashableStack, committed: Callable[[], bool], timeout: float = 60.0) -> threading.Thread:
    """Kill the step's plugin once ``committed()`` holds (the sandbox has the object, the answer is held)."""

    def watch() -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if stack.plugins and committed():
                stack.plugins[-1].kill()
                return
            time.sleep(0.02)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize(
    ("path", "committed"),
    [
        ("/v1/" + Api.alerts_path(), lambda api: len(api.alerts()) >= 1),
        (PURCHASES, lambda api: len(api.charges()) == 1),
    ],
    ids=["alert", "purchase"],
)
def test_killed_between_commit_and_answer_the_next_run_converges_without_duplicates(
    sandbox: Sandbox, api: Api, tmp_path: Path, path: str, committed: Callable[[Api], bool]
) -> None:
    api.set_default(api.attach("pm_card_visa"))
    config = plugin_config(sandbox, **{"openai-billing:timeoutSeconds": "300"})
    state_file = tmp_path / "state.json"
    stack = _CrashableStack(write_program(tmp_path, PROGRAM), config=config, state_file=state_file)
    # Every create on the path is held back after its commit for two minutes (the client waits five): the crash
    # comes once the first is in (different alerts of one scope are created side by side, so maybe all three).
    api.faults({"method": "POST", "path": path, "kind": "stall_after_commit", "stall_seconds": 120, "times": 10})
    watcher = _kill_when(stack, lambda: committed(api))
    started = time.monotonic()
    with pytest.raises(DeploymentError):
        stack.up()
    watcher.join()
    assert time.monotonic() - started < 60, "the crash ended the step; nothing waited for the held answer"
    assert committed(api), "the create was committed before the crash"
    known = set(Stack(stack.program, config=config, state_file=state_file).ids())
    assert NAMES - known, "the state lost at least the create in flight"

    api.http.delete("sandbox/faults").raise_for_status()
    after = Stack(stack.program, config=config, state_file=state_file)
    after.up()
    assert set(after.ids()) == NAMES
    assert sorted(a["threshold_amount"] for a in api.alerts()) == [10000, 20000, 30000], "no second alert"
    assert len(api.charges()) == 1, "no second charge"
    assert after.resources["preload"]["purchase_id"] == api.billing("credit_purchases")["data"][0]["id"]
    assert after.preview().changed() == {}
