"""The README's commands install what uv.lock says, and refuse a lock that no longer matches pyproject.toml."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


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
