"""The pace per endpoint: unpaced until the API throttles, then learned from its 429s (or fixed by
requestsPerMinute), shared through a locked file by every client of one API and organization."""

from __future__ import annotations

import heapq
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pulumi_openai_billing._api.endpoints import endpoint
from pulumi_openai_billing._api.pace import FASTER, MARGIN, PROBE_SECONDS, SLOWER, Pacer

KEY = "POST /organization/projects/{id}/spend_alerts"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Clock:
    monkeypatch.setenv("OPENAI_BILLING_PACE_DIR", str(tmp_path))
    return Clock()


def estimate(pacer: Pacer, key: str = KEY) -> dict[str, Any]:
    """The endpoint's estimate as the shared file holds it (with this process's successes recorded)."""
    with pacer._state() as state:
        return dict(state.get(key, {}))


def test_endpoints_are_method_and_path_with_ids_replaced() -> None:
    assert endpoint("post", "organization/projects/proj_Ab3xYz9Q/spend_alerts") == KEY
    assert endpoint("POST", "/v1/organization/projects/proj_Zz9aaaa1/spend_alerts/") == KEY
    assert endpoint("GET", "/v1/organization/spend_alerts/alert_abc123?limit=5") == (
        "GET /organization/spend_alerts/{id}"
    )
    assert endpoint("GET", "organization/billing/default_payment_method") == (
        "GET /organization/billing/default_payment_method"
    )
    rate_limit = "POST /organization/projects/{id}/rate_limits/{id}"
    for model in ("gpt-4o", "o3", "text-embedding-3-small", "gpt-4.1", "ft:gpt-4o-mini:acme::Ab12"):
        assert endpoint("POST", f"/v1/organization/projects/proj_Ab3xYz9Q/rate_limits/rl-{model}") == rate_limit
    assert endpoint("GET", "organization/projects/proj_Ab3xYz9Q/rate_limits?limit=5") == (
        "GET /organization/projects/{id}/rate_limits"
    )


def test_unpaced_until_throttled_then_the_burst_and_pace_are_learned(clock: Clock) -> None:
    pacer = Pacer("http://api", None, clock=clock)
    for _ in range(7):
        assert pacer.reserve(KEY) == 0
        pacer.succeeded(KEY, clock.now)
        clock.now += 0.1
    assert pacer.reserve(KEY) == 0
    pacer.throttled(KEY, reserved_at=clock.now)
    learned = estimate(pacer)
    assert (learned["interval"], learned["capacity"]) == (PROBE_SECONDS, 7), "the burst it allowed"
    assert pacer.reserve(KEY) == pytest.approx(PROBE_SECONDS), "the bucket is empty: one interval"

    # Busy for 3 s with 6 successes between two 429s: 6 tokens came in 3 s.
    for _ in range(6):
        clock.now += 0.5
        pacer.reserve(KEY)
        pacer.succeeded(KEY, clock.now)
    pacer.throttled(KEY, reserved_at=clock.now)
    assert estimate(pacer)["interval"] == pytest.approx(MARGIN * 0.5)
    clock.now += 0.1
    pacer.throttled(KEY, reserved_at=clock.now)
    assert estimate(pacer)["interval"] == pytest.approx(MARGIN * 0.5 * SLOWER), "no success between: slower"
    for _ in range(3):
        pacer.succeeded(KEY, clock.now)
    assert estimate(pacer)["interval"] == pytest.approx(MARGIN * 0.5 * SLOWER * FASTER), "and faster again"
    assert pacer.reserve("GET /organization/projects") == 0, "other endpoints are not held back"


def test_a_span_with_idle_time_in_it_measures_nothing(clock: Clock) -> None:
    pacer = Pacer("http://api", None, clock=clock)
    pacer.throttled(KEY, reserved_at=clock.now)
    pacer.reserve(KEY)
    clock.now += 100
    pacer.reserve(KEY)
    pacer.succeeded(KEY, clock.now)
    pacer.throttled(KEY, reserved_at=clock.now)
    assert estimate(pacer)["interval"] == PROBE_SECONDS, "one success in 100 s: the endpoint was mostly idle"


def test_after_a_quiet_while_the_learned_burst_is_available_again(clock: Clock) -> None:
    pacer = Pacer("http://api", None, clock=clock)
    for _ in range(3):
        pacer.reserve(KEY)
        pacer.succeeded(KEY, clock.now)
    pacer.throttled(KEY, reserved_at=clock.now)
    clock.now += 60
    assert [pacer.reserve(KEY) for _ in range(3)] == [0, 0, 0]
    assert pacer.reserve(KEY) > 0


def test_requests_per_minute_paces_from_the_first_request(clock: Clock) -> None:
    pacer = Pacer("http://api", None, requests_per_minute=6, clock=clock)
    waits = [pacer.reserve(KEY) for _ in range(3)]
    assert waits == [0, 10, 20]
    for _ in range(30):
        pacer.succeeded(KEY)
    assert estimate(pacer)["interval"] == 10, "never faster than asked"


def test_retry_after_holds_the_endpoint_that_long(clock: Clock) -> None:
    pacer = Pacer("http://api", None, clock=clock)
    pacer.throttled(KEY, retry_after=3)
    assert pacer.reserve(KEY) == 3
    assert "interval" not in estimate(pacer), "the server said how long: nothing to learn"


