"""Crash consistency under the real engine: the provider plugin (or the whole ``pulumi up``) is killed after the
API committed a create and before it answered.

The sandbox holds the committed answer back (``stall_after_commit``); the test kills the process in that
window, as a crash or a cancelled CI job would. The state then does not know the created object (a killed
``pulumi up`` leaves it as a pending operation); the next ``up`` must converge to the declared account without
a second alert and without a second charge.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import Api, kill_processes, plugin_config, write_program
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
PLUGIN = "pulumi-resource-pulumi-python"  # the provider plugin, as testing.Stack has the engine start it


def _kill_when(committed: Callable[[], bool], *commands: str, timeout: float = 60.0) -> threading.Thread:
    """Kill this test's processes whose command line has one of ``commands`` once ``committed()`` holds (the
    sandbox has the object, the answer is held back)."""

    def watch() -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if committed() and kill_processes(*commands):
                return
            time.sleep(0.02)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def _recover_checkpoint(stack: Stack) -> None:
    """A SIGKILL that lands while the engine writes its checkpoint leaves the file backend's state file empty (the
    next step fails with "failed to load checkpoint: EOF"); the engine keeps the one before as ``.bak``, which a
    user restores (``pulumi stack import``). That is the engine's own crash, not the provider's: the run after
    it must still converge without duplicates, from the older state."""
    state = stack.state_file()
    try:
        json.loads(state.read_text())
    except ValueError:
        shutil.copyfile(state.with_name(state.name + ".bak"), state)


@pytest.mark.parametrize(
    ("path", "committed"),
    [
        ("/v1/" + Api.alerts_path(), lambda api: len(api.alerts()) >= 1),
        (PURCHASES, lambda api: len(api.charges()) == 1),
    ],
    ids=["alert", "purchase"],
)
@pytest.mark.parametrize("killed", [(PLUGIN,), ("--non-interactive up", PLUGIN)], ids=["plugin", "whole-up"])
def test_killed_between_commit_and_answer_the_next_run_converges_without_duplicates(
    sandbox: Sandbox, api: Api, tmp_path: Path, path: str, committed: Callable[[Api], bool], killed: tuple[str, ...]
) -> None:
    api.set_default(api.attach("pm_card_visa"))
    config = plugin_config(sandbox, **{"openai-billing:timeoutSeconds": "300"})
    program, backend = write_program(tmp_path, PROGRAM), tmp_path / "backend"
    stack = Stack(program, config=config, backend_dir=backend)
    # Every create on the path is held back after its commit for two minutes (the client waits five): the crash
    # comes once the first is in (different alerts of one scope are created side by side, so maybe all three).
    api.faults({"method": "POST", "path": path, "kind": "stall_after_commit", "stall_seconds": 120, "times": 10})
    watcher = _kill_when(lambda: committed(api), *killed)
    started = time.monotonic()
    with pytest.raises(DeploymentError):
        stack.up()
    watcher.join()
    assert time.monotonic() - started < 60, "the crash ended the step; nothing waited for the held answer"
    assert committed(api), "the create was committed before the crash"
    assert NAMES - set(stack.ids()), "the state lost at least the create in flight"

    api.http.delete("sandbox/faults").raise_for_status()
    if len(killed) > 1:
        _recover_checkpoint(stack)
    after = Stack(program, config=config, backend_dir=backend)
    if len(killed) > 1:
        # A killed `pulumi up` leaves its lock: the engine says so, and `pulumi cancel` removes it.
        with pytest.raises(DeploymentError, match=r"currently locked .* `pulumi cancel`"):
            after.up()
        after.cli("cancel", "--yes")
    up = after.up()
    assert set(after.ids()) == NAMES
    assert sorted(a["threshold_amount"] for a in api.alerts()) == [10000, 20000, 30000], "no second alert"
    assert len(api.charges()) == 1, "no second charge"
    assert after.resources["preload"]["purchase_id"] == api.billing("credit_purchases")["data"][0]["id"]
    assert after.preview().changed() == {}
    if len(killed) > 1:
        assert any("pending" in w for w in up.warnings), "the engine reported the interrupted operations"
