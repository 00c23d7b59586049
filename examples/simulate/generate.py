"""Writes costs-2026-10.json: a made-up October 2026 for three projects, in the costs endpoint's own pages.

Not real data. Deterministic (a fixed seed), so the committed file is exactly what this prints:

    python examples/simulate/generate.py
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

MONTH_START = datetime(2026, 10, 1, tzinfo=timezone.utc)
DAYS = 31
BUCKETS_PER_PAGE = 7
"""The endpoint's default page size, so the file exercises paging."""
PROJECTS = {
    # project id: (weekday dollars, weekend dollars)
    "proj_teamA0production": (17.0, 9.0),
    "proj_teamB0internal": (6.5, 1.5),
    "proj_research0lab": (4.0, 0.5),
}
LAUNCH_DAYS = range(14, 18)
"""team-a's launch week doubles its traffic; research runs a large evaluation on the 21st and 22nd."""


def _day_cost(rng: random.Random, project: str, day: datetime) -> float:
    weekday, weekend = PROJECTS[project]
    base = weekend if day.weekday() >= 5 else weekday
    if project == "proj_teamA0production" and day.day in LAUNCH_DAYS:
        base *= 2.2
    if project == "proj_research0lab" and day.day in (21, 22):
        base += 95.0
    return round(base * rng.uniform(0.8, 1.2), 6)


def pages() -> list[dict]:
    rng = random.Random(202610)
    buckets = []
    for offset in range(DAYS):
        start = MONTH_START + timedelta(days=offset)
        results = [
            {
                "object": "organization.costs.result",
                "amount": {"value": _day_cost(rng, project, start), "currency": "usd"},
                "line_item": None,
                "project_id": project,
            }
            for project in PROJECTS
        ]
        results.append(
            {
                "object": "organization.costs.result",
                "amount": {"value": round(rng.uniform(0.1, 0.6), 6), "currency": "usd"},
                "line_item": None,
                "project_id": None,
            }
        )
        buckets.append(
            {
                "object": "bucket",
                "start_time": int(start.timestamp()),
                "end_time": int((start + timedelta(days=1)).timestamp()),
                "results": results,
            }
        )
    chunks = [buckets[i : i + BUCKETS_PER_PAGE] for i in range(0, DAYS, BUCKETS_PER_PAGE)]
    return [
        {
            "object": "page",
            "data": chunk,
            "has_more": number < len(chunks),
            "next_page": f"page_{number + 1}" if number < len(chunks) else None,
        }
        for number, chunk in enumerate(chunks, 1)
    ]


if __name__ == "__main__":
    target = Path(__file__).with_name("costs-2026-10.json")
    target.write_text(json.dumps(pages(), indent=1) + "\n")
    print(f"wrote {target}")