def test_two_processes_share_one_pace_through_the_file(clock: Clock) -> None:
    preview, update = Pacer("http://api", "org-1", clock=clock), Pacer("http://api", "org-1", clock=clock)
    other_org = Pacer("http://api", "org-2", clock=clock)
    preview.reserve(KEY)
    preview.throttled(KEY)
    assert update.reserve(KEY) > 0, "what one process learned holds the other back"
    assert other_org.reserve(KEY) == 0, "another organization has buckets of its own"


def test_threads_get_distinct_turns(clock: Clock) -> None:
    pacer = Pacer("http://api", None, requests_per_minute=60, clock=clock)
    waits: list[float] = []
    lock = threading.Lock()

    def take() -> None:
        wait = pacer.reserve(KEY)
        with lock:
            waits.append(wait)

    threads = [threading.Thread(target=take) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(waits) == [float(n) for n in range(8)]


def test_without_a_writable_folder_each_process_paces_alone(monkeypatch: pytest.MonkeyPatch, clock: Clock) -> None:
    monkeypatch.setenv("OPENAI_BILLING_PACE_DIR", "/proc/no-such-place")
    pacer = Pacer("http://api", None, requests_per_minute=60, clock=clock)
    assert [pacer.reserve(KEY) for _ in range(2)] == [0, 1]


def test_a_429_for_a_request_already_in_flight_is_not_new_evidence(clock: Clock) -> None:
    pacer = Pacer("http://api", None, clock=clock)
    pacer.reserve(KEY)
    pacer.throttled(KEY, reserved_at=clock.now)
    sent = clock.now + 0.5
    clock.now += 1
    pacer.throttled(KEY, reserved_at=sent)
    slower = estimate(pacer)["interval"]
    for _ in range(3):
        pacer.throttled(KEY, reserved_at=sent)
    assert estimate(pacer)["interval"] == slower, "four threads refused at once slow the pace once"


BURST, REFILL = 7, 60 / 7
"""OpenAI's bucket per endpoint: 7 at once, one more every 60/7 s."""

Job = tuple[str, int]


def _replay(
    clock: Clock, jobs: list[Job], then: Callable[[Job], list[Job]] = lambda job: []
) -> tuple[dict[Job, float], float]:
    """Send ``jobs`` at once through one pacer against OpenAI's buckets (one per endpoint, a job's first item), on
    the virtual clock, ties taken in job order: each requeues at once after a 429, as the client does, and an
    answered job queues ``then(job)``. When each job was answered (from the start), and the longest single wait."""
    pacer, start = Pacer("http://api", None, clock=clock), clock.now
    buckets: dict[str, tuple[float, float]] = {}
    events = [(clock.now, job, "reserve", 0.0) for job in jobs]
    done: dict[Job, float] = {}
    longest = 0.0
    while events:
        clock.now, job, what, reserved = heapq.heappop(events)
        key = job[0]
        if what == "reserve":
            wait = pacer.reserve(key)
            longest = max(longest, wait)
            heapq.heappush(events, (clock.now + wait, job, "send", clock.now))
            continue
        tokens, stamp = buckets.get(key, (float(BURST), start))
        tokens = min(BURST, tokens + (clock.now - stamp) / REFILL)
        buckets[key] = (tokens - 1 if tokens >= 1 else tokens, clock.now)
        if tokens < 1:
            pacer.throttled(key, reserved_at=reserved)
            heapq.heappush(events, (clock.now, job, "reserve", 0.0))
            continue
        pacer.succeeded(key, clock.now)
        done[job] = clock.now - start
        for queued in then(job):
            heapq.heappush(events, (clock.now, queued, "reserve", 0.0))
    return done, longest


@pytest.mark.parametrize("requests", [25, 60])
def test_many_requests_at_once_learn_the_pace_without_slowing_it_without_end(clock: Clock, requests: int) -> None:
    """Many requests to one endpoint at once, as a plugin with many workers sends them (a refresh reads 25
    projects' settings). Counting each requeued 429 as new evidence once slowed the pace 1.5x per request, to
    waits of 5,600 s; measuring only between counted 429s overestimated the refill."""
    done, longest = _replay(clock, [(KEY, n) for n in range(requests)])
    floor = (requests - BURST) * REFILL
    assert len(done) == requests
    assert max(done.values()) < 1.25 * floor, "every request answered within 1.25x the bucket's floor"
    assert longest < floor, "no single wait longer than the whole floor"


def test_alerts_queued_as_their_projects_are_made_go_at_the_buckets_pace(clock: Clock) -> None:
    """The every-control benchmark's up: 25 project creates at once, each project's 3 alert creates queued as it
    is made. The alerts must finish within 1.25x their endpoint's floor: slowing the pace by half per unanswered
    429 overshot it, and 5% faster per 3 successes took minutes to come back."""

    def alerts_of(job: Job) -> list[Job]:
        return [("alerts", job[1] * 3 + n) for n in range(3)] if job[0] == "projects" else []

    done, _ = _replay(clock, [("projects", n) for n in range(25)], alerts_of)
    alerts = [at for (key, _), at in done.items() if key == "alerts"]
    assert len(alerts) == 75
    assert max(alerts) < 1.25 * (75 - BURST) * REFILL
