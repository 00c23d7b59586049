"""Builds ``examples/typescript`` for ``test_sdk_examples.py``: ``driver()`` returns the command that runs its
Automation API driver (``node examples/typescript/build/automation.js``).

The example's dependencies come from its committed ``package-lock.json`` (``npm ci``, only when ``node_modules`` is
missing or was installed from another lock); the SDK generated in ``sdk/nodejs`` is compiled into its
``node_modules/@pulumi-openai-billing/sdk`` and the program and driver into ``build/``, both with the locked
``typescript``. The build is recorded under a hash of its inputs (the lock, the example's sources, every file of the
SDK), so a warm call only hashes them. Several pytest-xdist workers may call it at once: one builds, under a file
lock, and the others wait for it and reuse its build. Nothing goes to standard output; a failed step raises with the
tail of its output.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
from collections.abc import Iterable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
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
TAIL_LINES = 60


class TypeScriptBuildError(RuntimeError):
    """The example could not be built; the message ends with the tail of npm's or tsc's output."""


def driver() -> list[str]:
    """Makes sure the example is built from its current inputs, and returns the command that runs its driver."""
    node = _tool("node")
    with LOCK_FILE.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            _build(node)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return [node, str(DRIVER)]


def _build(node: str) -> None:
    lock_hash = _digest([EXAMPLE / "package.json", EXAMPLE / "package-lock.json"])
    inputs_hash = _digest(_inputs())
    if _read(BUILT) == inputs_hash and DRIVER.is_file() and (BUILD / "index.js").is_file():
        return
    installed = False
    if _read(INSTALLED) != lock_hash:
        # Its postinstall script builds the SDK into node_modules (build-sdk.js).
        _run("npm ci", [_tool("npm"), "ci", "--no-audit", "--no-fund"], NPM_SECONDS)
        _write(INSTALLED, lock_hash)
        installed = True
    BUILT.unlink(missing_ok=True)
    if not installed:
        _run("building the SDK (build-sdk.js)", [node, str(EXAMPLE / "build-sdk.js")], TSC_SECONDS)
    tsc = str(NODE_MODULES / "typescript" / "bin" / "tsc")
    _run("compiling the example (tsc)", [node, tsc, "-p", str(EXAMPLE / "tsconfig.json")], TSC_SECONDS)
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


def _digest(paths: Iterable[Path]) -> str:
    sha = hashlib.sha256()
    for path in paths:
        data = path.read_bytes()
        sha.update(f"{path.relative_to(ROOT).as_posix()}\0{len(data)}\0".encode())
        sha.update(data)
    return sha.hexdigest()


def _run(step: str, command: list[str], timeout: float) -> None:
    env = {**os.environ, "npm_config_update_notifier": "false"}
    try:
        done = subprocess.run(
            command,
            cwd=EXAMPLE,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as exc:
        raise TypeScriptBuildError(
            f"examples/typescript: {step} took over {timeout:.0f}s:\n{_tail(exc.output)}"
        ) from exc
    if done.returncode != 0:
        raise TypeScriptBuildError(
            f"examples/typescript: {step} failed (exit {done.returncode}), in {EXAMPLE}:\n"
            f"$ {' '.join(command)}\n{_tail(done.stdout)}"
        )


def _tail(output: str | bytes | None) -> str:
    if isinstance(output, bytes):
        output = output.decode(errors="replace")
    return "\n".join((output or "").splitlines()[-TAIL_LINES:])


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise TypeScriptBuildError(f"examples/typescript needs {name} (Node.js 20 or later) on PATH")
    return found


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        return None


def _write(path: Path, text: str) -> None:
    partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    partial.write_text(text + "\n")
    partial.replace(path)
