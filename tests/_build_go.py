"""Builds the Go example's Automation API driver (``examples/go``) for ``tests/test_sdk_examples.py``.

The binary goes into the cache the set-up builds the Pulumi CLI in (outside the checkout), named by a hash of
the example's Go sources and of every file of the generated Go SDK (``sdk/go``, which the example takes through
a ``replace``): a warm run finds it and builds nothing. pytest-xdist workers that ask at once build it once (a
file lock; the build goes to a temporary name, renamed when complete).
"""

from __future__ import annotations

import os
from pathlib import Path

from _build import ROOT, BuildError, digest, locked, run, tool
from pulumi_openai_billing.testing import cache_root

EXAMPLE = ROOT / "examples" / "go"
SDK = ROOT / "sdk" / "go"
NAME = "openai-billing-example-go"
BUILD_SECONDS = 1800
"""A cold build (empty Go build cache) compiles the Pulumi SDK and its dependencies: a few minutes on 2 cores."""


def _inputs() -> list[Path]:
    """What the build reads from the checkout: the example's Go sources and module files, and the whole SDK."""
    example = [
        path
        for path in EXAMPLE.iterdir()
        if path.is_file() and (path.suffix == ".go" or path.name in ("go.mod", "go.sum"))
    ]
    sdk = [path for path in SDK.rglob("*") if path.is_file()]
    return sorted(example) + sorted(sdk)


def _build(target: Path) -> None:
    temporary = target.with_name(f"{target.name}.tmp-{os.getpid()}")
    command = [tool("go", "examples/go (Go 1.26+)"), "build", "-mod=readonly", "-o", str(temporary), "."]
    flags = f"{os.environ.get('GOFLAGS', '')} -buildvcs=false".strip()
    try:
        run("go build", command, EXAMPLE, BUILD_SECONDS, {"GOFLAGS": flags})
        if not temporary.is_file():
            raise BuildError(f"examples/go: go build wrote no {temporary}")
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def driver() -> list[str]:
    """The command that runs the Go example's driver (``<command> preview|up|refresh|destroy``), built first when
    this checkout's example or SDK has no binary yet."""
    folder = cache_root() / "examples"
    target = folder / f"{NAME}-{digest(_inputs())[:16]}"
    if not os.access(target, os.X_OK):
        with locked(folder / f"{NAME}.lock"):
            if not os.access(target, os.X_OK):  # another worker may have built it while this one waited
                _build(target)
    return [str(target)]
