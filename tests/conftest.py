"""Shared fixtures: a real sandbox on loopback per test and the real dynamic-provider plugin server."""

from __future__ import annotations

import base64
import contextlib
import os
import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import hypothesis  # noqa: F401  (imported here, not first at session end by its plugin: see below)
import psutil
import pytest
from pulumi.dynamic.dynamic import serialize_provider

from plugin_driver import Plugin
from pulumi_openai_billing import providers
from pulumi_openai_billing._api import config
from pulumi_openai_billing._api.client import BillingClient
from pulumi_openai_billing.resources._step import Step, forget_steps, use_step
from pulumi_openai_billing.sandbox import Sandbox

# hypothesis's pytest plugin imports hypothesis at the end of a session that did not; under CPython 3.11.7 that
# late import (assertion-rewritten, from a deep stack) can fail with "AST constructor recursion depth mismatch".

ADMIN_KEY = "sk-admin-test-key-0123456789"  # a fake key: only the sandbox knows it


def policy_body(**fields: Any) -> dict[str, Any]:
    """An auto-reload POST body: below 20 USD reload to 100, at most 300 a month, unless ``fields`` say else."""
    return {
        "enabled": True,
        "balance_threshold_amount": 2000,
        "target_balance_amount": 10000,
        "monthly_reload_limit_amount": 30000,
        "currency": "USD",
        "payment_method_id": None,
        **fields,
    }


class Api:
    """Direct access to the sandbox, as a person editing the dashboard (and to read its state)."""

    def __init__(self, sandbox: Sandbox | None = None, *, http: httpx.Client | None = None) -> None:
        """A running sandbox's dashboard over loopback, or ``http`` (the in-process app's test client)."""
        headers = {"Authorization": f"Bearer {ADMIN_KEY}", "X-Sandbox-Dashboard": "true"}
        if http is None:
            assert sandbox is not None
            http = httpx.Client(base_url=sandbox.base_url + "/")
        http.headers.update(headers)
        self.http = http
        self.transport: httpx.BaseTransport | None = None
        """For the in-process sandbox (``local``): what the provider's client sends through."""

    def get(self, path: str, **params: Any) -> Any:
        response = self.http.get(path, params=params)
        response.raise_for_status()
        return response.json()

    def post(self, path: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
        response = self.http.post(path, json=body, headers=headers)
        response.raise_for_status()
        return response.json()

    def state(self) -> Any:
        return self.get("sandbox/state")

    def requests(self) -> list[dict[str, Any]]:
        return self.get("sandbox/requests")

    def clear_requests(self) -> None:
        self.http.delete("sandbox/requests").raise_for_status()

    def writes(self) -> list[dict[str, Any]]:
        return [r for r in self.requests() if r["method"] != "GET"]

    def project(self, name: str) -> str:
        return self.post("organization/projects", {"name": name})["id"]

    def set_limit(self, dollars: int, project_id: str | None = None) -> None:
        path = f"organization/projects/{project_id}/spend_limit" if project_id else "organization/spend_limit"
        self.post(path, {"threshold_amount": dollars * 100, "currency": "USD", "interval": "month"})

    def api_key(self, project_id: str, name: str = "ci", owner: str = "user") -> str:
        """A new project API key (as a person makes one in the dashboard); its id."""
        return self.post("sandbox/api_keys", {"project_id": project_id, "name": name, "owner": owner})["id"]

    def set_key_limit(self, project_id: str, api_key_id: str, dollars: int | None) -> dict[str, Any]:
        """Set (None: remove) a key's own monthly limit, as the dashboard does; the key as answered."""
        limit = None if dollars is None else {"threshold_amount": dollars * 100, "currency": "USD", "interval": "month"}
        return self.post(f"organization/projects/{project_id}/api_keys/{api_key_id}", {"spend_limit": limit})

    @staticmethod
    def alerts_path(project_id: str | None = None) -> str:
        return f"organization/projects/{project_id}/spend_alerts" if project_id else "organization/spend_alerts"

    def alerts(self, project_id: str | None = None) -> list[dict[str, Any]]:
        return self.get(self.alerts_path(project_id), limit=100)["data"]

    def billing(self, path: str, **params: Any) -> Any:
        return self.get(f"organization/billing/{path}", **params)

    def attach(self, token: str) -> str:
        return self.post("organization/billing/payment_methods", {"token": token})["id"]

    def set_default(self, payment_method_id: str) -> None:
        self.post("organization/billing/default_payment_method", {"payment_method_id": payment_method_id})

    def set_policy(self, **fields: Any) -> dict[str, Any]:
        return self.post("organization/billing/auto_reload", policy_body(**fields))

    def charges(self, status: str = "succeeded") -> list[dict[str, Any]]:
        return [c for c in self.billing("charges", limit=100)["data"] if c["status"] == status]

    def faults(self, *faults: dict[str, Any]) -> None:
        self.http.post("sandbox/faults", json={"faults": list(faults)}).raise_for_status()


RUN_MARKER = "OPENAI_BILLING_TEST_RUN"
"""Set in the environment of the run's first process, so every process a test starts carries it."""
LEFTOVER_GRACE_SECONDS = 10.0


def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):
        os.environ[RUN_MARKER] = secrets.token_hex(8)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """The run fails when a process that a test started (a sandbox, the Pulumi CLI, a plugin) outlives it."""
    if hasattr(session.config, "workerinput"):
        return
    marker = os.environ[RUN_MARKER]

    def started_by_this_run(process: psutil.Process) -> bool:
        with contextlib.suppress(psutil.Error, OSError):
            return process.pid != os.getpid() and process.environ().get(RUN_MARKER) == marker
        return False

    left = [p for p in psutil.process_iter() if started_by_this_run(p)]
    _, alive = psutil.wait_procs(left, timeout=LEFTOVER_GRACE_SECONDS)
    if alive:
        lines = []
        for process in alive:
            with contextlib.suppress(psutil.Error):
                lines.append(f"  {process.pid}: {' '.join(process.cmdline())[:200]}")
                process.kill()
        print("\nprocesses started by this run outlived it (now killed):\n" + "\n".join(lines), file=sys.stderr)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(autouse=True)
