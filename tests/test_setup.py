"""The README's commands install what uv.lock says, and refuse a lock that no longer matches pyproject.toml; the
Pulumi CLI and its YAML language host are built once into the cache (a stand-in Go shows what is built when)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TESTING_PY = "provider/pulumi_openai_billing/testing.py"


def _checkout(target: Path) -> Path:
    """The files the set-up reads, as a clone has them."""
    (target / "scripts").mkdir(parents=True)
    for name in ("pyproject.toml", "uv.lock", "scripts/_setup.sh", "scripts/_uv.sh"):
        shutil.copy(ROOT / name, target / name)
    return target


def _bash(script: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", script],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def test_a_dependency_changed_without_refreshing_the_lock_stops_the_set_up_in_one_line(tmp_path: Path) -> None:
    checkout = _checkout(tmp_path)
    pyproject = checkout / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"httpx>=0.27",', '"httpx>=0.27",\n    "rich>=13",', 1))
    refused = _bash("source scripts/_setup.sh", checkout)
    assert refused.returncode == 1
    assert (
        refused.stderr.strip() == "error: uv.lock does not match pyproject.toml: run scripts/lock, then commit uv.lock"
    )
    assert not (checkout / ".venv").exists(), "nothing was installed"


def test_the_lock_in_the_repository_matches_pyproject() -> None:
    """What CI installs is what pyproject.toml asks for: the lock was refreshed with every dependency change."""
    uv = _bash('ROOT="$PWD"; source scripts/_uv.sh; "$UV" lock --check --offline --python python3', ROOT)
    assert uv.returncode == 0, uv.stderr


_FAKE_GO = """#!/bin/sh
# Stands in for Go: records each call; `go build -o FILE` writes FILE, `go get` fails when FAKE_GO_FAIL is set.
echo "$*" >>"$GO_CALLS"
if [ "$1" = get ] && [ -n "${FAKE_GO_FAIL:-}" ]; then echo "go: no such module" >&2; exit 1; fi
if [ "$1" = build ] && [ "$2" = -o ]; then printf '#!/bin/sh\\n' >"$3" && chmod +x "$3"; fi
"""


def _executable(path: Path, text: str = "#!/bin/sh\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)
    return path


def _source_pulumi_sh(tmp_path: Path, *path_dirs: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """scripts/_pulumi.sh sourced as _setup.sh does, with the fake Go first on PATH and the cache in ``tmp_path``."""
    if shutil.which("pulumi", path="/usr/bin:/bin") or not shutil.which("flock", path="/usr/bin:/bin"):
        pytest.skip("needs flock, and no pulumi, in /usr/bin:/bin")
    _executable(tmp_path / "go" / "go", _FAKE_GO)
    dirs = [tmp_path / "go", *path_dirs, Path("/usr/bin"), Path("/bin")]
    return subprocess.run(
        ["bash", "-c", f'set -euo pipefail; ROOT="{ROOT}"; source "$ROOT/scripts/_pulumi.sh"; echo "$PATH"'],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        env={
            "PATH": ":".join(map(str, dirs)),
            "HOME": str(tmp_path),
            "OPENAI_BILLING_CACHE": str(tmp_path / "cache"),
            "GO_CALLS": str(tmp_path / "go-calls"),
            **env,
        },
    )


def _cli_root(tmp_path: Path) -> Path:
    version = re.search(r'^PULUMI_CLI_VERSION = "(v[0-9.]*)"$', (ROOT / TESTING_PY).read_text(), re.M)
    assert version
    return tmp_path / "cache" / f"pulumi-{version[1]}"


def _go_calls(tmp_path: Path) -> list[str]:
    calls = tmp_path / "go-calls"
    return calls.read_text().splitlines() if calls.exists() else []


def test_a_machine_with_the_cli_built_builds_only_the_yaml_host_and_then_reuses_it(tmp_path: Path) -> None:
    root = _cli_root(tmp_path)
    _executable(root / "bin" / "pulumi")
    built = _source_pulumi_sh(tmp_path)
    assert built.returncode == 0, built.stderr
    assert built.stdout.strip().split(":")[0] == str(root / "bin"), "the cache's bin comes first on PATH"
    assert "building the Pulumi YAML language host v" in built.stderr
    assert "building the Pulumi CLI" not in built.stderr
    calls = _go_calls(tmp_path)
    assert calls[0] == "mod init pulumi-language-yaml-build"
    assert calls[1].startswith("get github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml@v")
    assert "-X github.com/pulumi/pulumi-yaml/pkg/version.Version=v" in calls[2]
    assert (root / "bin" / "pulumi-language-yaml").is_file()
    assert not (root / "bin" / "pulumi-language-yaml.tmp").exists()
    assert not (root / "build-yaml").exists(), "the temporary module is removed"

    again = _source_pulumi_sh(tmp_path)
    assert again.returncode == 0, again.stderr
    assert again.stderr == ""
    assert _go_calls(tmp_path) == calls, "nothing is built twice"


def test_your_own_cli_without_a_yaml_host_gets_the_cache_s_after_your_path(tmp_path: Path) -> None:
    yours = _executable(tmp_path / "yours" / "pulumi").parent
    built = _source_pulumi_sh(tmp_path, yours)
    assert built.returncode == 0, built.stderr
    path = built.stdout.strip().split(":")
    root = _cli_root(tmp_path)
    assert path.index(str(yours)) < path.index(str(root / "bin")), "your pulumi still comes first"
    assert (root / "bin" / "pulumi-language-yaml").is_file()
    assert not (root / "bin" / "pulumi").exists(), "your own CLI is not rebuilt"

    _executable(yours / "pulumi-language-yaml")
    shutil.rmtree(root)
    with_host = _source_pulumi_sh(tmp_path, yours)
    assert with_host.returncode == 0, with_host.stderr
    assert str(root) not in with_host.stdout, "yours ships one: PATH is left as it is"
    assert not root.exists()


def test_a_failed_yaml_host_build_shows_the_log_tail_and_installs_nothing(tmp_path: Path) -> None:
    root = _cli_root(tmp_path)
    _executable(root / "bin" / "pulumi")
    failed = _source_pulumi_sh(tmp_path, FAKE_GO_FAIL="1")
    assert failed.returncode == 1
    assert "go: no such module" in failed.stderr
    assert failed.stderr.strip().endswith(
        f"error: building the Pulumi YAML language host failed; the whole log is {root}/build-yaml.log"
    )
    assert not (root / "bin" / "pulumi-language-yaml").exists()
