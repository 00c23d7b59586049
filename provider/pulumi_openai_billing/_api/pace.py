"""Pacing requests per endpoint under OpenAI's Admin API throttle, shared by threads and by processes.

The Admin API allows a burst of about 7 requests per endpoint, then answers ``429`` without ``Retry-After``
while its bucket refills over about a minute. The client keeps an estimate of each endpoint's bucket and
reserves the next token of it before each request:

* until an endpoint's first 429 it is not paced; its capacity is then the number of requests it allowed in
  the minute before (a 429 that comes while the estimate still held tokens lowers it by that many);
* after a 429 its refill interval is learned: a 429 means the bucket is empty, so the time between two 429s
  over the successes between them is the refill interval (kept 5% slower) when the endpoint was busy all
  along (no idle second between its turns); a 429 with no success since the last one makes it 25% slower, at
  most to the burst refilling over a minute, and once per estimate (not again for turns given out before);
  every third success 5% faster, so a faster API is found again. The first 429 starts it at a quarter of a
  second. Or ``openai-billing:requestsPerMinute`` fixes it;
* a 429 with ``Retry-After`` (or ``retry-after-ms``) holds the endpoint that long.

The estimate lives in a small JSON file per API and organization under the user's cache folder (or
``OPENAI_BILLING_PACE_DIR``), locked with ``flock``: the plugin's worker threads, the program's read
functions, the processes of preview and update, and several pipelines on one machine pace together. Where
no file can be written, each process paces alone.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

__all__ = ["Pacer", "pace_dir"]

PROBE_SECONDS = 0.25
WINDOW_SECONDS = 60.0
"""OpenAI's buckets refill over about a minute: a 429 that measures nothing slows the pace at most to the burst
refilling over this window (one turn per 8.6 s for a burst of 7); only a measurement goes slower."""
SLOWER, FASTER, FASTER_EVERY = 1.25, 0.95, 3
MARGIN = 1.05
"""A measured interval is kept 5% slower than measured, so the pace does not sit exactly on the limit."""
IDLE_SECONDS = 1.0
"""A span between two 429s measures the refill only when the endpoint was busy all along: no two of its turns
further apart than this or two intervals (the span had idle time in it otherwise)."""
_MIN_INTERVAL = 0.01
_RECENT = 100
"""Successes remembered per endpoint before its first 429 (to learn its burst)."""


def pace_dir() -> Path:
    override = os.environ.get("OPENAI_BILLING_PACE_DIR")
    if override:
        return Path(override)
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return Path(cache) / "pulumi-openai-billing" / "pace"


class Pacer:
    """One API and organization's pace per endpoint. ``reserve`` returns the seconds to wait before sending;
    ``throttled`` and ``succeeded`` report how it went."""

    def __init__(
        self,
        base_url: str,
        organization: str | None,
        requests_per_minute: float | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        digest = hashlib.sha256(f"{base_url}\n{organization or ''}".encode()).hexdigest()[:20]
        self.path = pace_dir() / f"{digest}.json"
        self.fixed = 60.0 / requests_per_minute if requests_per_minute else None
        self.clock = clock
        self._memory: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._shared = True
        self._pending = threading.Lock()
        self._succeeded: list[tuple[str, float | None, float]] = []
        """Successes not yet written: each is recorded with this process's next turn, so a request costs one
        file lock (its turn), not two."""

    # -- the shared state --------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _state(self) -> Iterator[dict[str, dict[str, Any]]]:
        """Every endpoint's entry, read and written back under an exclusive lock."""
        with self._lock:
            if self._shared:
                try:
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                    handle = open(self.path, "a+")  # noqa: SIM115 (closed below, after the lock is released)
                except OSError:
                    self._shared = False
            if not self._shared:
                self._record_successes(self._memory)
                yield self._memory
                return
            with handle:
                fcntl.flock(handle, fcntl.LOCK_EX)
                handle.seek(0)
                try:
                    state = json.loads(handle.read() or "{}")
                except ValueError:
                    state = {}
                self._record_successes(state)
                yield state
                handle.seek(0)
                handle.truncate()
                handle.write(json.dumps(state, separators=(",", ":")))
                handle.flush()

    def _entry(self, state: dict[str, dict[str, Any]], endpoint: str, now: float) -> dict[str, Any]:
        entry = state.setdefault(endpoint, {})
        if self.fixed and not entry.get("interval"):
            entry.update(interval=self.fixed, capacity=1, tokens=1.0, stamp=now)
        return entry

    # -- the three events --------------------------------------------------------------------------------
    def reserve(self, endpoint: str) -> float:
        """Take the next token of the endpoint's estimated bucket: the seconds to wait before sending."""
        with self._state() as state:
            now = self.clock()
            entry = self._entry(state, endpoint, now)
            hold = max(0.0, float(entry.get("hold_until", 0.0)) - now)
            interval = entry.get("interval")
            if not interval:
                return hold
            if now - float(entry.get("last", now)) > max(IDLE_SECONDS, 2 * interval):
                entry["idle"] = True
            entry["last"] = now
            capacity = float(entry.get("capacity", 1))
            tokens = min(capacity, float(entry["tokens"]) + (now - float(entry["stamp"])) / interval)
            if tokens >= 1:
                entry.update(tokens=tokens - 1, stamp=now)
                return hold
            wait = (1 - tokens) * interval
            entry.update(tokens=0.0, stamp=now + wait)
            return float(max(hold, wait))

    def throttled(self, endpoint: str, retry_after: float | None = None, reserved_at: float | None = None) -> None:
        """A 429 for a request whose turn was taken at ``reserved_at``: the endpoint's bucket is empty now (or the
        server said how long to hold). Two such moments with k successes between them measure the refill rate: k
        tokens came in that time. With no success between them the pace is slowed, blind, once per estimate: a
        request whose turn was given out before the last slowdown was paced by the estimate it already corrected
        (slowing again for each request queued under the old one, many requests at once would slow it without
        end)."""
        with self._state() as state:
            now = self.clock()
            entry = self._entry(state, endpoint, now)
            if retry_after is not None:
                entry["hold_until"] = now + retry_after  # the server said how long: nothing to learn
                return
            interval = entry.get("interval")
            if not interval:
                interval = PROBE_SECONDS
                entry["capacity"] = max(1, len([t for t in entry.get("recent", []) if now - t <= 60]))
                entry.pop("recent", None)
                entry["slowed"] = now
            else:
                since, counted = int(entry.get("since", 0)), float(entry.get("counted", now))
                capacity = float(entry.get("capacity", 1))
                if since:
                    if not entry.get("idle") and not self.fixed:
                        interval = MARGIN * (now - counted) / since
                    # else the endpoint was idle for part of that time: the span measures nothing
                elif reserved_at is None or reserved_at >= float(entry.get("slowed", 0.0)):
                    # No success since the bucket was last seen empty: slower, but blind, so never past the
                    # burst refilling over a whole window (only a measurement says more).
                    interval = min(interval * SLOWER, max(interval, WINDOW_SECONDS / capacity))
                    entry["slowed"] = now
                # else its turn came from an estimate already slowed since: the bucket is still empty, no news
                held = min(capacity, float(entry["tokens"]) + (now - float(entry["stamp"])) / float(entry["interval"]))
                if held >= 1:
                    entry["capacity"] = max(1, int(capacity - held))
            stamp = max(float(entry.get("stamp", now)), now)  # turns already given out are kept
            entry.update(interval=max(self.fixed or _MIN_INTERVAL, interval), tokens=0.0, stamp=stamp)
            entry.update(since=0, counted=now, idle=False)

    def succeeded(self, endpoint: str, sent_at: float | None = None) -> None:
        """A request sent at ``sent_at`` was answered; counted with this process's next turn or 429."""
        with self._pending:
            self._succeeded.append((endpoint, sent_at, self.clock()))

    def _record_successes(self, state: dict[str, dict[str, Any]]) -> None:
        with self._pending:
            done, self._succeeded = self._succeeded, []
        for endpoint, sent_at, at in done:
            entry = self._entry(state, endpoint, at)
            interval = entry.get("interval")
            if not interval:
                entry["recent"] = [*entry.get("recent", [])[-(_RECENT - 1) :], at]
                continue
            if sent_at is not None and sent_at < float(entry.get("counted", 0.0)):
                continue  # it took a token from before the bucket was last seen empty
            entry["since"] = since = int(entry.get("since", 0)) + 1
            if since % FASTER_EVERY == 0:
                entry["interval"] = max(self.fixed or _MIN_INTERVAL, interval * FASTER)