def _fresh_process_caches(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Sandboxes of earlier tests may have had this test's port: nothing kept about them (figures, pooled
    clients, the learned pace of each endpoint) may answer for it."""
    forget_steps()
    monkeypatch.setenv("OPENAI_BILLING_PACE_DIR", str(tmp_path_factory.mktemp("pace")))


@pytest.fixture
def sandbox(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    """A sandbox without OpenAI's throttle, unless the test says ``@pytest.mark.rate_limit("7/2s")``."""
    marker = request.node.get_closest_marker("rate_limit")
    with Sandbox(ADMIN_KEY, rate_limit=marker.args[0] if marker else "off") as running:
        yield running


@pytest.fixture
def api(sandbox: Sandbox) -> Iterator[Api]:
    client = Api(sandbox)
    yield client
    client.http.close()


LOCAL_URL = "http://sandbox.local/v1"
"""Where the in-process sandbox answers (``local``): a name no network resolves, so nothing leaves the process."""


@pytest.fixture
def local(monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    """The fast tier's sandbox: its app in this process, reached through ``httpx.MockTransport`` (no server, no
    loopback, no retries), with the settings in the environment. Yields the dashboard, as ``api`` does."""
    from fastapi.testclient import TestClient

    from pulumi_openai_billing.sandbox import create_app

    with TestClient(create_app(ADMIN_KEY, rate_limit="off"), base_url=LOCAL_URL + "/") as app:

        def forward(request: httpx.Request) -> httpx.Response:
            answer = app.request(request.method, str(request.url), content=request.content, headers=request.headers)
            return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)

        monkeypatch.setenv("OPENAI_ADMIN_KEY", ADMIN_KEY)
        monkeypatch.setenv("OPENAI_BILLING_BASE_URL", LOCAL_URL)
        monkeypatch.setenv("OPENAI_BILLING_MAX_RETRIES", "0")
        dashboard = Api(http=app)
        dashboard.transport = httpx.MockTransport(forward)
        new_local_step(dashboard.transport)
        try:
            yield dashboard
        finally:
            forget_steps()


def new_local_step(transport: httpx.BaseTransport) -> Step:
    """What a new deployment step starts with (a new plugin process keeps nothing of the last one), its client
    sending through ``transport``."""
    forget_steps()
    settings = config.resolve()
    step = Step(settings, BillingClient(settings, transport=transport))
    use_step(step)
    return step


