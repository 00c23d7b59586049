"""How much of the package one ``ProjectSpendAlert`` create walks through: Python calls inside the package, the
files they are in, and the hops between files (a call whose callee is in another file than its caller).

It checks the alert first (as the engine does), then profiles ``create`` alone, against a sandbox on loopback
with OpenAI's throttle off. The HTTP library, pydantic and the standard library are not counted.

    .venv/bin/python benchmarks/create_calls.py
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections import Counter
from pathlib import Path
from types import FrameType
from typing import Any

import httpx
from pulumi.dynamic import ConfigureRequest

import pulumi_openai_billing
from pulumi_openai_billing import providers
from pulumi_openai_billing.sandbox import Sandbox

PACKAGE = str(Path(pulumi_openai_billing.__file__).parent)
ADMIN_KEY = "sk-admin-benchmark-0123456789"


functions = Counter[str]()


class _Config:
    """The stack configuration the engine sends to ``configure`` (none here: the settings are in the environment)."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values

    def get(self, key: str) -> str | None:
        return self.values.get(key)


def profile(call: Any) -> tuple[int, int, Counter[str]]:
    """Calls inside the package while ``call()`` runs, hops between its files, and calls per file."""
    calls, hops, files = 0, 0, Counter[str]()

    def on_event(frame: FrameType, event: str, _: object) -> None:
        nonlocal calls, hops
        if event != "call" or not frame.f_code.co_filename.startswith(PACKAGE):
            return
        callee = os.path.relpath(frame.f_code.co_filename, PACKAGE)
        calls += 1
        files[callee] += 1
        functions[f"{callee}:{frame.f_code.co_name}"] += 1
        caller = frame.f_back
        if caller is not None and caller.f_code.co_filename.startswith(PACKAGE):
            hops += os.path.relpath(caller.f_code.co_filename, PACKAGE) != callee

    sys.setprofile(on_event)
    try:
        call()
    finally:
        sys.setprofile(None)
    return calls, hops, files


def main() -> None:
    with Sandbox(ADMIN_KEY, rate_limit="off") as sandbox:
        os.environ.update(OPENAI_ADMIN_KEY=ADMIN_KEY, OPENAI_BILLING_BASE_URL=sandbox.base_url)
        os.environ["OPENAI_BILLING_PACE_DIR"] = tempfile.mkdtemp(prefix="openai-billing-pace-")
        dashboard = httpx.Client(base_url=sandbox.base_url + "/", headers={"Authorization": f"Bearer {ADMIN_KEY}"})
        project = dashboard.post("organization/projects", json={"name": "team-a"}).json()["id"]
        provider = providers.PROVIDERS["ProjectSpendAlert"]()
        if hasattr(provider, "_step"):  # configured as the plugin configures it (before, nothing was kept)
            provider.configure(ConfigureRequest(_Config({})))
        declared = {"project_id": project, "threshold_usd": 100, "recipients": ["finops@example.com"]}
        checked = provider.check({}, declared)
        assert not checked.failures, checked.failures
        calls, hops, files = profile(lambda: provider.create(checked.inputs))
        print(f"ProjectSpendAlert create: {calls} calls inside the package, {hops} hops between {len(files)} files")
        for name, count in files.most_common():
            print(f"  {count:4d}  {name}")
        if "--functions" in sys.argv:
            for name, count in functions.most_common(25):
                print(f"  {count:4d}  {name}")


if __name__ == "__main__":
    main()
