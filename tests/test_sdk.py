"""``sdk/``: the TypeScript, Go and Python SDKs scripts/sdkgen generates from ``schema.json``, committed and current."""

from __future__ import annotations

import fnmatch
import json
import re
import subprocess
from pathlib import Path

import pytest

from pulumi_openai_billing.testing import PULUMI_CLI_VERSION

ROOT = Path(__file__).resolve().parents[1]
LANGUAGES = ("nodejs", "go", "python")
SCHEMA = json.loads((ROOT / "schema.json").read_text())
BUILD_SECONDS = 1800
"""The first build compiles Pulumi's code generators (minutes on 2 cores); later runs reuse the binary."""
pytestmark = pytest.mark.timeout(BUILD_SECONDS + 300)


def sdkgen() -> str:
    """The generator's binary, built through scripts/_sdkgen.sh as scripts/regen builds it."""
    built = subprocess.run(
        ["bash", "-c", 'set -euo pipefail; source scripts/_sdkgen.sh; printf %s "$OPENAI_BILLING_SDKGEN"'],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=BUILD_SECONDS,
        stdin=subprocess.DEVNULL,
    )
    assert built.returncode == 0, built.stderr
    return built.stdout


@pytest.fixture(scope="module")
def generator() -> str:
    return sdkgen()


@pytest.fixture(scope="module")
def generated(generator: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The SDKs as the generator makes them from the committed schema.json."""
    out = tmp_path_factory.mktemp("sdk")
    run = subprocess.run([generator, str(ROOT / "schema.json"), str(out)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    return out


def built_in_place(generated: Path, language: str) -> list[str]:
    """What the SDK's own .gitignore names (node_modules, __pycache__...): what building it in place leaves."""
    gitignore = generated / language / ".gitignore"
    return [p.rstrip("/") for p in gitignore.read_text().split()] if gitignore.exists() else []


def files(sdk: Path, generated: Path) -> dict[str, Path]:
    """Every file of the SDKs under ``sdk`` by its path there, but for what building one in place leaves."""
    found = {}
    for language in LANGUAGES:
        ignored = built_in_place(generated, language)
        for path in (sdk / language).rglob("*"):
            parts = path.relative_to(sdk / language).parts
            if path.is_file() and not any(fnmatch.fnmatch(part, p) for part in parts for p in ignored):
                found[path.relative_to(sdk).as_posix()] = path
    return found


def test_committed_sdk_is_current(generated: Path) -> None:
    want, have = files(generated, generated), files(ROOT / "sdk", generated)
    stale = sorted(
        [f"missing: sdk/{name}" for name in want.keys() - have.keys()]
        + [f"not generated: sdk/{name}" for name in have.keys() - want.keys()]
        + [f"differs: sdk/{n}" for n in want.keys() & have.keys() if want[n].read_bytes() != have[n].read_bytes()]
    )
    shown = "\n".join(stale[:40]) + (f"\n... and {len(stale) - 40} more" if len(stale) > 40 else "")
    assert not stale, f"sdk/ is stale: run scripts/regen and commit the result\n{shown}"


def test_every_sdk_carries_the_schema_version(generated: Path) -> None:
    version = SCHEMA["version"]
    assert json.loads((generated / "nodejs" / "package.json").read_text())["version"] == version
    # pyproject.toml when the schema's python options enable it, else setup.py
    pyproject, setup = generated / "python" / "pyproject.toml", generated / "python" / "setup.py"
    python = re.search(r'^\s*version = "(.*)"$', pyproject.read_text(), re.MULTILINE) if pyproject.exists() else None
    python = python or re.search(r'^VERSION = "(.*)"$', setup.read_text(), re.MULTILINE)
    assert python is not None and python[1] == version
    for plugin in generated.glob("*/**/pulumi-plugin.json"):
        assert json.loads(plugin.read_text())["version"] == version, plugin


def snake(name: str) -> str:
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)).lower()


def test_every_resource_has_a_file_in_each_sdk(generated: Path) -> None:
    names = {lang: {p.name.lower() for p in (generated / lang).rglob("*") if p.is_file()} for lang in LANGUAGES}
    for token in SCHEMA["resources"]:
        name = token.rsplit(":", 1)[1]
        camel = name[0].lower() + name[1:]
        assert f"{camel}.ts".lower() in names["nodejs"], token
        assert f"{camel}.go".lower() in names["go"], token
        assert f"{snake(name)}.py" in names["python"], token


def test_go_sdk_is_a_module_on_the_generators_pulumi(generated: Path) -> None:
    """A Go program uses the SDK through ``replace <module> => sdk/go``; it builds against the Pulumi SDK the
    generator is built from, the version of the CLI the set-up builds."""
    import_base = SCHEMA.get("language", {}).get("go", {}).get("importBasePath")
    go_mod = (generated / "go" / "go.mod").read_text()
    module = re.search(r"^module (\S+)$", go_mod, re.MULTILINE)[1]
    if import_base:
        assert (generated / "go" / import_base.removeprefix(module + "/") / "pulumi-plugin.json").exists()
    assert f"github.com/pulumi/pulumi/sdk/v3 {PULUMI_CLI_VERSION}" in go_mod
    own = (ROOT / "scripts" / "sdkgen" / "go.mod").read_text()
    for module in ("pkg", "sdk"):
        assert f"github.com/pulumi/pulumi/{module}/v3 {PULUMI_CLI_VERSION}" in own, module


def test_an_invalid_schema_is_reported_and_nothing_written(generator: str, tmp_path: Path) -> None:
    schema = json.loads((ROOT / "schema.json").read_text())
    token = next(iter(schema["resources"]))
    schema["resources"][token]["properties"]["broken"] = {"$ref": "#/types/openai-billing:index:Missing"}
    (tmp_path / "schema.json").write_text(json.dumps(schema))
    run = subprocess.run(
        [generator, str(tmp_path / "schema.json"), str(tmp_path / "out")], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 1
    assert "type openai-billing:index:Missing not found in package openai-billing" in run.stderr
    assert not (tmp_path / "out").exists()
