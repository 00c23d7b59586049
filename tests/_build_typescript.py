"""Builds ``examples/typescript`` for ``test_sdk_examples.py``: ``driver()`` returns the command that runs its
Automation API driver (``node examples/typescript/build/automation.js``).

The example's dependencies come from its committed ``package-lock.json`` (``npm ci``, only when ``node_modules`` is
missing or was installed from another lock); the SDK generated in ``sdk/nodejs`` is compiled into its
``node_modules/@pulumi-openai-billing/sdk`` and the program and driver into ``build/``, both with the locked
``typescript``. The build is recorded under a hash of its inputs (the lock, the example's sources, every file of the
SDK), so a warm call only hashes them. Several pytest-xdist workers may call it at once: one builds, under a file
lock, and the others wait for it and reuse its build (tests/_build.py).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from _build import ROOT, digest, locked, run, tool

EXAMPLE = ROOT / "examples" / "typescript"
SDK = ROOT / "sdk" / "nodejs"
NODE_MODULES = EXAMPLE / "node_modules"
BUILD = EXAMPLE / "build"
DRIVER = BUILD / "automation.js"
# Both records live in node_modules, so they go with it (npm ci starts by removing it); the lock file does not.
INSTALLED = NODE_MODULES / ".openai-billing-installed"  # the hash of the lock npm ci installed
BUILT = NODE_MODULES / ".openai-billing-built"  # the hash of the inputs of the SDK and example build
LOCK_FILE = EXAMPLE / ".build.lock"
SOURCE_SUFFIXES = (".ts", ".json", ".js")
SKIPPED_DIRS = {"node_modules", "bin", "build"}  # outputs, never inputs
NPM_SECONDS = 900
TSC_SECONDS = 600
NPM_ENV = {"npm_config_update_notifier": "false"}


def driver() -> list[str]:
    """Makes sure the example is built from its current inputs, and returns the command that runs its driver."""
    node = tool("node", "examples/typescript (Node.js 20 or later)")
    with locked(LOCK_FILE):
        _build(node)
    return [node, str(DRIVER)]


def _build(node: str) -> None:
    lock_hash = digest([EXAMPLE / "package.json", EXAMPLE / "package-lock.json"])
    inputs_hash = digest(_inputs())
    if _read(BUILT) == inputs_hash and DRIVER.is_file() and (BUILD / "index.js").is_file():
        return
    installed = False
    if _read(INSTALLED) != lock_hash:
        # Its postinstall script builds the SDK into node_modules (build-sdk.js).
        npm = tool("npm", "examples/typescript")
        run("npm ci", [npm, "ci", "--no-audit", "--no-fund"], EXAMPLE, NPM_SECONDS, NPM_ENV)
        _write(INSTALLED, lock_hash)
        installed = True
    BUILT.unlink(missing_ok=True)
    if not installed:
        run("building the SDK (build-sdk.js)", [node, str(EXAMPLE / "build-sdk.js")], EXAMPLE, TSC_SECONDS)
    tsc = str(NODE_MODULES / "typescript" / "bin" / "tsc")
    run("compiling the example (tsc)", [node, tsc, "-p", str(EXAMPLE / "tsconfig.json")], EXAMPLE, TSC_SECONDS)
    _write(BUILT, inputs_hash)


def _inputs() -> Iterator[Path]:
    """Every file the build reads from this checkout: the example's sources and lock, and all of the SDK."""
    for path in sorted(EXAMPLE.iterdir()):
        if path.is_file() and path.name.endswith(SOURCE_SUFFIXES):
            yield path
    for folder, dirs, files in os.walk(SDK):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS)
        for name in sorted(files):
            yield Path(folder) / name


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        return None


def _write(path: Path, text: str) -> None:
    partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    partial.write_text(text + "\n")
    partial.replace(path)
