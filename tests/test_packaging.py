"""What the package promises as a distribution: its public names, the files a wheel carries, and that a
Pulumi program needs only the core dependencies (the sandbox's web server is an extra)."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pulumi_openai_billing
from conftest import pip_env
from pulumi_openai_billing import errors
from pulumi_openai_billing.cli.export import requirements
from pulumi_openai_billing.resources import KINDS

ROOT = Path(__file__).resolve().parents[1]
PUBLIC = {
    "ApiKey", "get_api_key",
    "BillingError", "BillingOverview", "Budget", "ConfigError", "CostResult", "CostsError", "Invoice", "OpenAIError",
    "OutcomeUnknown", "ProjectInfo", "ProviderError", "RequestFailed", "ScopeOverview", "SpendAlert", "SpendLimit",
    "ThrottleWaitExceeded", "TopUpPolicy", "__version__", "get_billing_overview", "get_costs", "get_project",
    "get_spend_limit", "get_top_up_policy", "list_invoices", "list_projects", "list_spend_alerts",
} | {kind.name for kind in KINDS}  # fmt: skip
"""The public names: these, and every resource kind's class (named as its kind)."""


def test_the_public_names_are_pinned() -> None:
    assert set(pulumi_openai_billing.__all__) == PUBLIC
    assert all(hasattr(pulumi_openai_billing, name) for name in PUBLIC)
    assert set(errors.__all__) <= PUBLIC, "every error a user catches is exported from the package root"
    assert all(issubclass(getattr(errors, name), errors.BillingError) for name in errors.__all__)


def test_the_wheel_carries_its_metadata_files_and_the_demos_program(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"pulumi_openai_billing/py.typed", "pulumi_openai_billing/examples/quickstart/__main__.py"} <= names
    plugin = json.loads(zipfile.ZipFile(wheel).read("pulumi_openai_billing/pulumi-plugin.json"))
    assert plugin == {"resource": False}, "Pulumi's Python host then looks for no resource plugin"
    (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    scripts = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "pulumi-resource-openai-billing = pulumi_openai_billing.plugin:main" in scripts, "other languages' plugin"


def _pip_install(python: Path, *args: str, cwd: Path) -> None:
    installed = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", *args],
        cwd=cwd,
        env=pip_env(),
        timeout=600,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
    )
    assert installed.returncode == 0, installed.stderr[-2000:]


def test_a_program_needs_only_the_core_and_the_examples_install_as_shipped(tmp_path: Path) -> None:
    """A fresh venv, set up as a user would from an example's own requirements.txt (the core dependencies alone:
    no sandbox, policy, charts or test tools), imports every resource class and function; the other examples'
    and an exported program's requirements install too; the sandbox command says which extra it needs."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    for example in ("quickstart", "prepaid-credits"):
        _pip_install(python, "-r", "requirements.txt", cwd=ROOT / "examples" / example)
    exported = tmp_path / "requirements.txt"
    exported.write_text(requirements())
    _pip_install(python, "-r", str(exported), cwd=tmp_path)
    imports = "import pulumi_openai_billing as b; print(sorted(n for n in b.__all__ if n[0].isupper()))"
    listed = subprocess.run([str(python), "-c", imports], capture_output=True, text=True, timeout=120, check=True)
    assert "OrganizationSpendLimit" in listed.stdout and "CreditPurchase" in listed.stdout
    missing = subprocess.run(
        [str(python), "-c", "import fastapi"], capture_output=True, text=True, timeout=60, check=False
    )
    assert missing.returncode != 0, "the core does not install the sandbox's web server"
    sandbox = subprocess.run(
        [str(venv / "bin" / "openai-billing"), "sandbox", "--admin-key", "sk-admin-x"],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert sandbox.returncode == 2 and "pip install 'pulumi-openai-billing[sandbox]'" in sandbox.stderr
    assert "Traceback" not in sandbox.stderr
