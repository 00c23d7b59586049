"""The one HTTP client: auth, organization header, timeouts, pacing under the API's throttle, retries, error
mapping and paging.

One ``httpx.Client`` per deployment step (the step owns it), shared by the plugin server's worker threads. Each
request first takes its endpoint's turn (``pace``); a 429 is a throttle, waited out within its own budget
(``rateLimitWaitSeconds``), never counted against ``maxRetries``; other failures retry as before.
"""

from __future__ import annotations

import email.utils
import random
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import httpx

from .._version import __version__
from ..errors import OpenAIError, OutcomeUnknown, RequestFailed, ThrottleWaitExceeded
from .config import Settings, logger, scrub
from .endpoints import endpoint
from .pace import Pacer

USER_AGENT = f"pulumi-openai-billing/{__version__} (+python; httpx/{httpx.__version__})"
_RETRY_STATUSES = frozenset({500, 502, 503, 504})
_MAX_RETRY_AFTER_SECONDS = 60.0
_MIN_THROTTLE_WAIT = 0.05
"""A 429 always costs at least this much of the wait budget, so a server answering "retry now" forever ends."""
REPORT_WAITS_FROM = 5.0
REPORT_WAITS_EVERY = 60.0
"""A request's wait for the throttle is reported once it passes 5 s, then every further minute."""
_PAGE_SIZE = 100
RETRY_COUNT_HEADER = "X-Retry-Count"
"""Sent on every re-send with the number of earlier attempts, so a server log can tell retries apart."""


def transient(exc: Exception) -> bool:
    """A failure retries may have outlasted (429, 5xx, no answer), rather than a refusal of the request itself."""
    if isinstance(exc, OpenAIError):
        return exc.status == 429 or exc.status in _RETRY_STATUSES
    return isinstance(exc, RequestFailed)


_reporter: list[Any] = []


def set_wait_reporter(report: Any) -> None:
    """Call ``report(endpoint, seconds, remaining)`` when a request's wait for the throttle passes 5 s, then
    every further minute (``seconds``: its wait so far, this one included; ``remaining``: requests left as
    the API said, or None). The CLI commands and the provider's plugin print it on standard error."""
    _reporter[:] = [report]


def wait_line(key: str, seconds: float, remaining: str | None) -> str:
    """``openai-billing: waiting for OpenAI's rate limit on GET /organization/projects (9 s so far…)``."""
    left = f"; the API says {remaining} requests are left" if remaining is not None else ""
    return f"openai-billing: waiting for OpenAI's rate limit on {key} ({seconds:.0f} s so far{left})"


def report_waits_on_stderr() -> None:
    set_wait_reporter(lambda key, seconds, remaining: print(wait_line(key, seconds, remaining), file=sys.stderr))


