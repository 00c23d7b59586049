"""The scale benchmark's smoke run (it must complete and print its table; its figures are not judged here),
and the layout arithmetic its ratios rest on."""

from __future__ import annotations

import sys

import pytest

from conftest import BENCHMARKS, run_benchmark

sys.path.insert(0, str(BENCHMARKS))
import scale


def test_the_smoke_run_completes_and_prints_the_table() -> None:
    done = run_benchmark("scale.py", "--sizes", "50", "--latency-ms", "0")
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert lines[0] == "| " + " | ".join(scale.HEADER) + " |"
    rows = [line.split(" | ") for line in lines[2:] if line.startswith("| ")]
    assert [(r[0].lstrip("| "), r[1], r[3]) for r in rows] == [
        (shape, "50", phase) for shape in scale.SHAPES for phase in ("create", "refresh", "preview")
    ]
    assert sum(line.startswith("refresh ") for line in lines) == 2


@pytest.mark.parametrize(
    ("shape", "size", "alerts", "minimal"),
    [
        ("many-projects", 2000, [3] * 500, 1000),
        ("many-projects", 50, [3] * 12 + [1], 26),
        ("few-scopes", 2000, [99] * 20, 40),
        ("few-scopes", 50, [2] * 10 + [1] * 10, 40),
    ],
)
def test_layouts_hold_n_resources_and_the_minimal_read_set_follows_the_issue(
    shape: str, size: int, alerts: list[int], minimal: int
) -> None:
    assert scale.layout(shape, size) == alerts
    assert len(alerts) + sum(alerts) == size
    assert scale.minimal_reads(alerts) == minimal


def test_sizes_a_shape_cannot_hold_are_refused_before_anything_runs() -> None:
    done = run_benchmark("scale.py", "--sizes", "2001", "--shapes", "few-scopes", timeout=60)
    assert done.returncode == 2
    assert "few-scopes holds 20 to 2000 resources" in done.stderr
    assert done.stdout == ""
