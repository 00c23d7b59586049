"""What building an example in another language takes, once for each (tests/_build_go.py,
tests/_build_typescript.py): a hash of its inputs, one build at a time across pytest-xdist workers, and a step
whose failure reads as the tail of its own output. Nothing is printed to standard output."""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TAIL_LINES = 60


class BuildError(RuntimeError):
    """An example could not be built; the message ends with the tail of the failed step's output."""


def digest(paths: Iterable[Path]) -> str:
    """One hash of the files (their place in the checkout and their bytes)."""
    sha = hashlib.sha256()
    for path in paths:
        data = path.read_bytes()
        sha.update(f"{path.relative_to(ROOT).as_posix()}\0{len(data)}\0".encode())
        sha.update(data)
    return sha.hexdigest()


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Held by one process at a time: the others wait, then find what it built."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def tool(name: str, needed_for: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BuildError(f"{needed_for} needs {name} on PATH")
    return found


def run(step: str, command: list[str], cwd: Path, timeout: float, env: Mapping[str, str] | None = None) -> None:
    """One build step; its output is kept for the error, never printed."""
    where = cwd.relative_to(ROOT)
    try:
        done = subprocess.run(
            command,
            cwd=cwd,
            env={**os.environ, **(env or {})},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as exc:
        raise BuildError(f"{where}: {step} took over {timeout:.0f} s:\n{_tail(exc.output)}") from None
    if done.returncode != 0:
        raise BuildError(
            f"{where}: {step} failed (exit {done.returncode}):\n$ {' '.join(command)}\n{_tail(done.stdout)}"
        )


def _tail(output: str | bytes | None) -> str:
    if isinstance(output, bytes):
        output = output.decode(errors="replace")
    return "\n".join((output or "").strip().splitlines()[-TAIL_LINES:])
