"""How long each provider process takes to serve, from start to the port it prints: the provider plugin other
languages use (``pulumi-resource-openai-billing``) and Python's dynamic-provider host (``python -m
pulumi.dynamic``, which loads this package only when the first resource arrives). The engine starts one per
step; the ratio is what the plugin's imports add.

    .venv/bin/python benchmarks/plugin_start.py [--runs 7]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

PLUGIN = str(Path(sys.executable).with_name("pulumi-resource-openai-billing"))
COMMANDS = {
    "pulumi-resource-openai-billing": [PLUGIN, "127.0.0.1:1"],
    "python -m pulumi.dynamic": [sys.executable, "-m", "pulumi.dynamic"],
}


def serve_seconds(command: list[str]) -> float:
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    assert process.stdout is not None
    port = process.stdout.readline().strip()
    elapsed = time.perf_counter() - started
    process.terminate()
    process.wait()
    if not port.isdigit():
        raise SystemExit(f"{command[0]} printed no port")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    medians = {}
    for name, command in COMMANDS.items():
        times = [serve_seconds(command) for _ in range(runs)]  # interleaving would not change the medians much
        medians[name] = statistics.median(times)
        print(f"{name:32} median {medians[name]:.2f} s  (min {min(times):.2f}, max {max(times):.2f}, {runs} runs)")
    plugin, dynamic = medians.values()
    print(f"the plugin takes {plugin / dynamic:.1f}x the dynamic host's time to serve")


if __name__ == "__main__":
    main()
