"""The TypeScript and Go examples under the real engine, each through its own language's Automation API (an
inline program using the SDK generated from schema.json), against a real sandbox: preview, up, a dashboard
edit, refresh with the drift, up, and destroy honouring ``on_delete``.

Each example has a driver, built by ``tests/_build_<language>.py`` (``driver() -> command``), that runs one step
per call: ``<command> preview|up|refresh|destroy``. It reads its stack from the environment (below) and prints,
as the last line of its standard output, ``{"changes": {"create": 7, ...}}``: the engine's change summary for a
preview, the update's resource changes otherwise. Everything else it prints goes to standard error.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import ADMIN_KEY, Api, plugin_config
from pulumi_openai_billing.sandbox import Sandbox
from pulumi_openai_billing.testing import DEFAULT_PASSPHRASE, Stack, pulumi_root

ROOT = Path(__file__).resolve().parents[1]
LANGUAGES = ("typescript", "go")
STEP_SECONDS = 300
FINOPS = ["finops@example.com", "platform@example.com"]


class Driver:
    """One example's stack, stepped by its driver; its state read through ``testing.Stack`` on the same backend."""

    def __init__(self, language: str, command: list[str], backend: Path, config: dict[str, str]) -> None:
        self.language = language
        self.command = command
        self.project = f"openai-billing-{language}"
        work = backend / "driver"
        work.mkdir(parents=True, exist_ok=True)
        (backend / "state").mkdir(parents=True, exist_ok=True)
        self.env = {
            **os.environ,
            "PULUMI_BACKEND_URL": f"file://{backend / 'state'}",
            "PULUMI_CONFIG_PASSPHRASE": DEFAULT_PASSPHRASE,
            "PULUMI_HOME": str(backend / "home"),
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            "PULUMI_DIY_BACKEND_NO_LEGACY_WARNING": "true",
            "PATH": os.pathsep.join([str(pulumi_root() / "bin"), os.environ.get("PATH", "")]),
            "OPENAI_ADMIN_KEY": "",
            "OPENAI_BILLING_STACK": "dev",
            "OPENAI_BILLING_WORK_DIR": str(work),
            "OPENAI_BILLING_PLUGIN_DIR": str(Path(sys.executable).parent),
            "OPENAI_BILLING_CONFIG": json.dumps(config),
            "OPENAI_BILLING_SECRET_CONFIG": json.dumps(["openai-billing:adminKey"]),
        }
        reader = backend / "reader"
        reader.mkdir(exist_ok=True)
        (reader / "Pulumi.yaml").write_text(f"name: {self.project}\nruntime: yaml\n")
        self.log = backend / "steps.log"
        self._state: Stack | None = None
        self._backend = backend

    def step(self, op: str) -> dict[str, int]:
        done = subprocess.run(
            [*self.command, op],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=STEP_SECONDS,
            stdin=subprocess.DEVNULL,
        )
        with self.log.open("a") as log:
            log.write(f"--- {op}\n{done.stdout}\n{done.stderr}\n")
        assert done.returncode == 0, f"{self.language} {op} failed:\n{done.stderr[-4000:]}"
        last = done.stdout.strip().splitlines()[-1]
        changes: dict[str, int] = json.loads(last)["changes"]
        return {op: int(count) for op, count in changes.items() if count}

    @property
    def state(self) -> Stack:
        if self._state is None:
            self._state = Stack(self._backend / "reader", stack="dev", project=self.project, backend_dir=self._backend)
        return self._state


def _alert_edit(api: Api, outputs: dict[str, Any]) -> None:
    api.post(
        f"{api.alerts_path(outputs.get('projectId'))}/{outputs['alertId']}",
        {
            "threshold_amount": int(outputs["thresholdCents"]),
            "currency": "USD",
            "interval": "month",
            "notification_channel": {"type": "email", "recipients": ["someone@example.com"]},
        },
    )


@pytest.mark.parametrize("language", LANGUAGES)
def test_example_lifecycle(language: str, sandbox: Sandbox, api: Api, tmp_path: Path) -> None:
    command = importlib.import_module(f"_build_{language}").driver()
    project = api.project("team-a")
    driver = Driver(language, command, tmp_path / "backend", plugin_config(sandbox))

    api.clear_requests()
    assert driver.step("preview") == {"create": 7}  # six resources and the stack
    assert api.writes() == []
    assert driver.step("up") == {"create": 7}
    assert driver.step("preview") == {"same": 7}
    resources = driver.state.resources
    assert resources["org-limit"]["monthlyLimitUsd"] == "5000.00"
    assert resources["team-a-limit"]["projectId"] == project
    assert {r["thresholdUsd"] for n, r in resources.items() if n.startswith("org-alert-")} == {
        "2500.00",
        "4000.00",
        "5000.00",
    }

    api.set_limit(6000)  # someone edits the dashboard
    _alert_edit(api, resources["org-alert-80"])
    api.http.delete(f"{api.alerts_path(project)}/{resources['team-a-alert']['alertId']}").raise_for_status()
    refreshed = driver.step("refresh")
    assert refreshed.get("update") == 2 and refreshed.get("delete") == 1, refreshed
    drifted = driver.state.resources
    assert drifted["org-limit"]["monthlyLimitUsd"] == "6000.00" and "team-a-alert" not in drifted
    assert drifted["org-alert-80"]["recipients"] == ["someone@example.com"]

    restored = driver.step("up")
    assert restored.get("update") == 2 and restored.get("create") == 1, restored
    assert api.get("organization/spend_limit")["threshold_amount"] == 500000
    assert driver.step("preview") == {"same": 7}

    assert driver.step("destroy") == {"delete": 7}
    assert driver.state.resources == {}
    assert api.get("organization/spend_limit")["threshold_amount"] == 500000, "on_delete=retain keeps the cap"
    assert api.get(f"organization/projects/{project}/spend_limit")["threshold_amount"] == 75000
    assert api.alerts() == [] and api.alerts(project) == [], "alerts go with the stack"
    assert ADMIN_KEY not in driver.log.read_text()