@pytest.fixture
def env(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings from the environment, as a script calling the functions would have them."""
    monkeypatch.setenv("OPENAI_ADMIN_KEY", ADMIN_KEY)
    monkeypatch.setenv("OPENAI_BILLING_BASE_URL", sandbox.base_url)
    monkeypatch.setenv("OPENAI_BILLING_MAX_RETRIES", "2")


def this_month() -> str:
    """The current UTC month as YYYY-MM, computed here rather than by the code under test."""
    now = datetime.now(timezone.utc)
    return f"{now.year:04d}-{now.month:02d}"


def last_month() -> str:
    now = datetime.now(timezone.utc)
    return f"{now.year - (now.month == 1):04d}-{(now.month - 2) % 12 + 1:02d}"


def plugin_config(sandbox: Sandbox, **extra: str) -> dict[str, str]:
    return {
        "openai-billing:baseUrl": sandbox.base_url,
        "openai-billing:adminKey": ADMIN_KEY,
        "openai-billing:maxRetries": "3",
        **extra,
    }


@pytest.fixture
def plugin(sandbox: Sandbox) -> Iterator[Plugin]:
    with Plugin(plugin_config(sandbox), env={"OPENAI_ADMIN_KEY": ""}) as running:
        yield running


def provider_blob(name: str) -> str:
    """The ``__provider`` value a program registers for this resource kind (the pickled provider)."""
    return serialize_provider(providers.PROVIDERS[name]())


def pickled(name: str) -> bytes:
    return base64.b64decode(provider_blob(name))


class Resource:
    """One resource's engine calls, as the Pulumi engine makes them (olds are the previous outputs)."""

    def __init__(self, plugin: Plugin, kind: str, name: str = "r") -> None:
        self.plugin = plugin
        self.urn = f"urn:pulumi:test::billing::pulumi-python:dynamic/openai-billing:{kind}::{name}"
        self.kind = providers.PROVIDERS[kind].kind
        self.blob = provider_blob(kind)
        self.id = ""
        self.outputs: dict[str, Any] = {}
        self.inputs: dict[str, Any] = {}

    def check(self, news: dict[str, Any], olds: dict[str, Any] | None = None) -> tuple[dict[str, Any], list]:
        """Check's inputs and failures, each failure as ``(the property its reason names first, reason)``.

        The provider reports every failure for the resource as a whole (the engine then prints the reason once,
        without "property X value {…} has a problem: X …"), and each reason starts with the property it is about;
        a reason about a setting or the account names no property ("")."""
        inputs, failures = self.plugin.check(
            self.urn, olds if olds is not None else self.inputs, {**news, "__provider": self.blob}
        )
        assert all(prop == "" for prop, _ in failures), failures
        fields = set(self.kind.inputs.model_fields)
        return inputs, [(_named(reason, fields), reason) for _, reason in failures]

    def checked(self, news: dict[str, Any]) -> dict[str, Any]:
        inputs, failures = self.check(news)
        assert failures == []
        return inputs

    def create(self, news: dict[str, Any]) -> dict[str, Any]:
        self.inputs = self.checked(news)
        self.id, self.outputs = self.plugin.create(self.urn, self.inputs)
        return self.outputs

    def diff(self, news: dict[str, Any]):
        return self.plugin.diff(self.urn, self.id, self.outputs, self.checked(news))

    def read(self) -> tuple[str, dict[str, Any], dict[str, Any] | None]:
        return self.plugin.read(self.urn, self.id, self.outputs, self.inputs)

    def refresh(self) -> None:
        id_, outs, inputs = self.read()
        self.id, self.outputs, self.inputs = id_, outs, inputs or self.inputs

    def update(self, news: dict[str, Any]) -> dict[str, Any]:
        inputs = self.checked(news)
        self.outputs = self.plugin.update(self.urn, self.id, self.outputs, inputs)
        self.inputs = inputs
        return self.outputs

    def delete(self) -> None:
        self.plugin.delete(self.urn, self.id, self.outputs)


def kill_processes(*commands: str) -> bool:
    """SIGKILL this test's descendant processes whose command line contains one of ``commands``
    (``--non-interactive up`` for the engine's ``pulumi up``, ``pulumi-resource-pulumi-python`` for the provider
    plugin), as a crash would, all found before any is killed; True when one was found."""
    found = []
    for process in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if any(command in " ".join(process.cmdline()) for command in commands):
                found.append(process)
    for process in found:
        with contextlib.suppress(psutil.Error):
            process.kill()
    return bool(found)


def _named(reason: str, fields: set[str]) -> str:
    first = re.split(r"[ :]", reason, maxsplit=1)[0]
    return first if first in fields or reason.startswith(f"{first} is not a property") else ""


BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
LOCKED = Path(__file__).resolve().parents[1] / ".venv" / "constraints.txt"
"""uv.lock as pip constraints (the set-up writes it): a fresh venv a test makes gets the versions CI tested."""


def pip_env() -> dict[str, str]:
    """The environment for a test's ``pip install`` into a fresh venv: this run's, held to the lock."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHONPATH", "OPENAI_"))}
    return {**env, "PIP_CONSTRAINT": str(LOCKED)} if LOCKED.exists() else env


def run_benchmark(script: str, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """A script of benchmarks/ run as CI runs it: a process of its own, with no standard input."""
    return subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def write_program(tmp_path: Path, body: str) -> Path:
    program = tmp_path / "program"
    program.mkdir(exist_ok=True)
    (program / "Pulumi.yaml").write_text("name: billing-test\nruntime: python\n")
    (program / "__main__.py").write_text("import pulumi\nimport pulumi_openai_billing as billing\n" + body)
    return program


def fresh_plugin(sandbox: Sandbox, **config: str) -> Plugin:
    """A new plugin process, as each `pulumi up` / `pulumi destroy` starts its own."""
    return Plugin(plugin_config(sandbox, **config), env={"OPENAI_ADMIN_KEY": ""})
