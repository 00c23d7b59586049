"""Builds the Go example's Automation API driver (``examples/go``) for ``tests/test_sdk_examples.py``.

The binary goes into the cache the set-up builds the Pulumi CLI in (outside the checkout), named by a hash of
the example's Go sources and of every file of the generated Go SDK (``sdk/go``, which the example takes through
a ``replace``): a warm run finds it and builds nothing. pytest-xdist workers that ask at once build it once (a
file lock; the build goes to a temporary name, renamed when complete). Nothing is printed to standard output.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

from pulumi_openai_billing.testing import cache_root

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "go"
SDK = ROOT / "sdk" / "go"
NAME = "openai-billing-example-go"
BUILD_SECONDS = 1800
"""A cold build (empty Go build cache) compiles the Pulumi SDK and its dependencies: a few minutes on 2 cores."""
TAIL_LINES = 40


class GoBuildError(RuntimeError):
    """The example could not be built; the message ends with the tail of Go's output."""


def _inputs() -> list[Path]:
    """What the build reads from the checkout: the example's Go sources and module files, and the whole SDK."""
    example = [
        path
        for path in EXAMPLE.iterdir()
        if path.is_file() and (path.suffix == ".go" or path.name in ("go.mod", "go.sum"))
    ]
    sdk = [path for path in SDK.rglob("*") if path.is_file()]
    return sorted(example) + sorted(sdk)


def _digest() -> str:
    digest = hashlib.sha256()
    for path in _inputs():
        data = path.read_bytes()
        digest.update(f"{path.relative_to(ROOT).as_posix()}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()[:16]


def _tail(output: str) -> str:
    return "\n".join(output.strip().splitlines()[-TAIL_LINES:])


def _build(target: Path) -> None:
    go = shutil.which("go")
    if go is None:
        raise GoBuildError(f"no `go` on PATH to build {EXAMPLE} (Go 1.26+: https://go.dev/dl/)")
    temporary = target.with_name(f"{target.name}.tmp-{os.getpid()}")
    env = {**os.environ, "GOFLAGS": f"{os.environ.get('GOFLAGS', '')} -buildvcs=false".strip()}
    command = [go, "build", "-mod=readonly", "-o", str(temporary), "."]
    try:
        done = subprocess.run(
            command,
            cwd=EXAMPLE,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=BUILD_SECONDS,
        )
    except subprocess.TimeoutExpired as exc:
        temporary.unlink(missing_ok=True)
        output = exc.output.decode(errors="replace") if isinstance(exc.output, bytes) else exc.output or ""
        raise GoBuildError(
            f"`{' '.join(command)}` in {EXAMPLE} took over {BUILD_SECONDS} s:\n{_tail(output)}"
        ) from None
    if done.returncode != 0 or not temporary.is_file():
        temporary.unlink(missing_ok=True)
        raise GoBuildError(f"`{' '.join(command)}` in {EXAMPLE} failed (exit {done.returncode}):\n{_tail(done.stdout)}")
    os.replace(temporary, target)


def driver() -> list[str]:
    """The command that runs the Go example's driver (``<command> preview|up|refresh|destroy``), built first when
    this checkout's example or SDK has no binary yet."""
    folder = cache_root() / "examples"
    target = folder / f"{NAME}-{_digest()}"
    if not os.access(target, os.X_OK):
        folder.mkdir(parents=True, exist_ok=True)
        with (folder / f"{NAME}.lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                if not os.access(target, os.X_OK):  # another worker may have built it while this one waited
                    _build(target)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
    return [str(target)]
