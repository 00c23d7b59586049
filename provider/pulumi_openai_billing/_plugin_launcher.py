#!/usr/bin/env python3
"""``pulumi-resource-pulumi-python``: starts Pulumi's Python dynamic-provider host, and ends it with its engine.

The engine starts each plugin in a process group of its own and stops it when the step ends. A Pulumi CLI
interrupted while a plugin is still starting exits without stopping it, and the host, which waits for
nothing but Ctrl-C, would then live on forever under init. So the host is watched: once the process that
started it is gone, it is interrupted (it stops serving), and ended outright if it has not exited soon after.

Standalone on purpose (nothing of this package is imported): the engine may run it with any virtualenv's
Python, the one in ``PULUMI_RUNTIME_VIRTUALENV`` first, as Pulumi's own launcher does.
"""

from __future__ import annotations

import io
import os
import runpy
import signal
import sys
import threading
import time

__all__ = ["main"]

POLL_SECONDS = 0.5
GRACE_SECONDS = 10.0
"""How long the host may take to stop once interrupted (an operation still running finishes in that time)."""


def _watch(engine: int) -> None:
    while os.getppid() == engine:
        time.sleep(POLL_SECONDS)
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(GRACE_SECONDS)
    os._exit(1)


def main() -> None:
    venv = os.environ.get("PULUMI_RUNTIME_VIRTUALENV")
    python = os.path.join(venv, "bin", "python") if venv else None
    if python and os.path.realpath(os.path.dirname(sys.executable)) != os.path.realpath(os.path.dirname(python)):
        os.execv(python, [python, os.path.abspath(__file__), *sys.argv[1:]])
    # The host writes its port to the engine unflushed (Pulumi starts it with -u): make standard output unbuffered.
    sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), write_through=True)
    threading.Thread(target=_watch, args=(os.getppid(),), name="engine-watch", daemon=True).start()
    runpy.run_module("pulumi.dynamic", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
