"""OpenAI's Admin API throttle, as a third party measured it (May 2026): a token bucket per endpoint (the
method and the path with its ids replaced), a burst of about 7 requests that refills over about a minute,
then ``429 rate_limit_exceeded`` with **no** ``Retry-After`` and no ``x-ratelimit-*`` headers.

``RateLimit.parse("7/60s")`` (any ``N/Ms``, or ``off``). ``retry_after=True`` sends ``Retry-After`` (whole
seconds, at least 1, as the spec says) in case OpenAI starts to. A refused request takes no token. The
sandbox's own ``/v1/sandbox/`` endpoints are never throttled (the gateway does not ask), nor requests marked
``X-Sandbox-Dashboard: true`` (a person's edit in the dashboard, which the Admin API's throttle does not see).
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .._api.endpoints import endpoint
from .errors import ApiError

DEFAULT_RATE_LIMIT = "7/60s"
MESSAGE = "You're making too many requests, please slow down."
_SPEC = re.compile(r"^ *([0-9]+) */ *([0-9]+(?:\.[0-9]+)?) *s *$")


@dataclass(frozen=True)
class RateLimit:
    burst: int
    window: float
    """Seconds the bucket takes to refill from empty to ``burst``."""

    @classmethod
    def parse(cls, text: str) -> RateLimit | None:
        """``"7/60s"`` -> 7 requests, refilled over 60 s; ``"off"`` -> None. Anything else is refused."""
        if text.strip().lower() == "off":
            return None
        match = _SPEC.match(text)
        if not match or int(match[1]) < 1 or float(match[2]) <= 0:
            raise ValueError(
                f"a rate limit is N/Ms (requests per endpoint, refilled over M seconds), e.g. 7/60s, or off: {text!r}"
            )
        return cls(int(match[1]), float(match[2]))

    def __str__(self) -> str:
        return f"{self.burst}/{self.window:g}s"

    @property
    def rate(self) -> float:
        return self.burst / self.window


@dataclass
class _Bucket:
    tokens: float
    stamp: float
    allowed: int = 0
    throttled: int = 0


@dataclass
class Throttle:
    """Every endpoint's bucket; ``take`` is called by the gateway for each request outside ``/v1/sandbox/``."""

    limit: RateLimit | None
    retry_after: bool = False
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[str, _Bucket] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def configure(self, limit: RateLimit | None, retry_after: bool) -> None:
        """A new limit starts every bucket full again (and the counters at zero)."""
        with self._lock:
            self.limit, self.retry_after = limit, retry_after
            self._buckets.clear()

    def take(self, method: str, path: str) -> ApiError | None:
        """None when the request may go on, else the 429 to answer (the request took no token)."""
        limit = self.limit
        if limit is None:
            return None
        key, now = endpoint(method, path), self.clock()
        with self._lock:
            bucket = self._buckets.setdefault(key, _Bucket(float(limit.burst), now))
            bucket.tokens = min(float(limit.burst), bucket.tokens + (now - bucket.stamp) * limit.rate)
            bucket.stamp = now
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                bucket.allowed += 1
                return None
            bucket.throttled += 1
            wait = (1 - bucket.tokens) / limit.rate
        headers = {"Retry-After": str(max(1, math.ceil(wait)))} if self.retry_after else None
        return ApiError(429, MESSAGE, type="requests", code="rate_limit_exceeded", headers=headers)

    def stats(self) -> dict[str, object]:
        limit, now = self.limit, self.clock()
        with self._lock:
            endpoints = {
                key: {
                    "allowed": b.allowed,
                    "throttled": b.throttled,
                    "tokens": round(min(float(limit.burst), b.tokens + (now - b.stamp) * limit.rate), 3)
                    if limit
                    else None,
                }
                for key, b in sorted(self._buckets.items())
            }
        return {"rate_limit": str(limit) if limit else "off", "retry_after": self.retry_after, "endpoints": endpoints}