def _report_wait(key: str, before: float, after: float, remaining: str | None) -> None:
    """Report when a request's total wait goes from ``before`` to ``after`` across 5 s, 65 s, 125 s…"""

    def mark(seconds: float) -> int:
        return -1 if seconds < REPORT_WAITS_FROM else int((seconds - REPORT_WAITS_FROM) // REPORT_WAITS_EVERY)

    if _reporter and mark(after) > mark(before):
        _reporter[0](key, after, remaining)


Reconcile = Callable[[OutcomeUnknown], "dict[str, Any] | None"]
"""Finds what a lost request made (None: nothing), before the client sends it again."""


class BillingClient:
    """Thin typed access to the Admin API with OpenAI's auth, errors and list paging."""

    def __init__(self, settings: Settings, *, transport: httpx.BaseTransport | None = None) -> None:
        self.settings = settings
        self.pacer = Pacer(settings.base_url, settings.organization, settings.requests_per_minute)
        headers = {
            "Authorization": f"Bearer {settings.require_key()}",
            "User-Agent": USER_AGENT,
            "Accept": "application/json",
        }
        if settings.organization:
            headers["OpenAI-Organization"] = settings.organization
        self._http = httpx.Client(
            base_url=settings.base_url + "/",
            headers=headers,
            timeout=httpx.Timeout(settings.timeout_seconds, connect=min(10.0, settings.timeout_seconds)),
            limits=httpx.Limits(max_connections=16, max_keepalive_connections=8),
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return self.request("GET", path, params=params)

    def delete(self, path: str) -> dict[str, Any]:
        return self.request("DELETE", path)

    def post(
        self, path: str, body: Mapping[str, Any], *, idempotent: bool, headers: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        """POST; ``idempotent`` says whether sending it twice is harmless (upserts, full replaces, or a
        request carrying an ``Idempotency-Key`` the server honours)."""
        return self.request("POST", path, json=body, idempotent=idempotent, headers=headers)

    def create(self, path: str, body: Mapping[str, Any], *, reconcile: Reconcile) -> dict[str, Any]:
        """POST a create that is not safe to repeat: when its answer is lost, ``reconcile`` looks for what it
        made (in the live list, say) before anything is sent again."""
        return self.request("POST", path, json=body, idempotent=False, reconcile=reconcile)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Mapping[str, Any] | None = None,
        idempotent: bool = True,
        headers: Mapping[str, str] | None = None,
        reconcile: Reconcile | None = None,
    ) -> dict[str, Any]:
        """Send after the endpoint's turn; wait out throttling within ``rateLimitWaitSeconds``; retry other
        failures with backoff and jitter within ``maxRetries`` and ``retryBudgetSeconds`` (throttle waits apart).
        The retries are all here: callers never loop.

        A non-idempotent request is re-sent only when it surely was not processed (refused with 429, or the
        connection was never made), or when ``reconcile`` looked for what it would have made and found nothing;
        what it found is the answer. Without ``reconcile``, :class:`OutcomeUnknown` is raised instead.
        """
        started = time.monotonic()
        attempt = sends = 0
        key = endpoint(method, path)
        waited = 0.0
        remaining: str | None = None
        while True:
            reserved_at = self.pacer.clock()
            wait = self.pacer.reserve(key)
            if wait > 0:
                if waited + wait > self.settings.rate_limit_wait_seconds:
                    raise _throttled_too_long(key, waited, wait, self.settings)
                _report_wait(key, waited, waited + wait, remaining)
                time.sleep(wait)
                waited += wait
            sent = {**(headers or {}), RETRY_COUNT_HEADER: str(sends)} if sends else headers
            sends += 1
            sent_at = self.pacer.clock()
            try:
                response = self._http.request(method, path.lstrip("/"), params=params, json=json, headers=sent)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                failure: Exception = RequestFailed(
                    f"{method} {path}: could not connect to {self.settings.base_url}: {scrub(str(exc))}"
                )
                delay = _backoff(attempt)
            except httpx.TransportError as exc:
                detail = f"{method} {path}: the connection failed after the request was sent ({type(exc).__name__})"
                failure = RequestFailed(detail) if idempotent else OutcomeUnknown(detail)
                delay = _backoff(attempt)
            else:
                logger.debug(
                    "%s %s -> %s (%s)", method, path, response.status_code, response.headers.get("x-request-id")
                )
                if response.status_code < 400:
                    self.pacer.succeeded(key, sent_at)
                    return _json(response)
                failure = _error(response, method, path)
                failure.hint = explain(failure, self.settings)
                if response.status_code == 429:
                    # Throttled: refused before it was processed, so even a create is sent again, after its turn.
                    retry_after = _retry_after(response)
                    self.pacer.throttled(key, retry_after, reserved_at)
                    remaining = response.headers.get("x-ratelimit-remaining-requests")
                    waited += _MIN_THROTTLE_WAIT
                    if waited > self.settings.rate_limit_wait_seconds:
                        raise _throttled_too_long(key, waited, 0.0, self.settings, failure)
                    logger.debug("%s %s throttled (429); waiting for its turn", method, path)
                    continue
                if response.status_code not in _RETRY_STATUSES:
                    raise failure
                if not idempotent:
                    failure = OutcomeUnknown(f"{method} {path}: {failure}")
                delay = _retry_after(response) or _backoff(attempt)
            if isinstance(failure, OutcomeUnknown):
                if reconcile is None:
                    raise failure
                made = reconcile(failure)
                if made is not None:
                    return made
                failure = RequestFailed(f"{failure}; the live list shows nothing was created by it")
                delay = 0.0  # looked for already: sent again at once, as a refused request is
            elapsed = time.monotonic() - started - waited
            if attempt >= self.settings.max_retries or elapsed + delay > self.settings.retry_budget_seconds:
                raise _gave_up(failure, attempt + 1, elapsed)
            attempt += 1
            logger.debug("retrying %s %s in %.2fs (attempt %d): %s", method, path, delay, attempt, failure)
            time.sleep(delay)

    def list_all(self, path: str, params: Mapping[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Every item of a cursor-paged list, 100 a page, following ``after=last_id``."""
        query: dict[str, Any] = {**(params or {}), "limit": _PAGE_SIZE}
        while True:
            page = self.get(path, query)
            data = page.get("data") or []
            yield from data
            last_id = page.get("last_id") or (data[-1].get("id") if data else None)
            if not page.get("has_more") or not last_id:
                return
            query["after"] = last_id


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        raise RequestFailed(
            f"{response.request.method} {response.request.url.path}: "
            f"the answer is not JSON (status {response.status_code})"
        ) from None
    if not isinstance(body, dict):
        raise RequestFailed(f"{response.request.method} {response.request.url.path}: unexpected answer shape")
    return body


def _error(response: httpx.Response, method: str, path: str) -> OpenAIError:
    try:
        err = response.json().get("error") or {}
    except (ValueError, AttributeError):
        err = {}
    if not isinstance(err, dict):
        err = {"message": str(err)}
    return OpenAIError(
        response.status_code,
        scrub(str(err.get("message") or response.reason_phrase or "request failed")),
        type=err.get("type"),
        code=err.get("code"),
        param=err.get("param"),
        request_id=response.headers.get("x-request-id"),
        method=method,
        path="/" + path.lstrip("/"),
    )


ADMIN_KEYS_PAGE = "https://platform.openai.com/settings/organization/admin-keys"


def explain(failure: OpenAIError, settings: Settings) -> str:
    """What an answer means for this provider's user, where OpenAI's message does not say it."""
    key = settings.admin_key or ""
    if failure.status == 401 and failure.code == "mismatched_organization":
        return (
            f"The admin key does not belong to {settings.organization} (openai-billing:organization or "
            "OPENAI_BILLING_ORGANIZATION): use that organization's admin key, or correct the setting"
        )
    if failure.status in (401, 403) and not key.startswith("sk-admin-"):
        kind = "a project key (sk-proj-…)" if key.startswith("sk-proj-") else "not an admin key"
        return (
            f"The key is {kind}: the Admin API takes only admin keys (sk-admin-…), which organization owners "
            f"create at {ADMIN_KEYS_PAGE}"
        )
    if failure.unknown_path:
        version = settings.base_url.rstrip("/").rsplit("/", 1)[-1]
        return (
            f"The API has no such path under {settings.base_url}: its base URL ends in /v1 "
            f"(https://api.openai.com/v1), not /{version}"
            if version != "v1"
            else f"The API at {settings.base_url} has no such path: is it OpenAI's Admin API or a gateway for it?"
        )
    return ""


def _gave_up(failure: Exception, attempts: int, elapsed: float) -> Exception:
    """The last failure, saying how hard the client tried."""
    note = f" (gave up after {attempts} attempt{'s' if attempts > 1 else ''} in {elapsed:.1f} s)"
    if isinstance(failure, OpenAIError):
        failure.gave_up = note if attempts > 1 else ""
        return failure
    return RequestFailed(f"{failure}{note}")


def _throttled_too_long(
    key: str, waited: float, wait: float, settings: Settings, failure: OpenAIError | None = None
) -> Exception:
    """The error when the throttle outlasts ``rateLimitWaitSeconds``: which endpoint, how long, what to raise."""
    note = (
        f"OpenAI's rate limit on {key} held this request for {waited:.0f} s"
        + (f" and wants {wait:.1f} s more" if wait else "")
        + f", more than openai-billing:rateLimitWaitSeconds ({settings.rate_limit_wait_seconds:g} s): raise it "
        "(or OPENAI_BILLING_RATE_LIMIT_WAIT_SECONDS), or run with fewer resources at once"
    )
    if failure is not None:
        failure.gave_up = f" ({note})"
        return failure
    return ThrottleWaitExceeded(note)


def _backoff(attempt: int) -> float:
    """Exponential (0.25 s doubling to at most 8 s) with "equal jitter": half fixed, half random."""
    return float(min(8.0, 0.25 * 2**attempt) * (0.5 + random.random() / 2))


def _retry_after(response: httpx.Response) -> float | None:
    """``retry-after-ms`` (read first, as the official SDK does), else ``Retry-After`` (seconds or a date)."""
    millis = response.headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, min(float(millis) / 1000, _MAX_RETRY_AFTER_SECONDS))
        except ValueError:
            pass
    raw = response.headers.get("retry-after")
    if not raw:
        return None
    try:
        seconds = float(raw)
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(raw) if raw else None
        seconds = parsed.timestamp() - time.time() if parsed else 0.0
    return max(0.0, min(seconds, _MAX_RETRY_AFTER_SECONDS))
